/* HTTP/1.1 requests (RFC 9112, semantics from RFC 9110): the parser half.
 *
 * One packet is one complete request: request line, header section and the
 * whole body (Content-Length or chunked, with trailers).  Everything in
 * pf_http1_fields is a slice into the caller's buffer; nothing is copied,
 * also when a request arrived over several reads (the parser keeps offsets
 * only and resumes where it stopped).
 *
 * Policy: strict wherever leniency enables request smuggling or response
 * splitting (RFC 9112 §11.2), answered with an error status and a close:
 *
 *   400  malformed request line or field line; space or tab before a
 *        field's colon (§5.1); obs-fold (§5.2); a control character (other
 *        than HTAB) or DEL in a field value, a field name that is not a
 *        token, a request-target byte outside 0x21..0x7E or a '#'; a
 *        missing Host in HTTP/1.1, more than one Host, or a Host value
 *        that is not uri-host [":" port] (§3.2; RFC 9110 §7.2, RFC 3986
 *        §3.2.2: a reg-name, an IPv4 address or a bracketed IP-literal,
 *        then digits; so no SP, comma list, userinfo or path); both
 *        Transfer-Encoding and Content-Length (§6.1, we reject rather than
 *        let TE win); Content-Length that is not 1*DIGIT or two
 *        Content-Length lines with different values (identical repeats are
 *        accepted, RFC 9110 §8.6; a comma list is not); Transfer-Encoding
 *        whose final coding is not chunked, or chunked twice (§6.1, §6.3);
 *        Transfer-Encoding in an HTTP/1.0 request (§6.1); a chunk size that
 *        is not 1*HEXDIG or does not fit in 60 bits, a malformed chunk
 *        extension, chunk data not followed by CRLF (§7.1); asterisk-form
 *        other than with OPTIONS, authority-form other than with CONNECT
 *        and CONNECT with any other form (§3.2.3, §3.2.4); userinfo in an
 *        absolute-form target (RFC 9110 §4.2.4); a malformed
 *        HTTP-version (case-sensitive "HTTP/" DIGIT "." DIGIT).
 *   501  a transfer coding other than chunked before a final chunked
 *        (§6.1: we decode no other coding).
 *   505  an HTTP major version other than 1.  HTTP/1.2..1.9 are handled
 *        as 1.1 (RFC 9110 §2.5); version_minor keeps the digit sent.
 *   414  request line (leading empty lines included) over max_request_line.
 *   431  header section (request line included) over max_head_bytes,
 *        more than max_headers field lines, or a trailer section over
 *        max_head_bytes.
 *   413  Content-Length or decoded chunked length over max_body, or chunk
 *        framing (size lines, extensions, CRLFs) over max_chunk_framing.
 *
 * Bare LF and bare CR: rejected (400) everywhere, in the request line, field
 * lines and chunk framing.  RFC 9112 §2.2 lets a recipient accept a lone LF
 * as a line end, but two parsers that disagree on it are exactly the
 * smuggling setup of §11.2, and every real client sends CRLF.  A CR must be
 * followed by LF (§2.2 allows rejecting a bare CR).  Empty lines (CRLF)
 * before the request line are skipped (§2.2) and count as part of the
 * packet and of the request line for the 414 limit.
 *
 * Not checked here, left to the service: what the Host names (the parser
 * checks its syntax only; in absolute-form the target's authority wins,
 * §3.2.2), percent-encoding in the target (only sliced), and which fields
 * a trailer section may carry (RFC 9110 §6.5.1): trailers are reported in
 * headers[] after the header fields and never change the framing, whatever
 * their names.  The request-target may hold any visible ASCII except '#'
 * (a fragment is never part of a request-target); RFC 3986 forbids a few
 * more ('{', '|', '"' ...), but clients send them and nothing in the
 * framing depends on them.
 *
 * Methods are case-sensitive tokens (RFC 9110 §9.1): the nine standard ones
 * have their own event, any other token (including "get") is
 * HTTP1_EV_OTHER.  Field names are matched case-insensitively.
 */
#ifndef PROTOFSM_HTTP1_H
#define PROTOFSM_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/protocol.h"

/* Compile-time capacity of pf_http1_fields.headers (header and trailer
 * field lines together); pf_http1_conf.max_headers may lower it.  Override
 * with -DPF_HTTP1_MAX_HEADERS=N for the whole build (it changes the ABI). */
#ifndef PF_HTTP1_MAX_HEADERS
#define PF_HTTP1_MAX_HEADERS 64
#endif

/* Default limits (what 0 in pf_http1_conf means). */
#define PF_HTTP1_MAX_REQUEST_LINE_DEFAULT 8192u      /* -> 414 */
#define PF_HTTP1_MAX_HEAD_BYTES_DEFAULT (64u * 1024) /* -> 431 */
#define PF_HTTP1_MAX_BODY_DEFAULT (1u << 20)         /* -> 413 */
#define PF_HTTP1_MAX_CHUNK_FRAMING_DEFAULT (64u * 1024) /* -> 413 */
/* Hard ceilings: offsets are 32-bit, so a request stays under 2 GiB. */
#define PF_HTTP1_MAX_BODY_CEILING (1u << 30)
#define PF_HTTP1_MAX_HEAD_CEILING (16u << 20)

/* Limits; pass to parser_init as `conf` (NULL: defaults).  0 in a field
 * means its default; values above the ceilings are clamped.  The session's
 * own max_input (pf_session_conf, pf_listen_conf) must be at least the
 * largest request these allow (pf_http1_max_request), since a packet is
 * buffered whole. */
typedef struct pf_http1_conf {
    uint32_t max_request_line;  /* bytes, CRLF included */
    uint32_t max_head_bytes;    /* request line + field lines + final CRLF */
    uint32_t max_headers;       /* field lines, trailers included; <= cap */
    uint32_t max_body;          /* decoded body bytes */
    uint32_t max_chunk_framing; /* bytes of chunked framing around the data */
} pf_http1_conf;

/* Errors from parse().  400 is the standard -EBADMSG; the other statuses
 * have codes of their own in the protocol range below -5000 (the value is
 * -(5000 + status)).  Any other negative code is answered as 400. */
enum {
    PF_HTTP1_E413 = -5413, /* body or chunk framing too large */
    PF_HTTP1_E414 = -5414, /* request line too long */
    PF_HTTP1_E431 = -5431, /* header section too large or too many fields */
    PF_HTTP1_E501 = -5501, /* transfer coding not implemented */
    PF_HTTP1_E505 = -5505  /* HTTP version not supported */
};

/* The HTTP status that answers a parse() error code: 400 for -EBADMSG and
 * anything unknown; 413 also for -EMSGSIZE, which the runtime reports when
 * a request outgrows the connection's input limit (the header limits here
 * are far below it, so that is a body). */
int pf_http1_status(int err);

enum pf_http1_form {
    PF_HTTP1_FORM_ORIGIN = 0,    /* /path?query */
    PF_HTTP1_FORM_ABSOLUTE = 1,  /* scheme://authority/path?query */
    PF_HTTP1_FORM_AUTHORITY = 2, /* host:port, CONNECT only */
    PF_HTTP1_FORM_ASTERISK = 3   /* *, OPTIONS only */
};

/* pf_http1_fields.flags */
#define PF_HTTP1_F_KEEP_ALIVE 0x01u  /* 1.1 without "close"; 1.0 with
                                        "keep-alive" and without "close" */
#define PF_HTTP1_F_CHUNKED 0x02u     /* Transfer-Encoding: chunked */
#define PF_HTTP1_F_CONTENT_LENGTH 0x04u /* a Content-Length was sent */
#define PF_HTTP1_F_EXPECT_CONTINUE 0x08u /* Expect: 100-continue (not set
                                        for HTTP/1.0, RFC 9110 §10.1.1) */
#define PF_HTTP1_F_UPGRADE 0x10u     /* Upgrade present and named in
                                        Connection, HTTP/1.1 only (RFC 9110
                                        §7.8) */
#define PF_HTTP1_F_OTHER_EXPECT 0x20u /* an Expect other than 100-continue
                                        (a server may answer 417) */

typedef struct pf_http1_header {
    pf_slice name;  /* as sent (any case) */
    pf_slice value; /* without leading and trailing whitespace */
} pf_http1_header;

/* One request.  Why the header array lives here: a handler indexes
 * f->headers[i] directly with no accessor, and 64 entries (2 KiB) is a
 * modest per-packet cost next to the request buffer itself; the parser state
 * keeps its own compact 32-bit offsets (16 bytes a field) because the
 * buffer may move while a request is in progress.  The struct is the
 * packet's own: parse() may write to it also when it returns no packet
 * (-EAGAIN or an error), and it means something only after a packet. */
typedef struct pf_http1_fields {
    pf_slice method;        /* token as sent */
    pf_slice target;        /* request-target as sent */
    pf_slice path;          /* origin/absolute-form: up to '?' ("" when an
                               absolute URI has no path); asterisk: "*";
                               authority-form: empty */
    pf_slice query;         /* after '?', without it; ptr NULL: no '?' */
    pf_slice authority;     /* absolute-form: host[:port] of the URI;
                               authority-form: the target; else empty */
    uint8_t form;           /* enum pf_http1_form */
    uint8_t version_minor;  /* the digit sent: 0, 1 (2..9 handled as 1) */
    uint16_t flags;         /* PF_HTTP1_F_* */
    uint16_t nheaders;      /* headers[0 .. nheaders) */
    uint16_t ntrailers;     /* trailers: headers[nheaders .. +ntrailers) */
    uint64_t content_length; /* body length after decoding (0: none) */
    /* Content-Length: exactly the body.  Chunked: the raw chunked body,
     * from the first chunk-size to the end of the last-chunk line,
     * framing included; walk its data with pf_http1_chunk_next.  The
     * framing is already validated, so the walk cannot fail. */
    pf_slice body;
    pf_http1_header headers[PF_HTTP1_MAX_HEADERS];
} pf_http1_fields;

/* Iterate over the decoded data of a chunked body without copying:
 *
 *   size_t pos = 0;  pf_slice d;
 *   while (pf_http1_chunk_next(f, &pos, &d))
 *       use(d.ptr, d.len);
 *
 * Returns 1 with the next chunk's data in *data, 0 after the last one.  For
 * a Content-Length body it yields the body once (when not empty). */
int pf_http1_chunk_next(const pf_http1_fields *f, size_t *pos, pf_slice *data);

/* For the server, between parse() calls that returned -EAGAIN: 1 when the
 * header section of the request in progress is complete, it carries
 * Expect: 100-continue and its body has not fully arrived (the moment to
 * send "100 Continue"), else 0. */
int pf_http1_wants_continue(const void *parser);

/* The largest request `conf` admits (NULL: the defaults), in bytes: what
 * the connection's input buffer must hold, since a request is one packet
 * (pf_listen_conf.max_input).  Under 2^31 with 64-bit size_t. */
size_t pf_http1_max_request(const pf_http1_conf *conf);

extern const pf_protocol pf_http1_protocol;

#endif
