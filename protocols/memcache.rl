/* memcached's text protocol (see memcache.h for what it accepts and why).
 *
 * Built from the authoring kit: a command line is pf_frame_line_next, a
 * storage command's data pf_frame_block, numbers pf_frame_u64/i64
 * (protofsm/frame.h); the command word is named by the classifier pfgen
 * writes from the `keywords` below, and the pf_protocol literal is
 * MEMCACHE_PROTOCOL.  The arguments are plain space-separated tokens,
 * checked here against each command's shape: nothing in this grammar
 * needs a state per byte, so no Ragel machine either.
 *
 * A storage command is one packet: its line, its data and the CRLF.  While
 * the data is arriving the parser remembers only the line's and the data's
 * lengths (offsets, never pointers: the buffer may move) and looks only at
 * the terminator bytes as they come; the line is tokenized once more when
 * the whole packet is there, so its slices point into the final buffer. */

/* @fsm
protocol memcache
keywords lower SET ADD REPLACE APPEND PREPEND CAS
keywords lower GET GETS GAT GATS DELETE INCR DECR TOUCH
keywords lower FLUSH_ALL VERSION VERBOSITY STATS QUIT
events  ERROR BAD TOO_LARGE SKIP
fields  pf_mc_fields
parser  mc_parser
init    mc_init
parse   mc_parse
error   mc_error_reply
busy    "SERVER_ERROR busy\r\n"
full    "SERVER_ERROR too many open connections\r\n"
max_packet mc_max_packet
at_rest mc_at_rest
@end */
#include <errno.h>
#include <string.h>

#include "memcache.h"
#include "memcache_events.h"
#include "protofsm/frame.h"

#define MAX_ARGS 24 /* memcached's MAX_TOKENS: more is "ERROR" (keys excepted) */

typedef struct mc_parser {
    pf_frame_line line;
    size_t max_line, max_get_line, max_item;
    size_t line_len;    /* > 0: a storage line of this many bytes was read, */
    size_t data_len;    /* and its data and CRLF are arriving */
    uint64_t skip;      /* bytes of a too-large value (and its CRLF) to pass over */
    int err;            /* sticky parse error */
} mc_parser;

/* The command word's event; ERROR for anything else (case matters). */
static uint16_t classify(const char *word, size_t n)
{
    int ev = memcache_keyword(word, n);
    return ev < 0 ? MEMCACHE_EV_ERROR : (uint16_t)ev;
}

/* Split text into tokens at runs of spaces; at most max. */
static size_t tokenize(const char *p, size_t n, pf_slice *tok, size_t max)
{
    size_t nt = 0, i = 0;
    while (i < n && nt < max) {
        while (i < n && p[i] == ' ')
            i++;
        if (i == n)
            break;
        size_t s = i;
        while (i < n && p[i] != ' ')
            i++;
        tok[nt++] = (pf_slice){ p + s, i - s };
    }
    return nt;
}

static int is(pf_slice t, const char *s)
{
    size_t n = strlen(s);
    return t.len == n && memcmp(t.ptr, s, n) == 0;
}

static int is_get(uint16_t ev)
{
    return ev == MEMCACHE_EV_GET || ev == MEMCACHE_EV_GETS || ev == MEMCACHE_EV_GAT ||
           ev == MEMCACHE_EV_GATS;
}

static int is_storage(uint16_t ev)
{
    return ev >= MEMCACHE_EV_SET && ev <= MEMCACHE_EV_CAS;
}

static uint16_t bad(pf_mc_fields *f, int err)
{
    f->error = (uint8_t)err;
    return MEMCACHE_EV_BAD;
}

/* The protocol's rule for a key: at most 250 bytes, no control character.
 * memcached checks only the length and reads the line as a C string, so a
 * NUL ends it there: "set a\0b ..." is "set a" to it, and the data line
 * after it a command.  Such a key is refused here, as a long one is. */
static int key_ok(pf_slice k)
{
    if (k.len > PF_MC_KEY_MAX)
        return 0;
    for (size_t i = 0; i < k.len; i++)
        if ((unsigned char)k.ptr[i] < 0x20 || k.ptr[i] == 0x7f)
            return 0;
    return 1;
}

static int keys_ok(pf_slice keys)
{
    pf_slice k;
    while (pf_mc_next_key(&keys, &k))
        if (!key_ok(k))
            return 0;
    return 1;
}

/* The arguments of one command line (tok[0] is the command word): the
 * packet's event, with the fields filled.  *data_len is set for a storage
 * command whose data is to follow. */
static uint16_t command(const mc_parser *mp, const char *text, size_t len, pf_mc_fields *f,
                        size_t *data_len)
{
    pf_slice tok[MAX_ARGS + 1];
    size_t nt = tokenize(text, len, tok, MAX_ARGS + 1);
    if (nt == 0)
        return MEMCACHE_EV_ERROR;
    uint16_t ev = classify(tok[0].ptr, tok[0].len);
    size_t na = nt - 1; /* arguments */
    pf_slice *a = tok + 1;
    uint64_t u;
    *data_len = 0;
    if (is_get(ev)) {
        /* Key lists may be longer than MAX_ARGS: they are a slice, split later. */
        size_t first = ev == MEMCACHE_EV_GAT || ev == MEMCACHE_EV_GATS ? 1 : 0;
        if (na < first + (first ? 0 : 1))
            return MEMCACHE_EV_ERROR;
        if (first && pf_frame_i64(a[0].ptr, a[0].len, INT64_MIN, INT64_MAX, &f->exptime) < 0)
            return bad(f, PF_MC_ERR_EXPTIME);
        const char *start = na > first ? a[first].ptr : text + len;
        f->keys = (pf_slice){ start, (size_t)(text + len - start) };
        return keys_ok(f->keys) ? ev : bad(f, PF_MC_ERR_FORMAT);
    }
    if (nt > MAX_ARGS)
        return MEMCACHE_EV_ERROR;
    f->noreply = na > 0 && is(a[na - 1], "noreply");
    switch (ev) {
    case MEMCACHE_EV_SET: case MEMCACHE_EV_ADD: case MEMCACHE_EV_REPLACE:
    case MEMCACHE_EV_APPEND: case MEMCACHE_EV_PREPEND: case MEMCACHE_EV_CAS: {
        size_t want = ev == MEMCACHE_EV_CAS ? 5 : 4;
        int64_t bytes;
        if (na != want && na != want + 1)
            return MEMCACHE_EV_ERROR;
        f->key = a[0];
        /* flags: memcached reads an unsigned long and keeps its low 32 bits */
        if (!key_ok(a[0]) || pf_frame_u64(a[1].ptr, a[1].len, UINT64_MAX, &u) < 0 ||
            pf_frame_i64(a[2].ptr, a[2].len, INT64_MIN, INT64_MAX, &f->exptime) < 0 ||
            pf_frame_i64(a[3].ptr, a[3].len, 0, INT32_MAX - 2, &bytes) < 0 ||
            (ev == MEMCACHE_EV_CAS && pf_frame_u64(a[4].ptr, a[4].len, UINT64_MAX, &f->num) < 0))
            return bad(f, PF_MC_ERR_FORMAT);
        f->flags = (uint32_t)u;
        *data_len = (size_t)bytes;
        if ((size_t)bytes + f->key.len + PF_MC_ITEM_OVERHEAD > mp->max_item) {
            f->command = ev;
            return MEMCACHE_EV_TOO_LARGE;
        }
        return ev;
    }
    case MEMCACHE_EV_DELETE: {
        int zero = na >= 2 && is(a[1], "0");
        if (na < 1 || na > 3)
            return MEMCACHE_EV_ERROR;
        f->key = a[0];
        if (!key_ok(a[0]))
            return bad(f, PF_MC_ERR_FORMAT);
        if ((na == 2 && !zero && !f->noreply) || (na == 3 && !(zero && f->noreply)))
            return bad(f, PF_MC_ERR_DELETE_USAGE);
        return ev;
    }
    case MEMCACHE_EV_INCR: case MEMCACHE_EV_DECR:
        if (na < 2 || na > 3)
            return MEMCACHE_EV_ERROR;
        f->key = a[0];
        if (!key_ok(a[0]))
            return bad(f, PF_MC_ERR_FORMAT);
        if (pf_frame_u64(a[1].ptr, a[1].len, UINT64_MAX, &f->num) < 0)
            return bad(f, PF_MC_ERR_DELTA);
        return ev;
    case MEMCACHE_EV_TOUCH:
        if (na < 2 || na > 3)
            return MEMCACHE_EV_ERROR;
        f->key = a[0];
        if (!key_ok(a[0]))
            return bad(f, PF_MC_ERR_FORMAT);
        if (pf_frame_i64(a[1].ptr, a[1].len, INT64_MIN, INT64_MAX, &f->exptime) < 0)
            return bad(f, PF_MC_ERR_EXPTIME);
        return ev;
    case MEMCACHE_EV_FLUSH_ALL:
        if (na > 2)
            return MEMCACHE_EV_ERROR;
        if (na - f->noreply == 1 &&
            pf_frame_i64(a[0].ptr, a[0].len, INT64_MIN, INT64_MAX, &f->exptime) < 0)
            return bad(f, PF_MC_ERR_EXPTIME);
        return ev;
    case MEMCACHE_EV_VERBOSITY:
        if (na < 1 || na > 2)
            return MEMCACHE_EV_ERROR;
        if (pf_frame_u64(a[0].ptr, a[0].len, UINT32_MAX, &f->num) < 0)
            return bad(f, PF_MC_ERR_FORMAT);
        return ev;
    default: /* version, stats, quit take what follows as it is */
        f->keys = na ? (pf_slice){ a[0].ptr, (size_t)(text + len - a[0].ptr) }
                     : (pf_slice){ text + len, 0 };
        return ev;
    }
}

static void mc_init(void *pp, const void *conf)
{
    mc_parser *mp = pp;
    const pf_mc_conf *c = conf;
    memset(mp, 0, sizeof(*mp));
    mp->max_line = c && c->max_line ? c->max_line : PF_MC_MAX_LINE_DEFAULT;
    mp->max_get_line = c && c->max_get_line ? c->max_get_line : PF_MC_MAX_GET_LINE_DEFAULT;
    mp->max_item = c && c->max_item ? c->max_item : PF_MC_MAX_ITEM_DEFAULT;
}

/* The line limit for the line starting at buf: get lines list many keys. */
static size_t limit_for(const mc_parser *mp, const char *buf, size_t len)
{
    while (len && *buf == ' ')
        buf++, len--;
    if ((len >= 4 && (memcmp(buf, "get ", 4) == 0 || memcmp(buf, "gat ", 4) == 0)) ||
        (len >= 5 && (memcmp(buf, "gets ", 5) == 0 || memcmp(buf, "gats ", 5) == 0)))
        return mp->max_get_line;
    return mp->max_line;
}

static ssize_t mc_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    mc_parser *mp = pp;
    pf_mc_fields *f = out->fields;
    if (mp->err)
        return mp->err;
    if (mp->skip) {
        if (len == 0)
            return -EAGAIN;
        size_t n = mp->skip < len ? (size_t)mp->skip : len;
        mp->skip -= n;
        *f = (pf_mc_fields){ 0 };
        out->event = MEMCACHE_EV_SKIP;
        out->raw = (pf_slice){ buf, n };
        return (ssize_t)n;
    }
    if (mp->line_len) {
        /* The line was read: look only at what came after it, so a wrong
         * terminator is refused when it arrives, however the input is cut. */
        ssize_t b = pf_frame_block(buf + mp->line_len, len - mp->line_len, mp->data_len,
                                   "\r\n", 2);
        if (b == -EAGAIN)
            return -EAGAIN;
        if (b < 0)
            return mp->err = -EBADMSG;
    }
    size_t text;
    /* A get line's limit is known from its first bytes, long before the
     * smaller limit of other lines could be reached. */
    ssize_t n = pf_frame_line_next(&mp->line, buf, len, limit_for(mp, buf, len), PF_EOL_LF,
                                   &text);
    if (n == -EAGAIN)
        return -EAGAIN;
    if (n < 0)
        return mp->err = (int)n;
    size_t data = 0;
    *f = (pf_mc_fields){ 0 };
    out->event = command(mp, buf, text, f, &data);
    size_t total = (size_t)n;
    if (out->event == MEMCACHE_EV_TOO_LARGE) {
        mp->skip = (uint64_t)data + 2; /* skipped as it comes, never held */
    } else if (is_storage(out->event)) {
        ssize_t b = pf_frame_block(buf + n, len - (size_t)n, data, "\r\n", 2);
        if (b == -EAGAIN) {
            mp->line_len = (size_t)n;
            mp->data_len = data;
            mp->line.scanned = 0; /* the line is read again when the data is in */
            return -EAGAIN;
        }
        if (b < 0)
            return mp->err = -EBADMSG;
        f->data = (pf_slice){ buf + n, data };
        total += (size_t)b;
    }
    mp->line_len = 0;
    out->raw = (pf_slice){ buf, total };
    return (ssize_t)total;
}

/* A value being skipped and a storage line waiting for its data carry
 * over to the next call; nothing else does. */
static int mc_at_rest(const void *pp)
{
    const mc_parser *mp = pp;
    return !mp->err && !mp->skip && !mp->line_len && !mp->line.scanned;
}

static pf_slice mc_error_reply(const void *pp, int err)
{
    static const pf_slice chunk = PF_SLICE_LIT("CLIENT_ERROR bad data chunk\r\n");
    static const pf_slice line = PF_SLICE_LIT("CLIENT_ERROR line too long\r\n");
    (void)pp;
    return err == -EMSGSIZE ? line : chunk;
}

size_t pf_mc_max_packet(const pf_mc_conf *c)
{
    size_t line = c && c->max_line ? c->max_line : PF_MC_MAX_LINE_DEFAULT;
    size_t get = c && c->max_get_line ? c->max_get_line : PF_MC_MAX_GET_LINE_DEFAULT;
    size_t item = c && c->max_item ? c->max_item : PF_MC_MAX_ITEM_DEFAULT;
    size_t storage = line + 1 + item + 2;
    return (get + 1 > storage ? get + 1 : storage);
}

static size_t mc_max_packet(const void *conf) { return pf_mc_max_packet(conf); }

pf_slice pf_mc_client_error(int err)
{
    static const pf_slice texts[] = {
        PF_SLICE_LIT("CLIENT_ERROR bad command line format\r\n"),
        PF_SLICE_LIT("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"),
        PF_SLICE_LIT("CLIENT_ERROR invalid numeric delta argument\r\n"),
        PF_SLICE_LIT("CLIENT_ERROR invalid exptime argument\r\n"),
    };
    return err >= PF_MC_ERR_FORMAT && err <= PF_MC_ERR_EXPTIME ? texts[err - 1] : texts[0];
}

int pf_mc_next_key(pf_slice *rest, pf_slice *key)
{
    const char *p = rest->ptr, *e = p + rest->len;
    while (p < e && *p == ' ')
        p++;
    if (p == e)
        return 0;
    const char *s = p;
    while (p < e && *p != ' ')
        p++;
    *key = (pf_slice){ s, (size_t)(p - s) };
    *rest = (pf_slice){ p, (size_t)(e - p) };
    return 1;
}

MEMCACHE_PROTOCOL(pf_memcache_protocol);
