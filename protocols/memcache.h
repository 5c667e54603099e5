/* memcached's text protocol (protocol.txt of memcached 1.6), the server
 * side: storage (set add replace append prepend cas), retrieval (get gets
 * gat gats), delete, incr/decr, touch, flush_all, version, verbosity,
 * stats, quit.
 *
 * Framing.  A command is one line ending in LF (a CR before it is not part
 * of the line); tokens are separated by spaces, and runs of spaces count
 * as one, as memcached reads them.  Command names are case-sensitive.  A
 * storage command is its line, then exactly <bytes> of data, then CRLF:
 * the parser delivers the three as one packet.
 *
 * What the parser decides (the service only answers): the event of each
 * line, the number and form of its arguments, and the limits below.
 *   - a line of an unknown command, of a known one with the wrong number of
 *     tokens, or an empty line: ERROR (memcached answers "ERROR");
 *   - a known command with a bad argument (a key over 250 bytes, a number
 *     that is not one): BAD, with the CLIENT_ERROR text in the fields; for
 *     a storage command the data line that follows is then read as a
 *     command, as memcached does (the client sent a broken command line;
 *     nothing about the data can be trusted);
 *   - a storage command whose <bytes> exceed the item limit: TOO_LARGE
 *     (SERVER_ERROR object too large for cache), and the data is skipped
 *     as it arrives (SKIP packets), never buffered;
 *   - data not followed by CRLF: the parse error -EBADMSG, answered
 *     "CLIENT_ERROR bad data chunk" and the connection is closed.  Here
 *     memcached is unsafe: it goes on and runs the bytes after the
 *     declared length as commands, so a value whose length was stated wrong
 *     (or forged) smuggles commands.  Closing is the one deliberate
 *     difference in what clients see;
 *   - a line over max_line bytes (max_get_line for get, gets, gat, gats,
 *     whose lines list many keys): -EMSGSIZE, "CLIENT_ERROR line too long"
 *     and a close (memcached closes without a word).
 * Every slice points into the input buffer. */
#ifndef PROTOFSM_MEMCACHE_H
#define PROTOFSM_MEMCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/protocol.h"

#define PF_MC_KEY_MAX 250                     /* memcached's KEY_MAX_LENGTH */
#define PF_MC_MAX_LINE_DEFAULT 2048           /* memcached's command-line limit */
#define PF_MC_MAX_GET_LINE_DEFAULT (256u << 10)
#define PF_MC_MAX_ITEM_DEFAULT (1u << 20)     /* memcached -I default */
/* Bytes of an item besides key and value, as memcached's item header
 * counts them: a value may be at most max_item - key - this. */
#define PF_MC_ITEM_OVERHEAD 56

/* Limits; pass as the listener's proto_conf (NULL or zero fields: the
 * defaults above).  Must outlive the server. */
typedef struct pf_mc_conf {
    size_t max_line;       /* command line bytes, LF not counted */
    size_t max_get_line;   /* the same for get, gets, gat, gats */
    size_t max_item;       /* key + value + PF_MC_ITEM_OVERHEAD */
} pf_mc_conf;

/* The largest packet a listener with `conf` can take: what its max_input
 * must hold (a storage command with the largest item, or the longest get
 * line). */
size_t pf_mc_max_packet(const pf_mc_conf *conf);

/* Why a BAD packet is bad: the CLIENT_ERROR it is answered with. */
enum pf_mc_error {
    PF_MC_ERR_FORMAT = 1,     /* bad command line format */
    PF_MC_ERR_DELETE_USAGE,   /* bad command line format.  Usage: delete <key> [noreply] */
    PF_MC_ERR_DELTA,          /* invalid numeric delta argument */
    PF_MC_ERR_EXPTIME         /* invalid exptime argument */
};
/* "CLIENT_ERROR ...\r\n" for `err` (static storage). */
pf_slice pf_mc_client_error(int err);

/* What one packet carries. */
typedef struct pf_mc_fields {
    pf_slice key;         /* storage, delete, incr, decr, touch: the key */
    pf_slice keys;        /* get gets gat gats: every key, spaces between */
    pf_slice data;        /* storage: the value, without its CRLF */
    uint64_t num;         /* incr/decr: delta; verbosity: level; cas: unique */
    int64_t exptime;      /* storage, touch, gat(s); flush_all: delay */
    uint32_t flags;
    uint8_t noreply;      /* the last token was "noreply" */
    uint8_t error;        /* BAD: enum pf_mc_error */
    uint16_t command;     /* TOO_LARGE: the storage command's event */
} pf_mc_fields;

/* The next key of a key list: *rest is what is left after it.  1 and *key
 * set, or 0 at the end. */
int pf_mc_next_key(pf_slice *rest, pf_slice *key);

extern const pf_protocol pf_memcache_protocol;

#endif
