/* The Redis protocol (RESP2 requests), as redis-server 7 reads them.
 *
 * A request is either a multibulk array of bulk strings
 *
 *     *3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n
 *
 * or an inline command: one line of space-separated arguments ending in LF
 * (a CR before the LF is dropped), with redis's quoting: "..." takes the
 * escapes \n \r \t \b \a \\ \" \xHH (any other \c is c), '...' takes \'
 * only, and a closing quote must be followed by white space or the end of
 * the line.  A request starting with '*' is multibulk, anything else inline.
 * Both may be pipelined and mixed.
 *
 * One packet is one command.  Its event is the command name (argv[0],
 * case-insensitive) as declared in resp.rl's table: RESP_EV_GET,
 * RESP_EV_SET, ... or RESP_EV_UNKNOWN.  Empty commands (`*0`, `*-1`, an
 * empty or all-blank inline line) are skipped as redis skips them: their
 * bytes are counted in the next packet's length but not in its `raw`.  Only
 * when skipped bytes reach max_inline at a command boundary are they
 * reported alone as one RESP_EV_EMPTY packet (argc 0), so a peer sending
 * nothing but blank lines cannot make the runtime buffer them forever.
 *
 * Errors (parse() returns one of the codes below; sticky): error_reply()
 * gives redis-server's exact text, "-ERR Protocol error: ...\r\n", and the
 * connection is closed after it.  -EMSGSIZE (the runtime's input limit, not
 * the parser's) closes silently, as redis does at client-query-buffer-limit.
 */
#ifndef PROTOFSM_RESP_H
#define PROTOFSM_RESP_H

#include <stddef.h>
#include <sys/types.h>

#include "protofsm/error.h"
#include "protofsm/protocol.h"

#define PF_RESP_MAX_BULK_DEFAULT (512u * 1024 * 1024) /* proto-max-bulk-len */
#define PF_RESP_MAX_INLINE_DEFAULT (64u * 1024)       /* PROTO_INLINE_MAX_SIZE */
#define PF_RESP_MAX_ARGS_DEFAULT (1024u * 1024)        /* redis 6's multibulk limit */

/* Limits; pass to parser_init as `conf` (NULL: defaults).  A zero field
 * takes its default. */
typedef struct pf_resp_conf {
    size_t max_bulk;    /* largest bulk string; longer: "invalid bulk length" */
    size_t max_args;    /* arguments per command (at most INT_MAX); more:
                           "invalid multibulk length" (multibulk) or
                           "too big inline request" (inline).  The parser
                           keeps no per-argument state, so this costs no
                           memory; the runtime's max_input bounds a packet */
    size_t max_inline;  /* bytes of an inline line (CR and LF not counted) and
                           of a header line before its CR ('*'/'$' counted) */
} pf_resp_conf;

/* What one packet carries: a few words, whatever its argument count.
 *
 * The fields never point into parser memory, only into the packet's own
 * bytes (the input buffer, which the runtime keeps in place until the
 * packet is handled).  So they stay valid while the parser goes on with
 * later packets, as the hsha I/O thread does while a worker still handles
 * earlier ones, and fields_size is 4 words.
 *
 * `args` covers the arguments in their wire form: for a multibulk command,
 * from the first "$" header to the end of the last payload's terminator;
 * for an inline command, the line's text without its CR LF.  Walk them
 * with pf_resp_arg_next (or collect them with pf_resp_args): a multibulk
 * argument, and an inline word without escapes, is a slice of the input
 * (zero copy); an inline word with escapes or joined quotes (a"b c") is
 * unescaped into a buffer the caller provides.  Unescaping never
 * lengthens a word, so a buffer of args.len bytes is always enough. */
typedef struct pf_resp_fields {
    size_t argc;            /* >= 1, except 0 for RESP_EV_EMPTY */
    pf_slice args;          /* the arguments, wire form (see above) */
    int is_inline;          /* 1 for an inline command */
} pf_resp_fields;

/* An argument cursor over one packet's fields; members are private. */
typedef struct pf_resp_iter {
    const char *_p, *_end;
    size_t _left;
    int _inline;
    char *_buf;
    size_t _cap, _used;
} pf_resp_iter;

/* Start at argv[0].  `buf`/`cap`: where inline arguments that need
 * unescaping are written (NULL/0 is fine for multibulk packets, and for
 * inline ones without escapes).  The fields and buf must outlive the
 * cursor's slices. */
void pf_resp_iter_init(pf_resp_iter *it, const pf_resp_fields *f, char *buf, size_t cap);
/* The next argument: 1 and *arg set, 0 after the last, -ENOSPC when an
 * unescaped word does not fit in what is left of buf (the cursor does not
 * move), -EINVAL for fields that parse() did not fill.  O(length of the
 * argument's header) for multibulk, O(word) for inline.  Any thread. */
int pf_resp_arg_next(pf_resp_iter *it, pf_slice *arg);
/* Every argument into argv[0 .. argc): argc, or -ENOSPC when argc > cap
 * or buf is too small (bufcap >= f->args.len always suffices). */
ssize_t pf_resp_args(const pf_resp_fields *f, pf_slice *argv, size_t cap, char *buf,
                     size_t bufcap);

/* Protocol-specific parse errors, in protofsm's reserved range. */
#define PF_RESP__ERRBASE (PF__ERRBASE + 300)
enum {
    PF_RESP_EMBULK_LEN = -(PF_RESP__ERRBASE + 1),  /* invalid multibulk length */
    PF_RESP_EBULK_LEN = -(PF_RESP__ERRBASE + 2),   /* invalid bulk length */
    PF_RESP_EDOLLAR = -(PF_RESP__ERRBASE + 3),     /* expected '$', got 'x' */
    PF_RESP_EQUOTES = -(PF_RESP__ERRBASE + 4),     /* unbalanced quotes in request */
    PF_RESP_EINLINE_BIG = -(PF_RESP__ERRBASE + 5), /* too big inline request */
    PF_RESP_EMBULK_BIG = -(PF_RESP__ERRBASE + 6),  /* too big mbulk count string */
    PF_RESP_EBULK_BIG = -(PF_RESP__ERRBASE + 7)    /* too big bulk count string */
};

extern const pf_protocol pf_resp_protocol;

#endif
