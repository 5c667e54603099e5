/* The maildir service: SMTP's default table (protocols/smtp.fsm) with
 * handlers that store each message in a Maildir (maildir.h).
 *
 * A message goes to DIR/tmp/NAME as it arrives (DATA_CHUNK), is fsynced,
 * renamed to DIR/new/NAME and DIR/new is fsynced, all in the handler of
 * DATA_END, which runs on a worker; only then is 250 queued.  A connection
 * that dies before that leaves at most a file in tmp/ (removed by the CLOSE
 * handler when the process lives on; Maildir readers ignore tmp/, and
 * pf_maildir_prepare removes such files at the next start once they are 36
 * hours old). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "maildir/maildir.h"
#include "smtp.h"
#include "smtp_fsm.h"

#define LIT(s) { s, sizeof(s) - 1 }

SMTP_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(SMTP_HANDLERS);
const pf_service pf_maildir_service = { &pf_smtp_protocol, &smtp_fsm, handlers };
#define NAME_MAX_ 256

/* A transaction's names: held from MAIL until it ends, so a connection
 * between transactions (most idle ones) does not carry 770 bytes of them. */
/* A transaction's state, from MAIL to its end: a connection between
 * transactions (most of them, and every idle one) holds none of it. */
typedef struct smtp_paths {
    int fd;                                  /* the message in tmp/, or -1 */
    int io_err;                              /* first write/fsync errno */
    uint64_t size;                           /* octets of text (unstuffed) */
    unsigned nrcpt;
    uint8_t too_big;
    char from[PF_SMTP_PATH_MAX + 1];
    char rcpt[PF_SMTP_PATH_MAX + 1];         /* the first recipient */
    char name[NAME_MAX_];                    /* Maildir file name */
} smtp_paths;

/* The connection's, for its whole life: kept small.  The peer's address
 * for the Received: header is asked for when a message begins. */
typedef struct smtp_sess {
    const pf_smtp_conf *conf;
    const pf_maildir *md;
    char *helo;                              /* HELO/EHLO's argument, its size */
    smtp_paths *tx;                          /* from MAIL to the end of the transaction */
    uint8_t esmtp;
} smtp_sess;

/* ---- identity ------------------------------------------------------------ */

static char hostname_buf[256];
static pthread_once_t hostname_once = PTHREAD_ONCE_INIT;

static void hostname_init(void)
{
    if (gethostname(hostname_buf, sizeof(hostname_buf) - 1) < 0 || !hostname_buf[0])
        strcpy(hostname_buf, "localhost");
}

/* The listener's mail store; a listener without one is a sink. */
static const pf_maildir *store_of(pf_session *s)
{
    static const pf_maildir sink;
    const pf_maildir *md = pf_session_listener_data(s);
    return md ? md : &sink;
}

static const char *hostname(const pf_maildir *md)
{
    if (md->hostname)
        return md->hostname;
    pthread_once(&hostname_once, hostname_init);
    return hostname_buf;
}

/* ---- helpers ------------------------------------------------------------- */

static const pf_smtp_fields *fields(const pf_packet *pkt) { return pkt->fields; }

static smtp_sess *sess(pf_session *s, const pf_packet *pkt)
{
    smtp_sess *t = pf_session_data(s);
    if (t && pkt && pkt->fields)
        t->conf = fields(pkt)->conf;
    return t;
}

static int reply(pf_session *s, const char *text, int result)
{
    int rc = pf_reply_str(s, text);
    return rc < 0 ? rc : result;
}

/* A NUL-terminated copy of text bound for a stored header line, where a
 * CTL, DEL or non-ASCII byte could end the line early, forge a header or
 * drive the terminal of whoever reads the file: such a byte becomes '?'.
 * The protocol's grammar already admits none in the HELO/EHLO argument or
 * a path; this keeps the header clean whatever the text's source (the
 * configured host name too) and whatever grammar a future command has. */
static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    dst[n] = 0;
}

static void copy_slice(char *dst, size_t cap, pf_slice v)
{
    copy_text(dst, cap, v.ptr, v.len);
}

static uint64_t max_message(const pf_smtp_conf *c)
{
    return c->max_message ? c->max_message : PF_SMTP_MESSAGE_DEFAULT;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int path_in(char *buf, size_t cap, const char *dir, const char *sub, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s%s%s", dir, sub, name ? "/" : "", name ? name : "");
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Drop the message being received, if any. */
static void discard(smtp_sess *t)
{
    smtp_paths *tx = t->tx;
    char p[PATH_MAX];
    if (!tx)
        return;
    if (tx->fd >= 0) {
        close(tx->fd);
        tx->fd = -1;
        if (t->md->dir && path_in(p, sizeof(p), t->md->dir, "tmp", tx->name) == 0)
            unlink(p);
    }
    tx->size = 0;
    tx->too_big = 0;
    tx->io_err = 0;
}

/* RSET semantics (4.1.1.5): the transaction is gone, the greeting stays. */
static void reset(smtp_sess *t)
{
    discard(t);
    free(t->tx);
    t->tx = NULL;
}

/* HELO/EHLO: its argument, kept at its own size (the greeting stays for
 * the connection's life).  0 or -ENOMEM. */
static int set_helo(smtp_sess *t, pf_slice arg)
{
    size_t n = arg.len < PF_SMTP_PATH_MAX ? arg.len : PF_SMTP_PATH_MAX;
    char *h = malloc(n + 1);
    if (!h)
        return -ENOMEM;
    copy_text(h, n + 1, arg.ptr, arg.len);
    free(t->helo);
    t->helo = h;
    return 0;
}

/* Append message text; counts what a stored copy would hold. */
static void store(smtp_sess *t, const char *p, size_t n)
{
    smtp_paths *tx = t->tx;
    if (!tx || tx->too_big || tx->io_err || n == 0)
        return;
    if (n > max_message(t->conf) - tx->size) {
        tx->too_big = 1;
        return;
    }
    tx->size += n;
    if (tx->fd >= 0) {
        int rc = write_all(tx->fd, p, n);
        if (rc < 0)
            tx->io_err = -rc;
    }
}

/* Store text, removing the '.' that begins a line (4.5.2). */
static void store_text(smtp_sess *t, const pf_smtp_fields *f)
{
    const char *p = f->text.ptr, *end = p + f->text.len, *seg = p;
    if (f->bad) /* refused at DATA_END; its text is never kept */
        return;
    if (!f->stuffed) {
        store(t, p, f->text.len);
        return;
    }
    if (!f->at_line_start) {
        const char *nl = memchr(p, '\n', f->text.len);
        p = nl ? nl + 1 : end;
    }
    while (p < end) {
        /* p is at a line start */
        if (*p == '.') {
            store(t, seg, (size_t)(p - seg));
            seg = p + 1;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    store(t, seg, (size_t)(end - seg));
}

/* ---- connection events --------------------------------------------------- */

/* The client's address as an RFC 5321 4.1.3 address literal, for the
 * Received: header's TCP-info (4.4); empty when there is none (a session
 * driven by hand). */
static void peer_literal(pf_session *s, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char a[INET6_ADDRSTRLEN];
    out[0] = 0;
    if (pf_session_peer(s, &ss, &sl) < 0)
        return;
    if (ss.ss_family == AF_INET &&
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a)))
        snprintf(out, len, "[%s]", a);
    else if (ss.ss_family == AF_INET6 &&
             inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a)))
        snprintf(out, len, "[IPv6:%s]", a);
}

static int smtp_on_open(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    smtp_sess *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->md = store_of(s);
    pf_session_set_data(s, t);
    const char *host = hostname(t->md);
    pf_slice parts[] = { LIT("220 "), { host, strlen(host) },
                         LIT(" ESMTP protofsm\r\n") };
    int rc = pf_replyv(s, parts, 3);
    return rc < 0 ? rc : PF_NEXT;
}

static int smtp_on_close(pf_session *s, const pf_packet *pkt)
{
    smtp_sess *t = sess(s, pkt);
    if (t) {
        reset(t);
        free(t->helo);
        free(t);
        pf_session_set_data(s, NULL);
    }
    return PF_NEXT;
}

static int smtp_on_timeout(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    const char *host = hostname(store_of(s));
    pf_slice parts[] = { LIT("421 4.4.2 "), { host, strlen(host) },
                         LIT(" Timeout, closing connection\r\n") };
    int rc = pf_replyv(s, parts, 3);
    return rc < 0 ? rc : PF_CLOSE;
}

static int smtp_on_drain(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    const char *host = hostname(store_of(s));
    pf_slice parts[] = { LIT("421 4.3.2 "), { host, strlen(host) },
                         LIT(" Service shutting down\r\n") };
    int rc = pf_replyv(s, parts, 3);
    return rc < 0 ? rc : PF_CLOSE;
}

/* ---- commands ------------------------------------------------------------ */

static int smtp_on_ehlo(pf_session *s, const pf_packet *pkt)
{
    smtp_sess *t = sess(s, pkt);
    char size[64];
    reset(t);
    if (set_helo(t, fields(pkt)->arg) < 0)
        return -ENOMEM;
    t->esmtp = 1;
    snprintf(size, sizeof(size), "250-SIZE %llu\r\n",
             (unsigned long long)max_message(t->conf));
    const char *host = hostname(t->md);
    pf_slice parts[] = {
        LIT("250-"), { host, strlen(host) }, LIT(" greets "),
        fields(pkt)->arg, LIT("\r\n250-PIPELINING\r\n"), { size, strlen(size) },
        LIT("250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n"),
    };
    int rc = pf_replyv(s, parts, 7);
    return rc < 0 ? rc : PF_NEXT;
}

static int smtp_on_helo(pf_session *s, const pf_packet *pkt)
{
    smtp_sess *t = sess(s, pkt);
    reset(t);
    if (set_helo(t, fields(pkt)->arg) < 0)
        return -ENOMEM;
    t->esmtp = 0;
    const char *host = hostname(t->md);
    pf_slice parts[] = { LIT("250 "), { host, strlen(host) },
                         LIT("\r\n") };
    int rc = pf_replyv(s, parts, 3);
    return rc < 0 ? rc : PF_NEXT;
}

static int smtp_on_rset(pf_session *s, const pf_packet *pkt)
{
    reset(sess(s, pkt));
    return reply(s, "250 2.0.0 Ok\r\n", PF_NEXT);
}

static int smtp_on_noop(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return reply(s, "250 2.0.0 Ok\r\n", PF_NEXT);
}

static int smtp_on_vrfy(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n",
                 PF_NEXT);
}

static int smtp_on_help(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n",
                 PF_NEXT);
}

static int smtp_on_quit(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return reply(s, "221 2.0.0 Bye\r\n", PF_NEXT); /* DONE is final: closes after it */
}

static int smtp_on_unknown(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return reply(s, "500 5.5.1 Command unrecognized\r\n", PF_NEXT);
}

static int smtp_on_syntax(pf_session *s, const pf_packet *pkt)
{
    const pf_smtp_fields *f = fields(pkt);
    switch (f->syntax) {
    case PF_SMTP_SYN_BARE_LF:
        return reply(s, "500 5.5.2 Syntax error: lines must end in CRLF\r\n", PF_NEXT);
    case PF_SMTP_SYN_PATH:
        if (f->verb.len == 4 && (f->verb.ptr[0] | 0x20) == 'm')
            return reply(s, "501 5.1.7 Bad sender address syntax\r\n", PF_NEXT);
        return reply(s, "501 5.1.3 Bad recipient address syntax\r\n", PF_NEXT);
    default:
        return reply(s, "501 5.5.4 Syntax error in parameters or arguments\r\n", PF_NEXT);
    }
}

static int smtp_on_long(pf_session *s, const pf_packet *pkt)
{
    (void)pkt;
    return reply(s, "500 5.5.2 Line too long\r\n", PF_NEXT);
}

static int smtp_on_bad_sequence(pf_session *s, const pf_packet *pkt)
{
    const pf_smtp_fields *f = fields(pkt);
    if (pkt->event == SMTP_EV_DATA)
        pf_smtp_parser_data(f->parser, 0);
    return reply(s, "503 5.5.1 Bad sequence of commands\r\n", PF_NEXT);
}

static int smtp_on_mail(pf_session *s, const pf_packet *pkt)
{
    smtp_sess *t = sess(s, pkt);
    const pf_smtp_fields *f = fields(pkt);
    if (f->unknown_param)
        return reply(s, "555 5.5.4 MAIL FROM parameter not recognized\r\n", PF_STAY);
    if (f->size > max_message(t->conf))
        return reply(s, "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
                     PF_STAY);
    reset(t);
    if (!(t->tx = calloc(1, sizeof(*t->tx))))
        return -ENOMEM;
    t->tx->fd = -1;
    copy_slice(t->tx->from, sizeof(t->tx->from), f->path);
    return reply(s, "250 2.1.0 Ok\r\n", PF_NEXT);
}

static int domain_ok(const pf_maildir *c, pf_slice path)
{
    const char *at;
    if (!c->domains)
        return 1;
    at = memrchr(path.ptr, '@', path.len);
    if (!at)
        return 1; /* <postmaster> */
    size_t dl = path.len - (size_t)(at + 1 - path.ptr);
    for (const char *const *d = c->domains; *d; d++)
        if (strlen(*d) == dl && strncasecmp(*d, at + 1, dl) == 0)
            return 1;
    return 0;
}

static int smtp_on_rcpt(pf_session *s, const pf_packet *pkt)
{
    smtp_sess *t = sess(s, pkt);
    const pf_smtp_fields *f = fields(pkt);
    unsigned max = t->conf->max_rcpt ? t->conf->max_rcpt : PF_SMTP_RCPT_DEFAULT;
    if (f->unknown_param)
        return reply(s, "555 5.5.4 RCPT TO parameter not recognized\r\n", PF_STAY);
    if (t->tx && t->tx->nrcpt >= max)
        return reply(s, "452 4.5.3 Too many recipients\r\n", PF_STAY);
    if (!domain_ok(t->md, f->path))
        return reply(s, "550 5.1.2 Recipient domain not accepted here\r\n", PF_STAY);
    if (!t->tx) /* the table asks MAIL first; a table that does not gets its 503 */
        return reply(s, "503 5.5.1 Bad sequence of commands\r\n", PF_STAY);
    if (t->tx->nrcpt++ == 0)
        copy_slice(t->tx->rcpt, sizeof(t->tx->rcpt), f->path);
    return reply(s, "250 2.1.5 Ok\r\n", PF_NEXT);
}

/* ---- the message --------------------------------------------------------- */

static atomic_ulong seq;

/* Open tmp/NAME and write the trace headers.  0 or -errno. */
static int begin_message(pf_session *s, smtp_sess *t)
{
    smtp_paths *tx = t->tx;
    /* hdr: room for the longest of every part (HELO 255, two paths of
     * 256, the host 255), so the trace headers are never dropped. */
    char path[PATH_MAX], hdr[2048], date[64], host[256], peer[INET6_ADDRSTRLEN + 8];
    struct timeval tv;
    struct tm tm;
    unsigned long q = atomic_fetch_add(&seq, 1);
    int n, rc;

    gettimeofday(&tv, NULL);
    /* Maildir unique name: time, microseconds, pid, a per-process counter,
     * and the host with '/' and ':' replaced (they are special there). */
    copy_text(host, sizeof(host), hostname(t->md), strlen(hostname(t->md)));
    if (!tx) /* DATA without MAIL: the table answers 503 before this */
        return -EPROTO;
    n = snprintf(tx->name, sizeof(tx->name), "%lld.M%06ldP%ldQ%lu.", (long long)tv.tv_sec,
                 (long)tv.tv_usec, (long)getpid(), q);
    for (const char *h = host; *h && (size_t)n < sizeof(tx->name) - 1; h++)
        tx->name[n++] = *h == '/' ? '\\' : *h == ':' ? '-' : *h;
    tx->name[n] = 0;
    tx->size = 0;
    tx->too_big = 0;
    tx->io_err = 0;
    if (!t->md->dir)
        return 0; /* a sink */
    rc = path_in(path, sizeof(path), t->md->dir, "tmp", tx->name);
    if (rc < 0)
        return rc;
    tx->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (tx->fd < 0)
        return -errno;
    peer_literal(s, peer, sizeof(peer));
    gmtime_r(&tv.tv_sec, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    n = snprintf(hdr, sizeof(hdr),
                 "Return-Path: <%s>\r\n"
                 "Received: from %s%s%s%s\r\n\tby %s (protofsm smtpd) with %s id %lu\r\n"
                 "\tfor <%s>; %s\r\n",
                 tx->from, t->helo ? t->helo : "", peer[0] ? " (" : "", peer,
                 peer[0] ? ")" : "", host, t->esmtp ? "ESMTP" : "SMTP", q, tx->rcpt, date);
    if (n < 0 || (size_t)n >= sizeof(hdr))
        n = 0;
    rc = write_all(tx->fd, hdr, (size_t)n);
    if (rc < 0) {
        discard(t);
        return rc;
    }
    return 0;
}

/* fsync, rename into new/, fsync new/.  0 or -errno (the file is gone). */
static int commit_message(smtp_sess *t)
{
    char from[PATH_MAX], to[PATH_MAX], dir[PATH_MAX];
    int rc = 0, dfd;

    if (!t->tx || t->tx->fd < 0)
        return 0; /* a sink */
    if (!t->md->no_fsync && fsync(t->tx->fd) < 0)
        rc = -errno;
    if (close(t->tx->fd) < 0 && rc == 0)
        rc = -errno;
    t->tx->fd = -1;
    if (rc == 0 && (path_in(from, sizeof(from), t->md->dir, "tmp", t->tx->name) < 0 ||
                    path_in(to, sizeof(to), t->md->dir, "new", t->tx->name) < 0 ||
                    path_in(dir, sizeof(dir), t->md->dir, "new", NULL) < 0))
        rc = -ENAMETOOLONG;
    if (rc == 0 && rename(from, to) < 0)
        rc = -errno;
    if (rc < 0) {
        if (path_in(from, sizeof(from), t->md->dir, "tmp", t->tx->name) == 0)
            unlink(from);
        return rc;
    }
    if (!t->md->no_fsync) {
        /* The rename is durable only once the directory is. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return -errno;
        if (fsync(dfd) < 0)
            rc = -errno;
        close(dfd);
    }
    return rc;
}

static const char *storage_error(int err)
{
    return err == ENOSPC || err == EDQUOT ? "452 4.3.1 Insufficient system storage\r\n"
                                          : "451 4.3.0 Local error in processing\r\n";
}

static int smtp_on_data(pf_session *s, const pf_packet *pkt)
{
    smtp_sess *t = sess(s, pkt);
    int rc = begin_message(s, t);
    if (rc < 0) {
        pf_smtp_parser_data(fields(pkt)->parser, 0);
        return reply(s, storage_error(-rc), PF_STAY);
    }
    pf_smtp_parser_data(fields(pkt)->parser, 1);
    return reply(s, "354 End data with <CR><LF>.<CR><LF>\r\n", PF_NEXT);
}

static int smtp_on_chunk(pf_session *s, const pf_packet *pkt)
{
    store_text(sess(s, pkt), fields(pkt));
    return PF_NEXT;
}

static int smtp_on_data_end(pf_session *s, const pf_packet *pkt)
{
    smtp_sess *t = sess(s, pkt);
    const pf_smtp_fields *f = fields(pkt);
    const char *r = NULL;

    store_text(t, f);
    if (f->bad & PF_SMTP_BAD_BARE)
        r = "550 5.5.2 Message contains bare CR or LF (lines must end in CRLF)\r\n";
    else if (f->bad & PF_SMTP_BAD_LONG)
        r = "500 5.5.2 Message line too long\r\n";
    else if (t->tx && t->tx->too_big)
        r = "552 5.3.4 Message size exceeds fixed maximum message size\r\n";
    else if (t->tx && t->tx->io_err)
        r = storage_error(t->tx->io_err);
    if (!r) {
        int rc = commit_message(t);
        r = rc < 0 ? storage_error(-rc) : "250 2.0.0 Ok: queued\r\n";
    }
    reset(t);
    return reply(s, r, PF_NEXT);
}

/* ---- Maildir ------------------------------------------------------------- */

/* What a crash leaves in tmp/ (a message that was never renamed into new/)
 * is never finished by anyone.  The Maildir convention (cr.yp.to's maildir
 * spec, followed by Courier and Dovecot) is that a file in tmp/ untouched
 * for 36 hours is abandoned and may be removed: a delivery in progress
 * writes to its file, and no delivery lasts that long (ours end at the
 * session's timeouts).  "Untouched" is both the access and the modification
 * time: atime alone lies on noatime mounts, mtime alone would take a file
 * some reader still has open.  Only regular files go; anything else in tmp/
 * is not ours to judge.  Best effort: a file that cannot be removed stays
 * and is not an error. */
#define TMP_STALE_SECONDS (36 * 3600)

static int clean_tmp(const char *tmp)
{
    int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    DIR *d = fdopendir(dfd);
    if (!d) {
        int err = errno;
        close(dfd);
        return -err;
    }
    time_t limit = time(NULL) - TMP_STALE_SECONDS;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            sb.st_atime < limit && sb.st_mtime < limit)
            (void)unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
    return 0;
}

int pf_maildir_prepare(const char *dir)
{
    static const char *const subs[] = { "", "tmp", "new", "cur" };
    char p[PATH_MAX];
    for (size_t i = 0; i < 4; i++) {
        int n = snprintf(p, sizeof(p), "%s%s%s", dir, i ? "/" : "", subs[i]);
        if (n < 0 || (size_t)n >= sizeof(p))
            return -ENAMETOOLONG;
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -errno;
    }
    snprintf(p, sizeof(p), "%s/tmp", dir);
    return clean_tmp(p);
}
