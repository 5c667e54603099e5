/* Framing building blocks (see protofsm/frame.h).
 *
 * Lines are found with memchr, which runs at memory speed, not a state per
 * byte; the scan resumes where the last call stopped, so a line trickled in
 * a byte at a time costs one pass.  Numbers check overflow before each
 * multiply: a length field is hostile input like any other. */
#include <errno.h>
#include <string.h>

#include "protofsm/frame.h"

ssize_t pf_frame_line_next(pf_frame_line *st, const char *buf, size_t len, size_t max,
                           enum pf_frame_eol eol, size_t *text)
{
    const char *nl = NULL;
    if (st->scanned < len)
        nl = memchr(buf + st->scanned, '\n', len - st->scanned);
    if (!nl) {
        st->scanned = len;
        /* max bytes of text and a CR may still be followed by their LF. */
        return len > 1 && len - 1 > max ? -EMSGSIZE : -EAGAIN;
    }
    size_t end = (size_t)(nl - buf);
    int cr = end > 0 && buf[end - 1] == '\r';
    st->scanned = 0;
    if (eol == PF_EOL_CRLF && !cr)
        return -EBADMSG;
    *text = cr ? end - 1 : end;
    if (*text > max)
        return -EMSGSIZE;
    return (ssize_t)(end + 1);
}

ssize_t pf_frame_block(const char *buf, size_t len, size_t n, const char *term, size_t tlen)
{
    if (len < n)
        return -EAGAIN;
    size_t have = len - n < tlen ? len - n : tlen;
    if (have && memcmp(buf + n, term, have) != 0)
        return -EBADMSG;
    return have < tlen ? -EAGAIN : (ssize_t)(n + tlen);
}

int pf_frame_u64(const char *buf, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    int over = 0;
    if (len == 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned char)buf[i] - '0';
        if (d > 9)
            return -EINVAL;
        if (v > (UINT64_MAX - d) / 10)
            over = 1; /* still a number (keep checking digits), and too large */
        else
            v = v * 10 + d;
    }
    if (over || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int pf_frame_i64(const char *buf, size_t len, int64_t min, int64_t max, int64_t *out)
{
    int neg = len > 0 && buf[0] == '-';
    uint64_t v;
    int rc = pf_frame_u64(buf + neg, len - (size_t)neg, UINT64_MAX, &v);
    if (rc < 0)
        return rc;
    /* |INT64_MIN| is one more than INT64_MAX. */
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -ERANGE;
    int64_t s = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (s < min || s > max)
        return -ERANGE;
    *out = s;
    return 0;
}

int pf_frame_varint(const char *buf, size_t len, unsigned maxbytes, uint64_t *out)
{
    uint64_t v = 0;
    if (maxbytes > 9)
        maxbytes = 9;
    for (unsigned i = 0; i < maxbytes; i++) {
        if (i == len)
            return -EAGAIN;
        unsigned char b = (unsigned char)buf[i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return (int)i + 1;
        }
    }
    return -EBADMSG;
}
