/* SMTP (see smtp.h for the commands, limits and the DATA policy).
 *
 * Two grammars, one parser.  In command mode a line is framed with memchr
 * and its words are checked by the Ragel machines of smtp_grammar.rl.  In
 * data mode (after 354) a small byte machine, written out below because
 * every state of it matters for SMTP smuggling, finds CRLF line ends, dots
 * at line starts, bare CR and LF, over-long lines and the one terminator
 * CRLF "." CRLF, resuming at any split.  Between the two, after a DATA
 * command, the parser waits for the handler's verdict
 * (pf_smtp_parser_data), because only the handler knows whether 354 was
 * sent.
 *
 * The session machine reads the way RFC 5321 3.3 and 4.1.4 read: greeting,
 * HELO/EHLO, one MAIL, one or more RCPT, DATA, back to GREETED; RSET and a
 * new EHLO end a transaction from anywhere; anything else is out of
 * sequence and the default row answers 503.
 *
 *            EHLO/HELO            MAIL               RCPT           DATA (354)
 * CONNECTED -----------> GREETED ------> MAIL ---------> RCPT ----------> DATA
 *   ^  |                   ^  ^                           | RCPT (stay)     | DATA_CHUNK (stay)
 *   |  | RSET (stay)       |  +--- RSET, EHLO, HELO from MAIL, RCPT --+     |
 *   +--+                   +------------- DATA_END (250/550/552) -----------+
 *
 *   any state: QUIT -> DONE (221), TIMEOUT -> DONE (421 4.4.2), DRAIN -> DONE
 *   (421 4.3.2), CLOSE -> DONE; NOOP, VRFY, HELP, unknown (500), syntax
 *   (501/500), over-long line (500) stay; everything else: 503 5.5.1.
 *   `make diagrams` renders build/gen/smtp.svg from this table. */

/* @fsm
protocol smtp
events  HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP
events  UNKNOWN SYNTAX LONG SKIP DATA_CHUNK DATA_END
@end */
#include <errno.h>
#include <string.h>

#include "smtp.h"
#include "smtp_events.h"

enum { MODE_CMD, MODE_SKIP, MODE_WAIT, MODE_DATA };
/* Data-mode states: line start, "." at line start, "." CR at line start,
 * inside a line, CR inside a line. */
enum { D_LS, D_DOT, D_DOTCR, D_MID, D_CR };

struct pf_smtp_parser {
    const pf_smtp_conf *conf;
    uint8_t mode;
    uint8_t dstate;
    uint8_t bad;        /* PF_SMTP_BAD_* of the message so far */
    uint8_t stuffed;    /* a line of this packet began with a stuffing '.' */
    uint8_t start_ls;   /* the packet in progress begins at a line start */
    size_t scanned;     /* bytes of the packet in progress examined */
    size_t line_len;    /* data: octets of the current line so far */
};

static const pf_smtp_conf default_conf;

static size_t cmd_limit(const pf_smtp_conf *c)
{
    return c->max_cmd_line ? c->max_cmd_line : PF_SMTP_CMD_LINE_DEFAULT;
}

static size_t text_limit(const pf_smtp_conf *c)
{
    return c->max_text_line ? c->max_text_line : PF_SMTP_TEXT_LINE_DEFAULT;
}

/* ---- command words (smtp_grammar.rl) --------------------------------- */

%%{
    machine smtp_verb;
    action v_helo { ev = SMTP_EV_HELO; }
    action v_ehlo { ev = SMTP_EV_EHLO; }
    action v_mail { ev = SMTP_EV_MAIL; }
    action v_rcpt { ev = SMTP_EV_RCPT; }
    action v_data { ev = SMTP_EV_DATA; }
    action v_rset { ev = SMTP_EV_RSET; }
    action v_noop { ev = SMTP_EV_NOOP; }
    action v_quit { ev = SMTP_EV_QUIT; }
    action v_vrfy { ev = SMTP_EV_VRFY; }
    action v_help { ev = SMTP_EV_HELP; }
    action path_start {}
    action path_end {}
    action param_start {}
    action param_end {}
    include smtp_grammar "smtp_grammar.rl";
    main := verb;
    write data noerror nofinal noentry;
}%%

static uint16_t classify_verb(const char *w, size_t n)
{
    const char *p = w, *pe = w + n, *eof = pe;
    uint16_t ev = SMTP_EV_UNKNOWN;
    int cs;
    %% write init;
    %% write exec;
    (void)eof;
    return ev;
}

/* One MAIL/RCPT parameter "KEY[=VALUE]".  SIZE and BODY are known to MAIL
 * (RFC 1870, 6152); anything else is noted for a 555. */
static int eq_ci(const char *a, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n != l)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

static int take_param(pf_smtp_fields *f, int is_mail, const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    size_t kl = eq ? (size_t)(eq - s) : n;
    const char *v = eq ? eq + 1 : NULL;
    size_t vl = eq ? n - kl - 1 : 0;

    if (is_mail && eq_ci(s, kl, "SIZE")) {
        uint64_t x = 0;
        if (!v || vl == 0 || vl > 20)
            return -1;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                return -1;
            unsigned d = (unsigned)(v[i] - '0');
            if (x > (UINT64_MAX - d) / 10)
                return -1;
            x = x * 10 + d;
        }
        f->size = x;
        return 0;
    }
    if (is_mail && eq_ci(s, kl, "BODY")) {
        if (v && eq_ci(v, vl, "8BITMIME"))
            f->body8 = 1;
        else if (!v || !eq_ci(v, vl, "7BIT"))
            return -1;
        return 0;
    }
    f->unknown_param = 1;
    return 0;
}

%%{
    machine smtp_path;
    action v_helo {}
    action v_ehlo {}
    action v_mail {}
    action v_rcpt {}
    action v_data {}
    action v_rset {}
    action v_noop {}
    action v_quit {}
    action v_vrfy {}
    action v_help {}
    action path_start { ps = p; }
    action path_end { pe_ = p; }
    action param_start { qs = p; }
    action param_end { if (take_param(f, is_mail, qs, (size_t)(p - qs)) < 0) bad_param = 1; }
    include smtp_grammar "smtp_grammar.rl";
    # The two begin differently ("from:", "to:"); parse_path checks that
    # the one matched belongs to the verb.
    main := mail_args | rcpt_args;
    write data noerror noentry;
}%%

/* MAIL/RCPT arguments: path and parameters.  0, or the SYNTAX reason. */
static int parse_path(const char *a, size_t n, int is_mail, pf_smtp_fields *f)
{
    const char *p = a, *pe = a + n, *eof = pe;
    const char *ps = NULL, *pe_ = NULL, *qs = a;
    int bad_param = 0;
    int cs;

    if (n == 0 || (a[0] | 0x20) != (is_mail ? 'f' : 't'))
        return PF_SMTP_SYN_PATH;
    %% write init;
    %% write exec;
    (void)eof;
    if (cs < smtp_path_first_final || p != pe)
        return PF_SMTP_SYN_PATH;
    if (bad_param)
        return PF_SMTP_SYN_PARAM;
    if (ps && pe_) {
        if ((size_t)(pe_ - ps) + 2 > PF_SMTP_PATH_MAX)
            return PF_SMTP_SYN_PATH;
        f->path.ptr = ps;
        f->path.len = (size_t)(pe_ - ps);
    } else {
        f->path.ptr = a;
        f->path.len = 0;
    }
    return 0;
}

%%{
    machine smtp_helo;
    action v_helo {}
    action v_ehlo {}
    action v_mail {}
    action v_rcpt {}
    action v_data {}
    action v_rset {}
    action v_noop {}
    action v_quit {}
    action v_vrfy {}
    action v_help {}
    action path_start {}
    action path_end {}
    action param_start {}
    action param_end {}
    include smtp_grammar "smtp_grammar.rl";
    main := helo_arg;
    write data noerror noentry;
}%%

/* Is the HELO/EHLO argument a Domain or an address literal (4.1.1.1), of
 * at most 255 octets (4.5.3.1.2)?  Checked here, not left to the service:
 * it is the command's grammar, as MAIL's path is, and the argument goes
 * on into the reply and the stored Received: header of any service. */
static int helo_ok(const char *a, size_t n)
{
    const char *p = a, *pe = a + n, *eof = pe;
    int cs;
    if (n > 255)
        return 0;
    %% write init;
    %% write exec;
    (void)eof;
    return p == pe && cs >= smtp_helo_first_final;
}

static void trim(const char **s, size_t *n)
{
    while (*n && **s == ' ') {
        (*s)++;
        (*n)--;
    }
    while (*n && (*s)[*n - 1] == ' ')
        (*n)--;
}

/* Classify a whole command line (CRLF removed) into out. */
static void command(const char *line, size_t n, pf_packet *out)
{
    pf_smtp_fields *f = out->fields;
    const char *sp = memchr(line, ' ', n);
    size_t wl = sp ? (size_t)(sp - line) : n;
    const char *a = sp ? sp + 1 : line + n;
    size_t al = sp ? n - wl - 1 : 0;
    uint16_t ev = classify_verb(line, wl);
    int syn = 0;

    f->verb.ptr = line;
    f->verb.len = wl;
    trim(&a, &al);
    f->arg.ptr = a;
    f->arg.len = al;
    switch (ev) {
    case SMTP_EV_HELO:
    case SMTP_EV_EHLO:
        if (!helo_ok(a, al))
            syn = PF_SMTP_SYN_ARGS;
        break;
    case SMTP_EV_VRFY: /* a user name may have spaces (4.1.1.6) */
        if (al == 0)
            syn = PF_SMTP_SYN_ARGS;
        break;
    case SMTP_EV_MAIL:
    case SMTP_EV_RCPT:
        syn = parse_path(a, al, ev == SMTP_EV_MAIL, f);
        break;
    case SMTP_EV_DATA:
    case SMTP_EV_RSET:
    case SMTP_EV_QUIT:
        if (al)
            syn = PF_SMTP_SYN_ARGS;
        break;
    default:
        break;
    }
    if (memchr(line, '\0', n))
        syn = PF_SMTP_SYN_ARGS;
    if (syn) {
        f->syntax = (uint8_t)syn;
        ev = SMTP_EV_SYNTAX;
    }
    out->event = ev;
}

/* ---- framing ----------------------------------------------------------- */

static void smtp_parser_init(void *pp, const void *conf)
{
    pf_smtp_parser *sp = pp;
    memset(sp, 0, sizeof(*sp));
    sp->conf = conf ? conf : &default_conf;
}

static ssize_t packet(pf_packet *out, const char *buf, size_t n, uint16_t ev)
{
    out->event = ev;
    out->raw.ptr = buf;
    out->raw.len = n;
    return (ssize_t)n;
}

static ssize_t parse_command(pf_smtp_parser *sp, const char *buf, size_t len, pf_packet *out)
{
    size_t limit = cmd_limit(sp->conf);
    size_t window = len < limit ? len : limit;
    const char *nl = NULL;

    if (sp->mode == MODE_SKIP) {
        /* The tail of an over-long line: dropped up to and with its LF. */
        nl = memchr(buf, '\n', len);
        if (nl)
            sp->mode = MODE_CMD;
        return packet(out, buf, nl ? (size_t)(nl - buf) + 1 : len, SMTP_EV_SKIP);
    }
    if (sp->scanned < window)
        nl = memchr(buf + sp->scanned, '\n', window - sp->scanned);
    if (!nl) {
        if (len < limit) {
            sp->scanned = len;
            return -EAGAIN;
        }
        /* 4.5.3.1.4: over 512 octets.  Answer once (LONG), then drop the
         * rest of the line without buffering it. */
        sp->scanned = 0;
        nl = memchr(buf + limit, '\n', len - limit);
        if (!nl)
            sp->mode = MODE_SKIP;
        return packet(out, buf, nl ? (size_t)(nl - buf) + 1 : len, SMTP_EV_LONG);
    }
    size_t end = (size_t)(nl - buf);
    sp->scanned = 0;
    packet(out, buf, end + 1, SMTP_EV_SYNTAX);
    pf_smtp_fields *f = out->fields;
    /* 2.3.8: lines end in CRLF; a bare LF or CR is not a line end here. */
    if (end == 0 || buf[end - 1] != '\r' || memchr(buf, '\r', end - 1)) {
        f->syntax = PF_SMTP_SYN_BARE_LF;
        return (ssize_t)(end + 1);
    }
    command(buf, end - 1, out);
    if (out->event == SMTP_EV_DATA)
        sp->mode = MODE_WAIT;
    return (ssize_t)(end + 1);
}

/* Data mode: scan from sp->scanned and return a DATA_END packet at the
 * terminator, else a DATA_CHUNK of everything scanned, or -EAGAIN.
 *
 * A chunk may end anywhere in a line (so nothing waits in the input buffer
 * for a line end, and the request deadline sees each read complete) except
 * inside a possible terminator: a "." or "." CR at a line start is held for
 * the next packet, so DATA_END always holds its whole "." CRLF line and the
 * dot of a stuffed line is in the packet that learns it is one. */
static ssize_t parse_data(pf_smtp_parser *sp, const char *buf, size_t len, pf_packet *out)
{
    pf_smtp_fields *f = out->fields;
    size_t i = sp->scanned, maxl = text_limit(sp->conf);
    unsigned st = sp->dstate;

    f->at_line_start = sp->start_ls;
    while (i < len) {
        char c = buf[i++];
        sp->line_len++;
        switch (st) {
        case D_LS:
            st = c == '.' ? D_DOT : c == '\r' ? D_CR : D_MID;
            if (c == '\n')
                sp->bad |= PF_SMTP_BAD_BARE;
            break;
        case D_DOT:
            if (c == '\r') {
                st = D_DOTCR;
                break;
            }
            sp->stuffed = 1; /* a text line that begins with '.' */
            st = D_MID;
            if (c == '\n')
                sp->bad |= PF_SMTP_BAD_BARE;
            break;
        case D_DOTCR:
            if (c == '\n') {
                /* CRLF "." CRLF: the end.  Text is everything before the
                 * "." line, which began at a line start. */
                f->text.ptr = buf;
                f->text.len = i - 3;
                f->bad = sp->bad;
                f->stuffed = sp->stuffed;
                sp->mode = MODE_CMD;
                sp->scanned = 0;
                return packet(out, buf, i, SMTP_EV_DATA_END);
            }
            sp->bad |= PF_SMTP_BAD_BARE; /* ".\r" then not LF */
            sp->stuffed = 1;
            st = c == '\r' ? D_CR : D_MID;
            break;
        case D_MID:
            if (c == '\r')
                st = D_CR;
            else if (c == '\n')
                sp->bad |= PF_SMTP_BAD_BARE;
            else {
                /* the common case: run to the next CR or LF */
                while (i < len && buf[i] != '\r' && buf[i] != '\n') {
                    i++;
                    sp->line_len++;
                }
            }
            break;
        case D_CR:
            if (c == '\n') {
                if (sp->line_len > maxl)
                    sp->bad |= PF_SMTP_BAD_LONG;
                sp->line_len = 0;
                st = D_LS;
            } else {
                sp->bad |= PF_SMTP_BAD_BARE;
                st = c == '\r' ? D_CR : D_MID;
            }
            break;
        }
        if (sp->line_len > maxl)
            sp->bad |= PF_SMTP_BAD_LONG;
    }
    sp->dstate = (uint8_t)st;
    size_t hold = st == D_DOT ? 1 : st == D_DOTCR ? 2 : 0;
    size_t n = i - hold;
    if (n == 0) {
        sp->scanned = i;
        return -EAGAIN;
    }
    f->text.ptr = buf;
    f->text.len = n;
    f->bad = sp->bad;
    f->stuffed = sp->stuffed;
    sp->stuffed = 0;
    sp->scanned = hold;
    sp->start_ls = st == D_LS || hold;
    return packet(out, buf, n, SMTP_EV_DATA_CHUNK);
}

static ssize_t smtp_parse(void *pp, const char *buf, size_t len, pf_packet *out)
{
    pf_smtp_parser *sp = pp;
    pf_smtp_fields *f = out->fields;

    if (len == 0 || sp->mode == MODE_WAIT)
        return -EAGAIN;
    memset(f, 0, sizeof(*f));
    f->parser = sp;
    f->conf = sp->conf;
    if (sp->mode == MODE_DATA)
        return parse_data(sp, buf, len, out);
    return parse_command(sp, buf, len, out);
}

/* Between commands nothing carries over; DATA's wait for the handler and
 * the data that follows, and the tail of an over-long line, do. */
static int smtp_at_rest(const void *pp)
{
    const pf_smtp_parser *sp = pp;
    return sp->mode == MODE_CMD && sp->scanned == 0;
}

void pf_smtp_parser_data(pf_smtp_parser *sp, int accepted)
{
    if (sp->mode != MODE_WAIT)
        return;
    sp->mode = accepted ? MODE_DATA : MODE_CMD;
    sp->dstate = D_LS;
    sp->bad = sp->stuffed = 0;
    sp->start_ls = 1;
    sp->scanned = sp->line_len = 0;
}

#define LIT(s) { s, sizeof(s) - 1 }

static pf_slice smtp_error_reply(const void *pp, int err)
{
    static const pf_slice too_long = LIT("500 5.5.2 Line too long\r\n");
    static const pf_slice bad = LIT("500 5.5.2 Syntax error\r\n");
    (void)pp;
    return err == -EMSGSIZE ? too_long : bad;
}

const pf_protocol pf_smtp_protocol = {
    .name = "smtp",
    .events = &smtp_events,
    .parser_size = sizeof(pf_smtp_parser),
    .fields_size = sizeof(pf_smtp_fields),
    .parser_init = smtp_parser_init,
    .parse = smtp_parse,
    .error_reply = smtp_error_reply,
    /* No busy reply: every packet must reach its handler (a DATA left
     * unanswered would hold the parser, a chunk would be lost). */
    .busy_reply = { NULL, 0 },
    .full_reply = LIT("421 4.3.2 Too many connections, try again later\r\n"),
    .at_rest = smtp_at_rest,
};
