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

#include "protofsm/error.h"
#include "protofsm/protocol.h"

/* Compile-time capacities of the parser-owned storage (see pf_resp_fields).
 * The per-connection parser is about 16 * PF_RESP_ARGV_CAP +
 * PF_RESP_SCRATCH_CAP bytes (20 KiB with the defaults); define them when
 * compiling resp.rl to change that. */
#ifndef PF_RESP_ARGV_CAP
#define PF_RESP_ARGV_CAP 1024
#endif
#ifndef PF_RESP_SCRATCH_CAP
#define PF_RESP_SCRATCH_CAP 4096
#endif

#define PF_RESP_MAX_BULK_DEFAULT (512u * 1024 * 1024) /* proto-max-bulk-len */
#define PF_RESP_MAX_INLINE_DEFAULT (64u * 1024)       /* PROTO_INLINE_MAX_SIZE */
#define PF_RESP_MAX_ARGS_DEFAULT PF_RESP_ARGV_CAP

/* Limits; pass to parser_init as `conf` (NULL: defaults).  A zero field
 * takes its default. */
typedef struct pf_resp_conf {
    size_t max_bulk;    /* largest bulk string; longer: "invalid bulk length" */
    size_t max_args;    /* arguments per command, clamped to PF_RESP_ARGV_CAP;
                           more: "invalid multibulk length" (multibulk) or
                           "too big inline request" (inline) */
    size_t max_inline;  /* bytes of an inline line (CR and LF not counted) and
                           of a header line before its CR ('*'/'$' counted) */
} pf_resp_conf;

/* What one packet carries.
 *
 * argv[i] is a slice of the input buffer (the bulk payload, or the inline
 * word without its quotes), except for an inline argument whose bytes differ
 * from the input (it had escapes, or quotes in its middle as in a"b c"):
 * that one points into the parser's scratch area (PF_RESP_SCRATCH_CAP bytes;
 * a line needing more is "too big inline request").  Nothing is copied on
 * the multibulk path.
 *
 * The argv array itself lives in the parser, so fields_size stays 3 words
 * whatever the argument limit, and the per-connection cost is paid once, not
 * per queued packet.  The price: argv and the scratch bytes are valid until
 * the next parse() call on the same parser.  A runtime that parses ahead
 * while an earlier packet is still being handled must copy what it keeps. */
typedef struct pf_resp_fields {
    size_t argc;            /* >= 1, except 0 for RESP_EV_EMPTY */
    const pf_slice *argv;   /* argc slices; argv[0] is the command name */
    int is_inline;          /* 1 for an inline command */
} pf_resp_fields;

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
