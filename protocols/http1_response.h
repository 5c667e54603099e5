/* HTTP/1.1 responses: the writing half of protocols/http1.
 *
 * A handler builds a response head in memory it owns (usually a stack
 * array), then sends head and content with one call, which queues them as
 * one reply (pf_replyv: all or nothing):
 *
 *   char head[PF_HTTP1_HEAD_MAX];
 *   pf_http1_res r;
 *   pf_http1_res_init(&r, f, 200, head, sizeof(head));
 *   pf_http1_res_header(&r, "Content-Type", "text/plain");
 *   return pf_http1_send(s, &r, "hi\n", 3);     // a handler's result
 *
 * What the helpers decide, so handlers cannot get it wrong:
 *   - the status line ("HTTP/1.1 NNN Reason") and a Date (RFC 9110 §6.6.1)
 *     from a per-thread cache refreshed once a second;
 *   - Content-Length for a whole body, or Transfer-Encoding: chunked for a
 *     streamed one (HTTP/1.0 clients get the body delimited by the close);
 *     none for 1xx, 204 and 304, which have no content (§8.6);
 *   - no content for a HEAD request, with the length a GET would get;
 *   - "Connection: close" (and a close after the reply) when the request
 *     asked for it, when it is HTTP/1.0 without keep-alive, or when the
 *     handler called pf_http1_res_close; "Connection: keep-alive" for an
 *     HTTP/1.0 request that asked to keep the connection.
 *
 * The send calls return the handler's result: PF_CLOSE or PF_NEXT, or a
 * negative error (-EMSGSIZE: the head outgrew its buffer or the session's
 * output limit; the session is then closing).  Any thread that runs
 * handlers; the Date cache is per thread. */
#ifndef PROTOFSM_HTTP1_RESPONSE_H
#define PROTOFSM_HTTP1_RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "http1.h"
#include "protofsm/session.h"

#define PF_HTTP1_HEAD_MAX 2048 /* a comfortable head buffer */
#define PF_HTTP1_DATE_LEN 29   /* "Sun, 06 Nov 1994 08:49:37 GMT" */

typedef struct pf_http1_res {
    char *buf;          /* the head so far: buf[0 .. len) */
    size_t cap, len;
    uint16_t status;
    uint8_t close;      /* Connection: close, and close after sending */
    uint8_t head;       /* HEAD request: send no content */
    uint8_t minor;      /* the request's HTTP minor version */
    uint8_t keep10;     /* HTTP/1.0 keep-alive: say so */
    uint8_t overflow;   /* a header did not fit: the send fails */
    uint8_t chunked;    /* pf_http1_send_chunked was used */
} pf_http1_res;

/* Start a head for a response to `req` (NULL: no request, e.g. an error
 * before one: HTTP/1.1 and close).  `status` 100..599. */
void pf_http1_res_init(pf_http1_res *r, const pf_http1_fields *req, int status,
                       char *buf, size_t cap);
/* Add a field line.  The value must not contain CR or LF (response
 * splitting): such a value is refused and the send fails with -EINVAL. */
void pf_http1_res_header(pf_http1_res *r, const char *name, const char *value);
void pf_http1_res_headern(pf_http1_res *r, const char *name, size_t nlen,
                          const char *value, size_t vlen);
/* Send "Connection: close" and close the connection after this reply. */
void pf_http1_res_close(pf_http1_res *r);

/* Head with Content-Length: len, then `len` bytes of body (none for HEAD). */
int pf_http1_send(pf_session *s, pf_http1_res *r, const void *body, size_t len);
/* Head with Content-Length: len, then `len` bytes of file `fd` from `off`
 * sent with sendfile (protofsm/sendfile.h).  Takes fd in every case. */
int pf_http1_send_file(pf_session *s, pf_http1_res *r, int fd, off_t off, size_t len);
/* The same with a shared descriptor: release(arg) instead of close(fd)
 * (pf_reply_file_shared), in every case. */
int pf_http1_send_file_shared(pf_session *s, pf_http1_res *r, int fd, off_t off, size_t len,
                              void (*release)(void *), void *arg);
/* Head of a streamed body: Transfer-Encoding: chunked for HTTP/1.1, for
 * HTTP/1.0 no length and a close.  Then pf_http1_chunk (any number, empty
 * ones are skipped) and pf_http1_chunk_end, which returns the handler's
 * result.  The chunks of one response must all be queued by one handler
 * call (the next request's reply follows them). */
int pf_http1_send_chunked(pf_session *s, pf_http1_res *r);
int pf_http1_chunk(pf_session *s, const pf_http1_res *r, const void *data, size_t len);
int pf_http1_chunk_end(pf_session *s, const pf_http1_res *r);

/* A whole small response in one call: status, Content-Type (NULL: none)
 * and a NUL-terminated body. */
int pf_http1_reply_simple(pf_session *s, const pf_http1_fields *req, int status,
                          const char *ctype, const char *body);

/* "OK", "Not Found" ...; "Unknown" for a status without a name here. */
const char *pf_http1_reason(int status);
/* The current IMF-fixdate (cached per thread, refreshed each second).
 * Writes PF_HTTP1_DATE_LEN bytes and a NUL. */
void pf_http1_date_now(char out[PF_HTTP1_DATE_LEN + 1]);
/* IMF-fixdate of `t`. */
void pf_http1_date_fmt(time_t t, char out[PF_HTTP1_DATE_LEN + 1]);
/* Parse an HTTP-date (IMF-fixdate only, RFC 9110 §5.6.7; the obsolete
 * forms are refused, which makes a conditional request unconditional).
 * A date that does not exist (31 Feb, 29 Feb 2023), a weekday the date
 * does not fall on, or a year before 1970 is refused too, never
 * normalised into another date.  0 or -EINVAL. */
int pf_http1_date_parse(const char *p, size_t n, time_t *out);

/* First field named `name` (case-insensitive) among the request's header
 * fields (trailers excluded): 1 and *value set, or 0. */
int pf_http1_header_find(const pf_http1_fields *f, const char *name, pf_slice *value);

#endif
