/* The Redis protocol, RESP2 requests (see resp.h for the contract).
 *
 * Multibulk requests are lexed by the Ragel machine resp_mbulk below: a
 * count line `*N`, then per argument a header line `$LEN`.  Ragel does not
 * count: after each header an action skips the payload plus the two bytes
 * after it by advancing p when they are all in the buffer, and otherwise
 * records what is missing and lets host code consume it by advancing its
 * offset min(available, needed) on the next calls; the action at the end of
 * each bulk counts the arguments down and stops the machine at the last.
 * Nothing is copied and nothing already scanned is scanned again; between
 * calls the parser keeps offsets only, so the runtime may move its buffer.
 *
 * Inline requests are framed with memchr for the LF (a line has no
 * structure worth a state per byte) and split once whole, by a port of
 * redis's sdssplitargs.
 *
 * The errors follow redis-server 7's networking.c exactly, including what
 * it does not check:
 * - a header line is judged only once its CR and one more byte are there
 *   (redis's strchr for '\r', then "buffer should also contain \n", whose
 *   byte is never looked at), and the two bytes after a payload are skipped
 *   unread; so "*1\rX$4\r\nPING??" is PING, as in redis;
 * - a header line with more than max_inline bytes before its CR, or an
 *   inline line with more than max_inline bytes of text (CR, LF not
 *   counted), is "too big ...", whatever it holds and however it arrived
 *   (redis decides by what one read brought; we decide by the bytes, so
 *   every split of the input gives the same answer);
 * - a NUL byte ends redis's strchr: a header or inline line with a NUL
 *   before its terminator never ends, and becomes "too big ..." once the
 *   bytes from its start exceed the limit (here as there);
 * - numbers are read as string2ll reads them: optional '-', no '+', no
 *   leading zeros, 64-bit overflow is invalid; a count <= 0 is an empty
 *   command, skipped; a count above INT_MAX (redis 7; 6.x said 1024*1024)
 *   or above max_args is an invalid multibulk length; a bulk length below 0
 *   or above max_bulk is an invalid bulk length.
 *
 * The session machine is state-independent: one handler per command name.
 * kvd's MULTI/EXEC and AUTH states belong to a transition machine of its
 * own, built over the same events. */

/* @fsm
protocol resp
events  PING ECHO GET SET SETNX GETSET MGET MSET DEL EXISTS
events  INCR DECR INCRBY DECRBY APPEND STRLEN
events  EXPIRE PEXPIRE TTL PTTL PERSIST TYPE KEYS SCAN
events  DBSIZE FLUSHDB FLUSHALL SELECT QUIT INFO COMMAND CLIENT HELLO
events  AUTH MULTI EXEC DISCARD CONFIG
events  UNKNOWN EMPTY
@end */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "resp.h"
#include "resp_events.h"

enum { M_START, M_MBULK, M_INLINE };

typedef struct resp_parser {
    int cs;             /* resp_mbulk state */
    int err;            /* sticky parse error */
    unsigned char mode; /* M_*: what the bytes at `pos` belong to */
    unsigned char in_line;   /* inside a header line, before its CR */
    unsigned char linedone;  /* resp_mbulk ended the command */
    unsigned char poisoned;  /* a NUL before the line's terminator */
    unsigned char neg, ovf, numok;
    unsigned char got;       /* the byte a '$' was expected in place of */
    int big_err;             /* "too big" code for the current line */
    /* Offsets from the start of the unconsumed input (buf). */
    size_t start;       /* first byte of the current command (after skips) */
    size_t pos;         /* next byte to look at */
    size_t line;        /* first byte of the current line */
    size_t count_len;   /* bytes of the count line, CR and its byte included */
    uint64_t acc;       /* digits of the current header line */
    size_t need;        /* payload bytes + 2 still to skip */
    size_t left;        /* bulks still to read */
    size_t argc;
    size_t max_bulk, max_args, max_inline;
    size_t name_len;    /* length of the first bulk (the command name) */
    size_t text_end;    /* inline: end of the line's text (before CR LF) */
} resp_parser;

/* ---- command names --------------------------------------------------- */

%%{
    machine resp_cmd;

    action ping     { ev = RESP_EV_PING; }
    action echo     { ev = RESP_EV_ECHO; }
    action get      { ev = RESP_EV_GET; }
    action set      { ev = RESP_EV_SET; }
    action setnx    { ev = RESP_EV_SETNX; }
    action getset   { ev = RESP_EV_GETSET; }
    action mget     { ev = RESP_EV_MGET; }
    action mset     { ev = RESP_EV_MSET; }
    action del      { ev = RESP_EV_DEL; }
    action exists   { ev = RESP_EV_EXISTS; }
    action incr     { ev = RESP_EV_INCR; }
    action decr     { ev = RESP_EV_DECR; }
    action incrby   { ev = RESP_EV_INCRBY; }
    action decrby   { ev = RESP_EV_DECRBY; }
    action append   { ev = RESP_EV_APPEND; }
    action strlen   { ev = RESP_EV_STRLEN; }
    action expire   { ev = RESP_EV_EXPIRE; }
    action pexpire  { ev = RESP_EV_PEXPIRE; }
    action ttl      { ev = RESP_EV_TTL; }
    action pttl     { ev = RESP_EV_PTTL; }
    action persist  { ev = RESP_EV_PERSIST; }
    action type     { ev = RESP_EV_TYPE; }
    action keys     { ev = RESP_EV_KEYS; }
    action scan     { ev = RESP_EV_SCAN; }
    action dbsize   { ev = RESP_EV_DBSIZE; }
    action flushdb  { ev = RESP_EV_FLUSHDB; }
    action flushall { ev = RESP_EV_FLUSHALL; }
    action select   { ev = RESP_EV_SELECT; }
    action quit     { ev = RESP_EV_QUIT; }
    action info     { ev = RESP_EV_INFO; }
    action command  { ev = RESP_EV_COMMAND; }
    action client   { ev = RESP_EV_CLIENT; }
    action hello    { ev = RESP_EV_HELLO; }
    action auth     { ev = RESP_EV_AUTH; }
    action multi    { ev = RESP_EV_MULTI; }
    action exec     { ev = RESP_EV_EXEC; }
    action discard  { ev = RESP_EV_DISCARD; }
    action config   { ev = RESP_EV_CONFIG; }

    include resp_cmd_grammar "resp_grammar.rl";

    main := command;
}%%

%% write data noerror nofinal noentry;

/* One pass over the name, whatever its case. */
static uint16_t classify(pf_slice name)
{
    const char *p = name.ptr, *pe = p + name.len, *eof = pe;
    uint16_t ev = RESP_EV_UNKNOWN;
    int cs;
    %% write init;
    %% write exec;
    (void)eof;
    return ev;
}

/* ---- multibulk requests -------------------------------------------- */

/* The CR of a header line: a line longer than the limit is "too big"
 * whatever it holds, as it would be had it arrived in smaller reads. */
#define CR_SEEN(ok)                                                       \
    do {                                                                  \
        rp->in_line = 0;                                                  \
        rp->numok = (ok);                                                 \
        if ((size_t)(p - buf) - rp->line > rp->max_inline) {              \
            rp->err = rp->big_err;                                        \
            p++;                                                          \
            goto hdr_out;                                                 \
        }                                                                 \
    } while (0)

#define FAIL(code)                                                        \
    do {                                                                  \
        rp->err = (code);                                                 \
        p++;                                                              \
        goto hdr_out;                                                     \
    } while (0)

/* string2ll's range: what the digits and sign of a line may stand for. */
#define NUM_VALID(rp)                                                     \
    ((rp)->numok && !(rp)->ovf &&                                         \
     (rp)->acc <= ((rp)->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))

%%{
    machine resp_mbulk;
    access rp->;

    action count_start {
        rp->line = (size_t)(p - buf);
        rp->in_line = 1;
        rp->neg = rp->ovf = 0;
        rp->acc = 0;
        rp->big_err = PF_RESP_EMBULK_BIG;
    }
    action bulk_start {
        rp->line = (size_t)(p - buf);
        rp->in_line = 1;
        rp->neg = rp->ovf = 0;
        rp->acc = 0;
    }
    action neg { rp->neg = 1; }
    action dig {
        unsigned d = (unsigned)(fc - '0');
        /* acc * 10 + d must fit in 64 bits */
        if (rp->acc > UINT64_MAX / 10 || (rp->acc == UINT64_MAX / 10 && d > UINT64_MAX % 10))
            rp->ovf = 1;
        else
            rp->acc = rp->acc * 10 + d;
    }
    action cr_num { CR_SEEN(1); }
    action cr_bad { CR_SEEN(0); }
    action poison { rp->poisoned = 1; fbreak; }

    # The count line is judged at the byte after its CR, as redis does.
    action count_done {
        if (!NUM_VALID(rp) || (!rp->neg && rp->acc > INT_MAX))
            FAIL(PF_RESP_EMBULK_LEN);
        if (rp->neg || rp->acc == 0) {     /* an empty command */
            rp->left = 0;
            rp->linedone = 1;
            fbreak;
        }
        if (rp->acc > rp->max_args)
            FAIL(PF_RESP_EMBULK_LEN);
        rp->left = (size_t)rp->acc;
        rp->count_len = (size_t)(p + 1 - buf) - rp->line;
        rp->big_err = PF_RESP_EBULK_BIG;
    }

    # A bulk header: then skip the payload and the two bytes after it (not
    # looked at, as in redis) right here when they are all in the buffer,
    # else leave the rest to host code.
    action bulk_done {
        if (buf[rp->line] != '$') {
            rp->got = (unsigned char)buf[rp->line];
            FAIL(PF_RESP_EDOLLAR);
        }
        if (!NUM_VALID(rp) || rp->neg || rp->acc > rp->max_bulk)
            FAIL(PF_RESP_EBULK_LEN);
        size_t need = (size_t)rp->acc + 2, avail = (size_t)(pe - p - 1);
        if (rp->argc == 0)
            rp->name_len = (size_t)rp->acc;
        if (avail < need) {
            rp->need = need - avail;
            p = pe - 1;
        } else {
            p += need;
            rp->argc++;
            if (--rp->left == 0) {
                rp->linedone = 1;
                fbreak;
            }
        }
    }

    include resp_mbulk_grammar "resp_grammar.rl";

    main := count bulk*;
}%%

%% write data noerror nofinal noentry;

/* Run resp_mbulk over buf[pos, len) until the command is complete, an error
 * or a NUL stops it, or the input runs out. */
static void mbulk_exec(resp_parser *rp, const char *buf, size_t len)
{
    const char *p = buf + rp->pos, *pe = buf + len;
    rp->linedone = 0;
    %% write exec;
hdr_out:
    rp->pos = (size_t)(p - buf);
}

/* Decimal digits of n, as a canonical header line writes it. */
static size_t ndigits(size_t n)
{
    size_t d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* The header lines of a complete command are canonical ("$" digits, CR, one
 * byte), so the name's offset follows from its length alone. */
static pf_slice mbulk_name(const resp_parser *rp, const char *buf)
{
    size_t off = rp->start + rp->count_len + 1 + ndigits(rp->name_len) + 2;
    return (pf_slice){ buf + off, rp->name_len };
}

enum { STEP_AGAIN = 0, STEP_CMD = 1, STEP_EMPTY = 2 };

/* Advance through a multibulk request. */
static int mbulk_step(resp_parser *rp, const char *buf, size_t len)
{
    for (;;) {
        if (rp->need) {
            /* the rest of a payload that was not all there */
            size_t take = len - rp->pos < rp->need ? len - rp->pos : rp->need;
            rp->pos += take;
            rp->need -= take;
            if (rp->need)
                return STEP_AGAIN;
            rp->argc++;
            if (--rp->left == 0)
                return STEP_CMD;
        }
        if (rp->poisoned) {
            /* redis's strchr stops at the NUL: the line never ends. */
            rp->pos = len;
            if (len - rp->line > rp->max_inline)
                return rp->err = rp->big_err;
            return STEP_AGAIN;
        }
        mbulk_exec(rp, buf, len);
        if (rp->err)
            return rp->err;
        if (rp->linedone)
            return rp->argc ? STEP_CMD : STEP_EMPTY;
        if (rp->poisoned || rp->need)
            continue;
        if (rp->pos != len) /* cannot happen: every byte has a transition */
            return rp->err = -EBADMSG;
        if (rp->in_line && len - rp->line > rp->max_inline)
            return rp->err = rp->big_err;
        return STEP_AGAIN;
    }
}

/* ---- inline commands ------------------------------------------------- */

static int is_space(unsigned char c) /* isspace() in the C locale */
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One word of redis's sdssplitargs, from *pp (blanks before it skipped),
 * over text with no NUL and no terminator.  A word that is a plain run of
 * the input (no escape, no quote in its middle as in a"b c") is returned as
 * that run; any other is unescaped into out: its bytes past `cap` are
 * counted in arg->len but not written, and *copied is set.  Unescaping
 * never lengthens a word, so `cap` >= the word's input bytes always does.
 * Returns 1 (a word; *pp is past it), 0 (no more words) or
 * PF_RESP_EQUOTES. */
static int inline_word(const char **pp, const char *e, char *out, size_t cap,
                       pf_slice *arg, int *copied)
{
    const char *p = *pp, *run, *end;
    size_t o = 0;
    int copy = 0, inq = 0, insq = 0;

/* Append input bytes [from, to) and then `extra` (when >= 0) to out. */
#define PUT(from, to, extra)                                              \
    do {                                                                  \
        size_t k_ = (size_t)((to) - (from));                              \
        copy = 1;                                                         \
        if (o < cap)                                                      \
            memcpy(out + o, (from), k_ < cap - o ? k_ : cap - o);         \
        o += k_;                                                          \
        if ((extra) >= 0) {                                               \
            if (o < cap)                                                  \
                out[o] = (char)(extra);                                   \
            o++;                                                          \
        }                                                                 \
    } while (0)

    while (p < e && is_space((unsigned char)*p))
        p++;
    if (p == e)
        return 0;
    run = p;
    for (;;) {
        if (inq) {
            if (p == e)
                return PF_RESP_EQUOTES;
            if (*p == '\\' && e - p >= 4 && p[1] == 'x' &&
                hex_val((unsigned char)p[2]) >= 0 && hex_val((unsigned char)p[3]) >= 0) {
                int c = hex_val((unsigned char)p[2]) * 16 + hex_val((unsigned char)p[3]);
                PUT(run, p, c);
                p += 4;
                run = p;
            } else if (*p == '\\' && e - p >= 2) {
                int c;
                switch (p[1]) {
                case 'n': c = '\n'; break;
                case 'r': c = '\r'; break;
                case 't': c = '\t'; break;
                case 'b': c = '\b'; break;
                case 'a': c = '\a'; break;
                default: c = (unsigned char)p[1]; break;
                }
                PUT(run, p, c);
                p += 2;
                run = p;
            } else if (*p == '"') {
                /* A closing quote must be followed by a blank or the end. */
                if (p + 1 < e && !is_space((unsigned char)p[1]))
                    return PF_RESP_EQUOTES;
                end = p++;
                break;
            } else {
                p++;
            }
        } else if (insq) {
            if (p == e)
                return PF_RESP_EQUOTES;
            if (*p == '\\' && e - p >= 2 && p[1] == '\'') {
                PUT(run, p, '\'');
                p += 2;
                run = p;
            } else if (*p == '\'') {
                if (p + 1 < e && !is_space((unsigned char)p[1]))
                    return PF_RESP_EQUOTES;
                end = p++;
                break;
            } else {
                p++;
            }
        } else if (p == e || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
            end = p;
            if (p < e)
                p++;
            break;
        } else if (*p == '"' || *p == '\'') {
            if (*p == '"')
                inq = 1;
            else
                insq = 1;
            /* A quote opening the word is simply dropped; one in its
             * middle (a"b c") joins two runs, so the word is copied. */
            if (p != run)
                PUT(run, p, -1);
            run = ++p;
        } else {
            p++;
        }
    }
    if (copy) {
        PUT(run, end, -1);
        *arg = (pf_slice){ out, o };
    } else {
        *arg = (pf_slice){ run, (size_t)(end - run) };
    }
    *copied = copy;
    *pp = p;
    return 1;
#undef PUT
}

/* Check and count the words of one line; the name (argv[0]) goes to *name,
 * unescaped into namebuf (NAME_CAP bytes) when it must be.  Returns argc
 * >= 0 or a PF_RESP_E* code. */
#define NAME_CAP 32
static int split_inline(const resp_parser *rp, const char *t, size_t n,
                        char *namebuf, pf_slice *name)
{
    const char *p = t, *e = t + n;
    size_t argc = 0;
    for (;;) {
        pf_slice a;
        int copied;
        while (p < e && is_space((unsigned char)*p))
            p++;
        if (p == e)
            return (int)argc;
        if (argc == rp->max_args)
            return PF_RESP_EINLINE_BIG;
        int rc = inline_word(&p, e, argc ? NULL : namebuf, argc ? 0 : NAME_CAP, &a, &copied);
        if (rc < 0)
            return rc;
        if (argc == 0) {
            *name = a;
            if (copied && a.len > NAME_CAP) /* longer than any command name */
                *name = (pf_slice){ "", 0 };
        }
        argc++;
    }
}

/* Advance through an inline request: find its LF, then split the line. */
static int inline_step(resp_parser *rp, const char *buf, size_t len, char *namebuf,
                       pf_slice *name)
{
    const char *nl = NULL;
    if (!rp->poisoned && rp->pos < len) {
        const char *s = buf + rp->pos;
        nl = memchr(s, '\n', len - rp->pos);
        size_t upto = nl ? (size_t)(nl - s) : len - rp->pos;
        if (memchr(s, '\0', upto)) {
            rp->poisoned = 1; /* redis's strchr for '\n' stops at the NUL */
            nl = NULL;
        }
    }
    if (!nl) {
        rp->pos = len;
        /* max_inline of text plus a CR may still be followed by its LF. */
        size_t m = len - rp->line;
        if (m > rp->max_inline + 1 || (m == rp->max_inline + 1 && buf[len - 1] != '\r'))
            return rp->err = PF_RESP_EINLINE_BIG;
        return STEP_AGAIN;
    }
    size_t end = (size_t)(nl - buf);
    size_t text = end > rp->line && buf[end - 1] == '\r' ? end - 1 : end;
    if (text - rp->line > rp->max_inline)
        return rp->err = PF_RESP_EINLINE_BIG;
    int argc = split_inline(rp, buf + rp->line, text - rp->line, namebuf, name);
    if (argc < 0)
        return rp->err = argc;
    rp->text_end = text;
    rp->pos = end + 1;
    rp->argc = (size_t)argc;
    return argc ? STEP_CMD : STEP_EMPTY;
}

/* ---- the protocol ---------------------------------------------------- */

static void reset_command(resp_parser *rp)
{
    rp->mode = M_START;
    rp->argc = 0;
    rp->need = 0;
    rp->left = 0;
    rp->poisoned = 0;
    rp->in_line = 0;
}

static void resp_parser_init(void *pp, const void *conf)
{
    resp_parser *rp = pp;
    const pf_resp_conf *c = conf;
    static const pf_resp_conf none;
    if (!c)
        c = &none;
    memset(rp, 0, sizeof *rp);
    rp->max_bulk = c->max_bulk ? c->max_bulk : PF_RESP_MAX_BULK_DEFAULT;
    if (rp->max_bulk > SIZE_MAX / 2)
        rp->max_bulk = SIZE_MAX / 2;
    rp->max_args = c->max_args ? c->max_args : PF_RESP_MAX_ARGS_DEFAULT;
    if (rp->max_args > INT_MAX)
        rp->max_args = INT_MAX;
    rp->max_inline = c->max_inline ? c->max_inline : PF_RESP_MAX_INLINE_DEFAULT;
    if (rp->max_inline > SIZE_MAX / 4)
        rp->max_inline = SIZE_MAX / 4;
}

/* Between commands nothing carries over (reset_command, pos back to 0);
 * skipped empty lines stay in the input until a command or EMPTY takes
 * them, so they are never "at rest". */
static int resp_at_rest(const void *pp)
{
    const resp_parser *rp = pp;
    return !rp->err && rp->mode == M_START && rp->pos == 0;
}

static ssize_t resp_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    resp_parser *rp = pp;
    pf_resp_fields *f = out->fields;
    char namebuf[NAME_CAP];
    pf_slice name = { NULL, 0 };
    if (rp->err)
        return rp->err;
    for (;;) {
        int r;
        if (rp->mode == M_START) {
            if (rp->pos == len)
                return -EAGAIN;
            rp->start = rp->pos;
            if (buf[rp->pos] == '*') {
                rp->mode = M_MBULK;
                rp->cs = resp_mbulk_start;
            } else {
                rp->mode = M_INLINE;
                rp->line = rp->pos;
            }
        }
        if (rp->mode == M_MBULK)
            r = mbulk_step(rp, buf, len);
        else
            r = inline_step(rp, buf, len, namebuf, &name);
        if (r < 0)
            return r;
        if (r == STEP_AGAIN)
            return -EAGAIN;
        if (r == STEP_EMPTY) {
            /* Skipped, as redis skips it; reported only when the skipped
             * bytes grow large, so they need not stay buffered. */
            reset_command(rp);
            if (rp->pos < rp->max_inline)
                continue;
            f->argc = 0;
            f->args = (pf_slice){ buf + rp->pos, 0 };
            f->is_inline = 0;
            out->event = RESP_EV_EMPTY;
            out->raw = (pf_slice){ buf, rp->pos };
        } else {
            f->is_inline = rp->mode == M_INLINE;
            if (rp->mode == M_MBULK) {
                size_t a = rp->start + rp->count_len;
                name = mbulk_name(rp, buf);
                f->args = (pf_slice){ buf + a, rp->pos - a };
            } else {
                f->args = (pf_slice){ buf + rp->line, rp->text_end - rp->line };
            }
            f->argc = rp->argc;
            out->event = classify(name);
            out->raw = (pf_slice){ buf + rp->start, rp->pos - rp->start };
            reset_command(rp);
        }
        size_t n = rp->pos;
        rp->pos = 0;
        return (ssize_t)n;
    }
}

/* ---- walking a packet's arguments ----------------------------------- */

void pf_resp_iter_init(pf_resp_iter *it, const pf_resp_fields *f, char *buf, size_t cap)
{
    it->_p = f->args.ptr;
    it->_end = f->args.ptr + f->args.len;
    it->_left = f->argc;
    it->_inline = f->is_inline;
    it->_buf = buf;
    it->_cap = buf ? cap : 0;
    it->_used = 0;
}

int pf_resp_arg_next(pf_resp_iter *it, pf_slice *arg)
{
    if (it->_left == 0)
        return 0;
    if (it->_inline) {
        /* The line was checked whole by parse(): every word is good. */
        char *out = it->_buf ? it->_buf + it->_used : NULL;
        size_t room = it->_cap - it->_used;
        int copied = 0;
        const char *p = it->_p;
        if (inline_word(&p, it->_end, out, room, arg, &copied) <= 0)
            return -EINVAL; /* not a packet from parse() */
        if (copied) {
            if (arg->len > room)
                return -ENOSPC;
            it->_used += arg->len;
        }
        it->_p = p;
    } else {
        /* "$" canonical digits, CR, one byte, payload, two bytes: parse()
         * has checked all of it. */
        const char *p = it->_p + 1;
        size_t n = 0;
        while (*p != '\r')
            n = n * 10 + (size_t)(*p++ - '0');
        p += 2;
        *arg = (pf_slice){ p, n };
        it->_p = p + n + 2;
    }
    it->_left--;
    return 1;
}

ssize_t pf_resp_args(const pf_resp_fields *f, pf_slice *argv, size_t cap, char *buf,
                     size_t bufcap)
{
    pf_resp_iter it;
    size_t n = 0;
    int rc;
    if (f->argc > cap)
        return -ENOSPC;
    if (!f->is_inline) {
        /* pf_resp_arg_next's multibulk step, in one loop (MSET's 21
         * arguments made the calls show in profiles) */
        const char *p = f->args.ptr;
        for (; n < f->argc; n++) {
            size_t len = 0;
            for (p++; *p != '\r'; p++)
                len = len * 10 + (size_t)(*p - '0');
            p += 2;
            argv[n] = (pf_slice){ p, len };
            p += len + 2;
        }
        return (ssize_t)n;
    }
    pf_resp_iter_init(&it, f, buf, bufcap);
    while ((rc = pf_resp_arg_next(&it, &argv[n])) > 0)
        n++;
    return rc < 0 ? rc : (ssize_t)n;
}

#define PROTO_ERR(s) PF_SLICE_LIT("-ERR Protocol error: " s "\r\n")
#define DOLLAR(c) "-ERR Protocol error: expected '$', got '" c "'\r\n"
#define D(c) DOLLAR(c),

/* redis formats the byte with %c, then maps CR and LF to spaces. */
static const char dollar_err[256][sizeof(DOLLAR("x"))] = {
    D("\x00") D("\x01") D("\x02") D("\x03") D("\x04") D("\x05") D("\x06") D("\x07")
    D("\x08") D("\x09") D("\x20") D("\x0b") D("\x0c") D("\x20") D("\x0e") D("\x0f")
    D("\x10") D("\x11") D("\x12") D("\x13") D("\x14") D("\x15") D("\x16") D("\x17")
    D("\x18") D("\x19") D("\x1a") D("\x1b") D("\x1c") D("\x1d") D("\x1e") D("\x1f")
    D("\x20") D("\x21") D("\x22") D("\x23") D("\x24") D("\x25") D("\x26") D("\x27")
    D("\x28") D("\x29") D("\x2a") D("\x2b") D("\x2c") D("\x2d") D("\x2e") D("\x2f")
    D("\x30") D("\x31") D("\x32") D("\x33") D("\x34") D("\x35") D("\x36") D("\x37")
    D("\x38") D("\x39") D("\x3a") D("\x3b") D("\x3c") D("\x3d") D("\x3e") D("\x3f")
    D("\x40") D("\x41") D("\x42") D("\x43") D("\x44") D("\x45") D("\x46") D("\x47")
    D("\x48") D("\x49") D("\x4a") D("\x4b") D("\x4c") D("\x4d") D("\x4e") D("\x4f")
    D("\x50") D("\x51") D("\x52") D("\x53") D("\x54") D("\x55") D("\x56") D("\x57")
    D("\x58") D("\x59") D("\x5a") D("\x5b") D("\x5c") D("\x5d") D("\x5e") D("\x5f")
    D("\x60") D("\x61") D("\x62") D("\x63") D("\x64") D("\x65") D("\x66") D("\x67")
    D("\x68") D("\x69") D("\x6a") D("\x6b") D("\x6c") D("\x6d") D("\x6e") D("\x6f")
    D("\x70") D("\x71") D("\x72") D("\x73") D("\x74") D("\x75") D("\x76") D("\x77")
    D("\x78") D("\x79") D("\x7a") D("\x7b") D("\x7c") D("\x7d") D("\x7e") D("\x7f")
    D("\x80") D("\x81") D("\x82") D("\x83") D("\x84") D("\x85") D("\x86") D("\x87")
    D("\x88") D("\x89") D("\x8a") D("\x8b") D("\x8c") D("\x8d") D("\x8e") D("\x8f")
    D("\x90") D("\x91") D("\x92") D("\x93") D("\x94") D("\x95") D("\x96") D("\x97")
    D("\x98") D("\x99") D("\x9a") D("\x9b") D("\x9c") D("\x9d") D("\x9e") D("\x9f")
    D("\xa0") D("\xa1") D("\xa2") D("\xa3") D("\xa4") D("\xa5") D("\xa6") D("\xa7")
    D("\xa8") D("\xa9") D("\xaa") D("\xab") D("\xac") D("\xad") D("\xae") D("\xaf")
    D("\xb0") D("\xb1") D("\xb2") D("\xb3") D("\xb4") D("\xb5") D("\xb6") D("\xb7")
    D("\xb8") D("\xb9") D("\xba") D("\xbb") D("\xbc") D("\xbd") D("\xbe") D("\xbf")
    D("\xc0") D("\xc1") D("\xc2") D("\xc3") D("\xc4") D("\xc5") D("\xc6") D("\xc7")
    D("\xc8") D("\xc9") D("\xca") D("\xcb") D("\xcc") D("\xcd") D("\xce") D("\xcf")
    D("\xd0") D("\xd1") D("\xd2") D("\xd3") D("\xd4") D("\xd5") D("\xd6") D("\xd7")
    D("\xd8") D("\xd9") D("\xda") D("\xdb") D("\xdc") D("\xdd") D("\xde") D("\xdf")
    D("\xe0") D("\xe1") D("\xe2") D("\xe3") D("\xe4") D("\xe5") D("\xe6") D("\xe7")
    D("\xe8") D("\xe9") D("\xea") D("\xeb") D("\xec") D("\xed") D("\xee") D("\xef")
    D("\xf0") D("\xf1") D("\xf2") D("\xf3") D("\xf4") D("\xf5") D("\xf6") D("\xf7")
    D("\xf8") D("\xf9") D("\xfa") D("\xfb") D("\xfc") D("\xfd") D("\xfe") D("\xff")
};

static pf_slice resp_error_reply(const void *pp, int err)
{
    static const pf_slice mbulk_len = PROTO_ERR("invalid multibulk length");
    static const pf_slice bulk_len = PROTO_ERR("invalid bulk length");
    static const pf_slice quotes = PROTO_ERR("unbalanced quotes in request");
    static const pf_slice inline_big = PROTO_ERR("too big inline request");
    static const pf_slice mbulk_big = PROTO_ERR("too big mbulk count string");
    static const pf_slice bulk_big = PROTO_ERR("too big bulk count string");
    static const pf_slice none = { NULL, 0 };
    const resp_parser *rp = pp;
    switch (err) {
    case PF_RESP_EMBULK_LEN: return mbulk_len;
    case PF_RESP_EBULK_LEN: return bulk_len;
    case PF_RESP_EQUOTES: return quotes;
    case PF_RESP_EINLINE_BIG: return inline_big;
    case PF_RESP_EMBULK_BIG: return mbulk_big;
    case PF_RESP_EBULK_BIG: return bulk_big;
    case PF_RESP_EDOLLAR: {
        pf_slice s = { dollar_err[rp->got], sizeof(DOLLAR("x")) - 1 };
        return s;
    }
    default: return none; /* the runtime's input limit: close silently */
    }
}

const pf_protocol pf_resp_protocol = {
    .name = "resp",
    .events = &resp_events,
    .parser_size = sizeof(resp_parser),
    .fields_size = sizeof(pf_resp_fields),
    .parser_init = resp_parser_init,
    .parse = resp_parse,
    .error_reply = resp_error_reply,
    .busy_reply = { NULL, 0 },
    .full_reply = PF_SLICE_LIT("-ERR max number of clients reached\r\n"),
    .at_rest = resp_at_rest,
};
