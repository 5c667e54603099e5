/* HTTP/1.1 responses (see http1_response.h).
 *
 * Heads are built with memcpy into caller memory: no snprintf on the
 * common path, whose cost would show next to a 1 µs request.  The Date
 * field is cached per thread and rebuilt when the second changes, so a
 * response costs one time() (a vDSO call) and a 29-byte copy. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http1_response.h"
#include "protofsm/sendfile.h"

#define LIT(s) s, sizeof(s) - 1

const char *pf_http1_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* ---- dates -------------------------------------------------------------- */

static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void pf_http1_date_fmt(time_t t, char out[PF_HTTP1_DATE_LEN + 1])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    int y = tm.tm_year + 1900;
    if (y < 0 || y > 9999) /* not representable: the epoch */
        y = 1970, tm = (struct tm){ .tm_mday = 1, .tm_wday = 4, .tm_year = 70 };
    memcpy(out, wdays[tm.tm_wday], 3);
    memcpy(out + 3, ", ", 2);
    two(out + 5, tm.tm_mday);
    out[7] = ' ';
    memcpy(out + 8, months[tm.tm_mon], 3);
    out[11] = ' ';
    two(out + 12, y / 100);
    two(out + 14, y % 100);
    out[16] = ' ';
    two(out + 17, tm.tm_hour);
    out[19] = ':';
    two(out + 20, tm.tm_min);
    out[22] = ':';
    two(out + 23, tm.tm_sec);
    memcpy(out + 25, " GMT", 5); /* with the NUL */
}

void pf_http1_date_now(char out[PF_HTTP1_DATE_LEN + 1])
{
    static _Thread_local time_t cached_at = -1;
    static _Thread_local char cached[PF_HTTP1_DATE_LEN + 1];
    time_t now = time(NULL);
    if (now != cached_at) {
        pf_http1_date_fmt(now, cached);
        cached_at = now;
    }
    memcpy(out, cached, sizeof(cached));
}

static int num(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int pf_http1_date_parse(const char *p, size_t n, time_t *out)
{
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    struct tm tm = { 0 };
    int mon = -1, wday = -1;
    if (n != PF_HTTP1_DATE_LEN || p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
        p[16] != ' ' || p[19] != ':' || p[22] != ':' || memcmp(p + 25, " GMT", 4) != 0)
        return -EINVAL;
    for (int i = 0; i < 12; i++)
        if (memcmp(p + 8, months[i], 3) == 0)
            mon = i;
    for (int i = 0; i < 7; i++)
        if (memcmp(p, wdays[i], 3) == 0)
            wday = i;
    int day = num(p + 5, 2), year = num(p + 12, 4), h = num(p + 17, 2), mi = num(p + 20, 2),
        sec = num(p + 23, 2);
    if (mon < 0 || wday < 0 || year < 1970 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 60)  /* 60: a leap second (RFC 9110 §5.6.7) */
        return -EINVAL;
    /* RFC 9110 §13.1.3: a date that does not exist ("31 Feb") is not a
     * valid HTTP-date, and timegm would quietly make it one in March.  Nor
     * is one that names a weekday it does not fall on: either way what the
     * client meant is unknown, and ignoring the date only costs a 200. */
    if (day < 1 || day > mdays[mon] + (mon == 1 && leap(year)))
        return -EINVAL;
    tm.tm_mday = day;
    tm.tm_mon = mon;
    tm.tm_year = year - 1900;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || ((t - (h * 3600 + mi * 60 + sec)) / 86400 + 4) % 7 != wday)
        return -EINVAL;    /* 1 Jan 1970 was a Thursday */
    *out = t;
    return 0;
}

int pf_http1_header_find(const pf_http1_fields *f, const char *name, pf_slice *value)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < f->nheaders; i++)
        if (f->headers[i].name.len == n && strncasecmp(f->headers[i].name.ptr, name, n) == 0) {
            *value = f->headers[i].value;
            return 1;
        }
    return 0;
}

/* ---- heads -------------------------------------------------------------- */

static void put(pf_http1_res *r, const char *p, size_t n)
{
    if (n > r->cap - r->len) {
        r->overflow = 1;
        return;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static size_t u64_dec(char *out, uint64_t v)
{
    char t[20];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return n;
}

void pf_http1_res_init(pf_http1_res *r, const pf_http1_fields *req, int status, char *buf,
                       size_t cap)
{
    *r = (pf_http1_res){ .buf = buf, .cap = cap, .status = (uint16_t)status };
    if (status < 100 || status > 599)
        r->overflow = 1, status = 500;
    if (req) {
        r->minor = req->version_minor;
        r->close = !(req->flags & PF_HTTP1_F_KEEP_ALIVE);
        r->keep10 = req->version_minor == 0 && !r->close;
        r->head = req->method.len == 4 && memcmp(req->method.ptr, "HEAD", 4) == 0;
    } else {
        r->minor = 1;
        r->close = 1;
    }
    char line[64] = "HTTP/1.1 ", date[PF_HTTP1_DATE_LEN + 1];
    line[9] = (char)('0' + status / 100);
    line[10] = (char)('0' + status / 10 % 10);
    line[11] = (char)('0' + status % 10);
    line[12] = ' ';
    const char *reason = pf_http1_reason(status);
    size_t rl = strlen(reason);
    memcpy(line + 13, reason, rl);
    memcpy(line + 13 + rl, "\r\nDate: ", 8);
    put(r, line, 21 + rl);
    pf_http1_date_now(date);
    put(r, date, PF_HTTP1_DATE_LEN);
    put(r, "\r\n", 2);
}

void pf_http1_res_headern(pf_http1_res *r, const char *name, size_t nlen, const char *value,
                          size_t vlen)
{
    if (memchr(value, '\r', vlen) || memchr(value, '\n', vlen) || memchr(name, '\r', nlen) ||
        memchr(name, '\n', nlen) || memchr(name, ':', nlen)) {
        r->overflow = 2; /* refused: -EINVAL at send */
        return;
    }
    put(r, name, nlen);
    put(r, ": ", 2);
    put(r, value, vlen);
    put(r, "\r\n", 2);
}

void pf_http1_res_header(pf_http1_res *r, const char *name, const char *value)
{
    pf_http1_res_headern(r, name, strlen(name), value, strlen(value));
}

void pf_http1_res_close(pf_http1_res *r) { r->close = 1; }

static int no_content_status(int status)
{
    return status < 200 || status == 204 || status == 304;
}

/* Connection and framing fields, the empty line.  `len` < 0: no length. */
static int finish(pf_http1_res *r, long long len)
{
    char cl[40];
    if (len >= 0 && !no_content_status(r->status)) {
        memcpy(cl, "Content-Length: ", 16);
        size_t k = 16 + u64_dec(cl + 16, (uint64_t)len);
        cl[k++] = '\r';
        cl[k++] = '\n';
        put(r, cl, k);
    }
    if (r->close)
        put(r, LIT("Connection: close\r\n\r\n"));
    else if (r->keep10)
        put(r, LIT("Connection: keep-alive\r\n\r\n"));
    else
        put(r, "\r\n", 2);
    return r->overflow == 2 ? -EINVAL : r->overflow ? -EMSGSIZE : 0;
}

static int result(pf_session *s, const pf_http1_res *r, int rc)
{
    if (rc < 0) {
        pf_close(s);
        return rc;
    }
    return r->close ? PF_CLOSE : PF_NEXT;
}

int pf_http1_send(pf_session *s, pf_http1_res *r, const void *body, size_t len)
{
    int rc = finish(r, (long long)len);
    if (rc < 0)
        return result(s, r, rc);
    pf_slice parts[2] = { { r->buf, r->len }, { body, len } };
    int n = (r->head || no_content_status(r->status) || !len) ? 1 : 2;
    return result(s, r, pf_replyv(s, parts, (size_t)n));
}

int pf_http1_send_file_shared(pf_session *s, pf_http1_res *r, int fd, off_t off, size_t len,
                              void (*release)(void *), void *arg)
{
    int rc = finish(r, (long long)len);
    if (rc >= 0)
        rc = pf_reply(s, r->buf, r->len);
    if (rc < 0 || r->head || no_content_status(r->status) || !len) {
        if (release)
            release(arg);
        else
            close(fd);
        return result(s, r, rc);
    }
    return result(s, r, pf_reply_file_shared(s, fd, off, len, release, arg));
}

int pf_http1_send_file(pf_session *s, pf_http1_res *r, int fd, off_t off, size_t len)
{
    return pf_http1_send_file_shared(s, r, fd, off, len, NULL, NULL);
}

int pf_http1_send_chunked(pf_session *s, pf_http1_res *r)
{
    int rc;
    if (r->minor >= 1 && !r->head && !no_content_status(r->status)) {
        r->chunked = 1;
        put(r, LIT("Transfer-Encoding: chunked\r\n"));
        rc = finish(r, -1);
    } else {
        if (!r->head && !no_content_status(r->status))
            r->close = 1; /* HTTP/1.0: the close delimits the body */
        rc = finish(r, -1);
    }
    if (rc >= 0)
        rc = pf_reply(s, r->buf, r->len);
    if (rc < 0)
        pf_close(s);
    return rc;
}

int pf_http1_chunk(pf_session *s, const pf_http1_res *r, const void *data, size_t len)
{
    if (!len || r->head || no_content_status(r->status))
        return 0;
    if (!r->chunked)
        return pf_reply(s, data, len);
    char size[24];
    size_t k = 0;
    for (int sh = 60; sh >= 0; sh -= 4) {
        unsigned d = (unsigned)(len >> sh) & 15u;
        if (d || k)
            size[k++] = "0123456789abcdef"[d];
    }
    size[k++] = '\r';
    size[k++] = '\n';
    pf_slice parts[3] = { { size, k }, { data, len }, { "\r\n", 2 } };
    return pf_replyv(s, parts, 3);
}

int pf_http1_chunk_end(pf_session *s, const pf_http1_res *r)
{
    int rc = 0;
    if (r->chunked)
        rc = pf_reply(s, "0\r\n\r\n", 5);
    return result(s, r, rc);
}

int pf_http1_reply_simple(pf_session *s, const pf_http1_fields *req, int status,
                          const char *ctype, const char *body)
{
    char head[512];
    pf_http1_res r;
    pf_http1_res_init(&r, req, status, head, sizeof(head));
    if (ctype)
        pf_http1_res_header(&r, "Content-Type", ctype);
    return pf_http1_send(s, &r, body, strlen(body));
}
