/* A static-file site over http1 (policy in site.h).
 *
 * Everything runs on the worker that handles the request: path checks,
 * open and fstat (or a hit in the open-file cache below), the conditional
 * and range logic and, for small bodies, the read.  Large bodies leave as a file segment that the connection's writer
 * sends with sendfile, so no thread holds a file's bytes in memory and the
 * I/O thread never waits on the client. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "http1.h"
#include "http1_response.h"
#include "site/site.h"
#include "site_fsm.h"

SITE_HANDLERS(PF_HANDLER_DECLARE_STATIC)
static const pf_handler handlers[] = PF_HANDLERS(SITE_HANDLERS);
const pf_service pf_site_service = { &pf_http1_protocol, &site_fsm, handlers };

/* The site this session's listener serves (pf_listen_conf.data). */
static const pf_site *site_of(pf_session *s) { return pf_session_listener_data(s); }

#define PATH_MAX_DECODED 4096
#define SMALL_FILE 16384u
#define ALLOW "GET, HEAD, OPTIONS"

/* ---- open files ----------------------------------------------------------
 *
 * Why a cache: opening a file beneath the root (openat2, which walks the
 * path), fstat and close were three of the seven or so system calls a
 * request for a small file cost, and the walk the dearest of them.  A
 * regular file's descriptor and stat result are kept for cache_valid_ms
 * after the open and shared by every reply in that time (sendfile and
 * pread take their own offsets); the entry then lapses and the next request
 * opens the path again.  Only successes are kept, so a new file is seen at
 * once.  What may be stale, for at most cache_valid_ms: a file replaced or
 * deleted is still served as it was (its old descriptor); a file changed in
 * place is read as it is now under the old stat (length, Last-Modified,
 * ETag): grown, the reply carries the old length; shrunk, the connection
 * closes short as it does without the cache (sendfile.h). */

typedef struct site_file {
    struct site_file *chain;       /* same hash slot */
    struct site_file *prev, *next; /* in opening order: the oldest first */
    uint64_t born_ms;              /* when opened (now_ms) */
    int refs;                      /* the cache's while listed, one per reply */
    int fd;
    struct stat sb;
    uint32_t hash;
    size_t len;
    char path[];
} site_file;

#define CACHE_SLOTS 1024u

struct pf_site_cache {
    pthread_mutex_t mu;
    site_file *slot[CACHE_SLOTS];
    site_file *oldest, *newest;
    unsigned n;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* vDSO: no system call */
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t hash_of(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    while (n--)
        h = (h ^ (unsigned char)*p++) * 16777619u;
    return h;
}

/* A reply (or the cache) is done with the file: the last one closes it.
 * Runs on whichever thread sent the reply. */
static void file_put(void *arg)
{
    site_file *f = arg;
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        close(f->fd);
        free(f);
    }
}

/* Unlist f (the lock held); the caller puts the cache's reference after
 * unlocking. */
static void unlist(struct pf_site_cache *c, site_file *f)
{
    site_file **pp = &c->slot[f->hash % CACHE_SLOTS];
    while (*pp != f)
        pp = &(*pp)->chain;
    *pp = f->chain;
    *(f->prev ? &f->prev->next : &c->oldest) = f->next;
    *(f->next ? &f->next->prev : &c->newest) = f->prev;
    c->n--;
}

/* Drop what has lapsed, and the oldest while over cache_max (the lock
 * held): entries are in opening order, so this stops at the first one that
 * may stay.  Dropped entries go on *out for file_put after unlocking. */
static void prune(const pf_site *st, uint64_t now, site_file **out)
{
    struct pf_site_cache *c = st->cache;
    while (c->oldest && (now - c->oldest->born_ms >= st->cache_valid_ms || c->n > st->cache_max)) {
        site_file *f = c->oldest;
        unlist(c, f);
        f->chain = *out;
        *out = f;
    }
}

static void put_all(site_file *f)
{
    while (f) {
        site_file *next = f->chain;
        file_put(f);
        f = next;
    }
}

/* The cached file at `path`, with a reference for the caller; NULL when
 * there is none (or it lapsed). */
static site_file *cache_get(const pf_site *st, const char *path, size_t len)
{
    struct pf_site_cache *c = st->cache;
    uint32_t h = hash_of(path, len);
    uint64_t now = now_ms();
    site_file *f, *gone = NULL;

    pthread_mutex_lock(&c->mu);
    prune(st, now, &gone);
    for (f = c->slot[h % CACHE_SLOTS]; f; f = f->chain)
        if (f->hash == h && f->len == len && memcmp(f->path, path, len) == 0)
            break;
    if (f)
        __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->mu);
    put_all(gone);
    return f;
}

/* List fd (a regular file just opened, sb its fstat) under `path`.  The
 * entry, holding fd, with a reference for the caller; NULL (fd still the
 * caller's) when there is no memory for it. */
static site_file *cache_put(const pf_site *st, const char *path, size_t len, int fd,
                            const struct stat *sb)
{
    struct pf_site_cache *c = st->cache;
    site_file *f = malloc(sizeof(*f) + len), *old, *gone = NULL;
    if (!f)
        return NULL;
    *f = (site_file){ .born_ms = now_ms(), .refs = 2, .fd = fd, .sb = *sb,
                      .hash = hash_of(path, len), .len = len };
    memcpy(f->path, path, len);
    pthread_mutex_lock(&c->mu);
    /* Another worker may have opened it meanwhile: the newer one stays. */
    for (old = c->slot[f->hash % CACHE_SLOTS]; old; old = old->chain)
        if (old->hash == f->hash && old->len == len && memcmp(old->path, path, len) == 0)
            break;
    if (old) {
        unlist(c, old);
        old->chain = gone;
        gone = old;
    }
    f->chain = c->slot[f->hash % CACHE_SLOTS];
    c->slot[f->hash % CACHE_SLOTS] = f;
    f->prev = c->newest;
    *(c->newest ? &c->newest->next : &c->oldest) = f;
    c->newest = f;
    c->n++;
    prune(st, f->born_ms, &gone);
    pthread_mutex_unlock(&c->mu);
    put_all(gone);
    return f;
}

int pf_site_open(pf_site *st, const char *root)
{
    *st = (pf_site){ .root_fd = -1, .log_fd = -1, .cache_max = PF_SITE_CACHE_MAX,
                     .cache_valid_ms = PF_SITE_CACHE_MS };
    if (!root)
        return 0;
    st->cache = calloc(1, sizeof(*st->cache));
    if (!st->cache)
        return -ENOMEM;
    pthread_mutex_init(&st->cache->mu, NULL);
    st->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (st->root_fd < 0) {
        int err = -errno;
        pf_site_close(st);
        return err;
    }
    return 0;
}

void pf_site_close(pf_site *st)
{
    if (st->root_fd >= 0)
        close(st->root_fd);
    st->root_fd = -1;
    if (st->cache) {
        site_file *gone = NULL;
        while (st->cache->oldest) {
            site_file *f = st->cache->oldest;
            unlist(st->cache, f);
            f->chain = gone;
            gone = f;
        }
        put_all(gone);
        pthread_mutex_destroy(&st->cache->mu);
        free(st->cache);
        st->cache = NULL;
    }
}

/* Done with fd: its cache entry's reference, or the descriptor itself. */
static void let_go(int fd, site_file *f)
{
    if (f)
        file_put(f);
    else
        close(fd);
}

/* ---- paths -------------------------------------------------------------- */

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode `path` (which starts with '/') into out without the leading '/'.
 * 0, 400 or 414. */
static int decode_path(pf_slice path, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 1; i < path.len; i++) {
        char c = path.ptr[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= path.len || (h = hexv(path.ptr[i + 1])) < 0 ||
                (l = hexv(path.ptr[i + 2])) < 0)
                return 400;
            c = (char)(h << 4 | l);
            i += 2;
        }
        if (c == '\0' || c == '\\')
            return 400;
        if (k + 1 >= cap)
            return 414;
        out[k++] = c;
    }
    out[k] = '\0';
    /* Dot segments, after decoding, and empty segments ("a//b"). */
    for (const char *seg = out; *seg;) {
        const char *e = strchr(seg, '/');
        size_t n = e ? (size_t)(e - seg) : strlen(seg);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 400;
        if (n == 0)
            return 400;
        if (!e)
            break;
        seg = e + 1;
    }
    return 0;
}

/* Open rel (no leading '/', may be "" for the root itself) beneath root.
 * fd or -errno (-EXDEV, -ELOOP: it would leave the root). */
static int open_beneath(int root, const char *rel)
{
    static int no_openat2;
    const char *p = *rel ? rel : ".";
    if (!__atomic_load_n(&no_openat2, __ATOMIC_RELAXED)) {
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
        long fd = syscall(SYS_openat2, root, p, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return fd >= 0 ? (int)fd : -errno;
        __atomic_store_n(&no_openat2, 1, __ATOMIC_RELAXED);
    }
    /* No openat2: walk the components, following no symlink at all. */
    char buf[PATH_MAX_DECODED];
    snprintf(buf, sizeof(buf), "%s", p);
    int dir = dup(root);
    if (dir < 0)
        return -errno;
    for (char *seg = buf;;) {
        char *e = strchr(seg, '/');
        if (e)
            *e = '\0';
        int fd = openat(dir, seg, (e ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK) | O_NOFOLLOW |
                                      O_CLOEXEC | O_NOCTTY);
        int err = errno;
        close(dir);
        if (fd < 0)
            return -err;
        if (!e)
            return fd;
        dir = fd;
        seg = e + 1;
    }
}

static const struct mime {
    const char *ext, *type;
} mimes[] = {
    { "html", "text/html; charset=utf-8" }, { "htm", "text/html; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },   { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" }, { "json", "application/json" },
    { "txt", "text/plain; charset=utf-8" }, { "md", "text/markdown; charset=utf-8" },
    { "xml", "application/xml" },           { "svg", "image/svg+xml" },
    { "png", "image/png" },                 { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },               { "gif", "image/gif" },
    { "webp", "image/webp" },               { "avif", "image/avif" },
    { "ico", "image/vnd.microsoft.icon" },  { "woff", "font/woff" },
    { "woff2", "font/woff2" },              { "ttf", "font/ttf" },
    { "otf", "font/otf" },                  { "pdf", "application/pdf" },
    { "wasm", "application/wasm" },         { "zip", "application/zip" },
    { "gz", "application/gzip" },           { "tar", "application/x-tar" },
    { "mp4", "video/mp4" },                 { "webm", "video/webm" },
    { "mp3", "audio/mpeg" },                { "ogg", "audio/ogg" },
    { "wav", "audio/wav" },                 { "csv", "text/csv; charset=utf-8" },
};

static const char *mime_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++)
            if (strcasecmp(dot + 1, mimes[i].ext) == 0)
                return mimes[i].type;
    return "application/octet-stream";
}

/* ---- conditionals and ranges ---------------------------------------------- */

/* Is `etag` in the If-None-Match list (weak comparison, RFC 9110 §13.1.2)? */
static int none_match(pf_slice v, const char *etag)
{
    size_t el = strlen(etag);
    const char *p = v.ptr, *e = v.ptr + v.len;
    if (v.len == 1 && *p == '*')
        return 1;
    while (p < e) {
        while (p < e && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (e - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *q = p;
        if (q < e && *q == '"') {
            q = memchr(q + 1, '"', (size_t)(e - q - 1));
            if (!q)
                return 0;
            q++;
        } else {
            while (q < e && *q != ',')
                q++;
        }
        if ((size_t)(q - p) == el && memcmp(p, etag, el) == 0)
            return 1;
        p = q;
    }
    return 0;
}

static int digits(const char **pp, const char *e, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;
    if (p == e || *p < '0' || *p > '9')
        return 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *pp = p;
    *out = v;
    return 1;
}

/* One "bytes=" range against a file of `size` bytes: 1 and [*first, *last]
 * when satisfiable, 0 when it is not (416), -1 when the header is to be
 * ignored (malformed, another unit, several ranges). */
static int parse_range(pf_slice v, uint64_t size, uint64_t *first, uint64_t *last)
{
    const char *p = v.ptr, *e = v.ptr + v.len;
    uint64_t a, b;
    if (v.len < 6 || strncasecmp(p, "bytes=", 6) != 0 || memchr(p, ',', v.len))
        return -1;
    p += 6;
    if (p < e && *p == '-') { /* suffix: the last b bytes */
        p++;
        if (!digits(&p, e, &b) || p != e)
            return -1;
        if (b == 0 || size == 0)
            return 0;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (!digits(&p, e, &a) || p == e || *p++ != '-')
        return -1;
    if (p == e)
        b = UINT64_MAX;
    else if (!digits(&p, e, &b) || p != e || b < a)
        return -1;
    if (a >= size)
        return 0;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return 1;
}

/* ---- answering ---------------------------------------------------------- */

/* The client's address for the log: "-" when there is none (a session
 * driven by hand). */
static void peer_text(pf_session *s, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    const void *a = NULL;
    snprintf(out, len, "-");
    if (pf_session_peer(s, &ss, &sl) < 0)
        return;
    if (ss.ss_family == AF_INET)
        a = &((struct sockaddr_in *)&ss)->sin_addr;
    else if (ss.ss_family == AF_INET6)
        a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (a && !inet_ntop(ss.ss_family, a, out, (socklen_t)len))
        snprintf(out, len, "-");
}

/* One line per response: client, date, request line, status, body bytes.
 * The target is printed as received: the parser admits only visible ASCII
 * there, so a line cannot be forged into two. */
static void access_log(const pf_site *st, pf_session *s, const pf_http1_fields *f,
                       int status, uint64_t bytes)
{
    if (st->log_fd < 0)
        return;
    char date[PF_HTTP1_DATE_LEN + 1], peer[INET6_ADDRSTRLEN], line[700];
    pf_http1_date_now(date);
    peer_text(s, peer, sizeof(peer));
    int tl = f->target.len > 400 ? 400 : (int)f->target.len;
    int n = snprintf(line, sizeof(line), "%s [%s] \"%.*s %.*s HTTP/1.%u\" %d %" PRIu64 "\n", peer,
                     date, (int)(f->method.len > 32 ? 32 : f->method.len), f->method.ptr, tl,
                     f->target.ptr, f->version_minor, status, bytes);
    if (n > 0)
        (void)!write(st->log_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int simple(const pf_site *st, pf_session *s, const pf_http1_fields *f,
                  int status, const char *allow, int close)
{
    char head[512], body[64];
    pf_http1_res r;
    int n = snprintf(body, sizeof(body), "%d %s\n", status, pf_http1_reason(status));
    pf_http1_res_init(&r, f, status, head, sizeof(head));
    if (allow)
        pf_http1_res_header(&r, "Allow", allow);
    if (close)
        pf_http1_res_close(&r);
    if (status != 204)
        pf_http1_res_header(&r, "Content-Type", "text/plain; charset=utf-8");
    access_log(st, s, f, status, status == 204 ? 0 : (uint64_t)n);
    return pf_http1_send(s, &r, body, status == 204 ? 0 : (size_t)n);
}

static int redirect_dir(const pf_site *st, pf_session *s, const pf_http1_fields *f)
{
    char head[PF_HTTP1_HEAD_MAX + 4200], loc[4200];
    pf_http1_res r;
    if (f->path.len + 2 > sizeof(loc))
        return simple(st, s, f, 414, NULL, 0);
    memcpy(loc, f->path.ptr, f->path.len);
    loc[f->path.len] = '/';
    pf_http1_res_init(&r, f, 301, head, sizeof(head));
    pf_http1_res_headern(&r, "Location", 8, loc, f->path.len + 1);
    pf_http1_res_header(&r, "Content-Type", "text/plain; charset=utf-8");
    access_log(st, s, f, 301, 0);
    return pf_http1_send(s, &r, "301 Moved Permanently\n", 22);
}

static int serve_file(const pf_site *st, pf_session *s, const pf_http1_fields *f)
{
    char rel[PATH_MAX_DECODED + 16];
    if (f->path.len == 0 || f->path.ptr[0] != '/')
        return simple(st, s, f, f->path.len ? 400 : 404, NULL, 0);
    int bad = decode_path(f->path, rel, PATH_MAX_DECODED);
    if (bad)
        return simple(st, s, f, bad, NULL, 0);
    size_t rl = strlen(rel);
    int dir_path = f->path.ptr[f->path.len - 1] == '/';
    if (dir_path) {
        memcpy(rel + rl, "index.html", 11);
        rl += 10;
    }
    struct stat sb;
    int fd;
    int cache = st->cache && st->cache_max && st->cache_valid_ms;
    site_file *sf = cache ? cache_get(st, rel, rl) : NULL;
    if (sf) {
        fd = sf->fd;
        sb = sf->sb;
    } else {
        fd = open_beneath(st->root_fd, rel);
        if (fd < 0) {
            int status = fd == -ENOENT || fd == -ENOTDIR || fd == -ENAMETOOLONG ? 404 : 403;
            return simple(st, s, f, status, NULL, 0);
        }
        if (fstat(fd, &sb) < 0) {
            close(fd);
            return simple(st, s, f, 500, NULL, 0);
        }
        if (S_ISDIR(sb.st_mode)) {
            close(fd);
            return dir_path ? simple(st, s, f, 404, NULL, 0) : redirect_dir(st, s, f);
        }
        if (!S_ISREG(sb.st_mode)) {
            close(fd);
            return simple(st, s, f, 403, NULL, 0);
        }
        if (cache)
            sf = cache_put(st, rel, rl, fd, &sb);
    }

    uint64_t size = (uint64_t)sb.st_size;
    char etag[64], lm[PF_HTTP1_DATE_LEN + 1];
    snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "\"", size,
             (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec);
    pf_http1_date_fmt(sb.st_mtim.tv_sec, lm);

    /* RFC 9110 §13.2.2: If-None-Match, else If-Modified-Since (GET, HEAD). */
    pf_slice v;
    int not_modified = 0;
    if (pf_http1_header_find(f, "If-None-Match", &v)) {
        not_modified = none_match(v, etag);
    } else if (pf_http1_header_find(f, "If-Modified-Since", &v)) {
        time_t ims;
        not_modified = pf_http1_date_parse(v.ptr, v.len, &ims) == 0 && sb.st_mtim.tv_sec <= ims;
    }

    int status = 200;
    uint64_t first = 0, last = size ? size - 1 : 0;
    int range = -1;
    if (!not_modified && f->method.ptr[0] == 'G' && /* Range: GET only */
        pf_http1_header_find(f, "Range", &v)) {
        pf_slice ir;
        int use = 1;
        if (pf_http1_header_find(f, "If-Range", &ir)) /* strong match or the exact date */
            use = (ir.len == strlen(etag) && memcmp(ir.ptr, etag, ir.len) == 0) ||
                  (ir.len == PF_HTTP1_DATE_LEN && memcmp(ir.ptr, lm, ir.len) == 0);
        if (use)
            range = parse_range(v, size, &first, &last);
    }
    char head[PF_HTTP1_HEAD_MAX], cr[96];
    pf_http1_res r;
    if (not_modified)
        status = 304;
    else if (range == 0)
        status = 416;
    else if (range == 1)
        status = 206;
    pf_http1_res_init(&r, f, status, head, sizeof(head));
    if (status == 416) {
        let_go(fd, sf);
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
        pf_http1_res_header(&r, "Content-Range", cr);
        pf_http1_res_header(&r, "Content-Type", "text/plain; charset=utf-8");
        access_log(st, s, f, 416, 26);
        return pf_http1_send(s, &r, "416 Range Not Satisfiable\n", 26);
    }
    pf_http1_res_header(&r, "Last-Modified", lm);
    pf_http1_res_header(&r, "ETag", etag);
    if (status == 304) {
        let_go(fd, sf);
        access_log(st, s, f, 304, 0);
        return pf_http1_send(s, &r, NULL, 0);
    }
    pf_http1_res_header(&r, "Content-Type", mime_of(rel));
    pf_http1_res_header(&r, "Accept-Ranges", "bytes");
    if (status == 206) {
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        pf_http1_res_header(&r, "Content-Range", cr);
    }
    uint64_t len = size ? last - first + 1 : 0;
    access_log(st, s, f, status, r.head ? 0 : len);
    if (len > SIZE_MAX / 2) {
        let_go(fd, sf);
        return simple(st, s, f, 500, NULL, 1);
    }
    if (r.head || len > SMALL_FILE) {
        if (!r.head && len > (1u << 20))
            (void)readahead(fd, (off_t)first, 1u << 20); /* warm the first MiB here */
        return pf_http1_send_file_shared(s, &r, fd, (off_t)first, (size_t)len,
                                         sf ? file_put : NULL, sf);
    }
    char body[SMALL_FILE];
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, body + got, (size_t)len - got, (off_t)(first + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    let_go(fd, sf);
    if (got < len) /* the file shrank under us: the head would lie */
        return simple(st, s, f, 500, NULL, 1);
    return pf_http1_send(s, &r, body, (size_t)len);
}

static int site_on_get(pf_session *s, const pf_packet *pkt)
{
    const pf_site *st = site_of(s);
    const pf_http1_fields *f = pkt->fields;
    if (st->hello && f->path.len == 6 && memcmp(f->path.ptr, "/hello", 6) == 0) {
        char head[256];
        pf_http1_res r;
        pf_http1_res_init(&r, f, 200, head, sizeof(head));
        pf_http1_res_headern(&r, "Content-Type", 12, "text/plain", 10);
        access_log(st, s, f, 200, r.head ? 0 : st->hello_len);
        return pf_http1_send(s, &r, st->hello, st->hello_len);
    }
    if (st->root_fd < 0)
        return simple(st, s, f, 404, NULL, 0);
    return serve_file(st, s, f);
}

static int site_on_options(pf_session *s, const pf_packet *pkt)
{
    return simple(site_of(s), s, pkt->fields, 204, ALLOW, 0);
}

static int site_on_connect(pf_session *s, const pf_packet *pkt)
{
    return simple(site_of(s), s, pkt->fields, 405, ALLOW, 1);
}

static int site_on_unknown(pf_session *s, const pf_packet *pkt)
{
    return simple(site_of(s), s, pkt->fields, 501, NULL, 0);
}

static int site_on_not_allowed(pf_session *s, const pf_packet *pkt)
{
    return simple(site_of(s), s, pkt->fields, 405, ALLOW, 0);
}
