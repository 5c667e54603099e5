/* Logs (protofsm/log.h): the access log and the error log.
 *
 * Why one write(2) per line into an fd opened O_APPEND: lines from many
 * workers then never interleave (the kernel appends each whole), no lock
 * is taken on the hot path, and a rotation can swap the file under the
 * writers with dup2, which replaces the descriptor atomically: a write
 * lands in the old file or the new one, never nowhere.  The descriptor
 * number stays the same for the process's life once opened, so the
 * writers read it with one relaxed load. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log_impl.h"
#include "protofsm/log.h"
#include "server_impl.h"

atomic_int pf__log_on;                  /* PF__LOG_ACCESS | PF__LOG_INFO | PF__LOG_DEBUG */
static atomic_int access_fd = -1;
/* Silent until a program sets a level (pf_cli_logs does, warn by
 * default): a library prints nothing unless asked. */
static atomic_int level = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* open, reopen, close */
static char *access_path;
static atomic_int timing;               /* pf_server_time_handlers' count */

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int pf_log_level_parse(const char *name, pf_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0) {
            *out = (pf_log_level)i;
            return 0;
        }
    return -EINVAL;
}

const char *pf_log_level_name(pf_log_level l) { return (unsigned)l < 4 ? level_names[l] : "?"; }

static void update_mask(void)
{
    int m = atomic_load(&access_fd) >= 0 ? PF__LOG_ACCESS : 0;
    if (atomic_load(&timing) > 0)
        m |= PF__LOG_TIMING;
    int l = atomic_load(&level);
    if (l >= PF_LOG_INFO)
        m |= PF__LOG_INFO;
    if (l >= PF_LOG_DEBUG)
        m |= PF__LOG_DEBUG;
    atomic_store(&pf__log_on, m);
}

void pf_server_time_handlers(int on)
{
    pthread_mutex_lock(&lock); /* the count and the mask change together */
    atomic_fetch_add(&timing, on ? 1 : -1);
    update_mask();
    pthread_mutex_unlock(&lock);
}

void pf_log_set_level(pf_log_level l)
{
    atomic_store(&level, (int)l);
    update_mask();
}

static int open_path(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

int pf_log_access_open(const char *path)
{
    int rc = 0;

    pthread_mutex_lock(&lock);
    if (strcmp(path, "-") == 0) {
        free(access_path);
        access_path = NULL;
        int fd = atomic_load(&access_fd);
        if (fd >= 0 && fd != STDERR_FILENO)
            close(fd);
        atomic_store(&access_fd, STDERR_FILENO);
    } else {
        char *p = strdup(path);
        int fd = p ? open_path(path) : -ENOMEM;
        if (fd < 0) {
            free(p);
            rc = fd;
        } else {
            int old = atomic_load(&access_fd);
            if (old >= 0 && old != STDERR_FILENO) {
                /* Same descriptor number: writers never see it closed. */
                dup2(fd, old);
                close(fd);
            } else {
                atomic_store(&access_fd, fd);
            }
            free(access_path);
            access_path = p;
        }
    }
    pthread_mutex_unlock(&lock);
    update_mask();
    return rc;
}

int pf_log_reopen(void)
{
    int rc = 0;

    pthread_mutex_lock(&lock);
    int old = atomic_load(&access_fd);
    if (access_path && old >= 0 && old != STDERR_FILENO) {
        int fd = open_path(access_path);
        if (fd < 0)
            rc = fd;
        else {
            if (dup2(fd, old) < 0)
                rc = -errno;
            close(fd);
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void pf_log_access_close(void)
{
    pthread_mutex_lock(&lock);
    int fd = atomic_exchange(&access_fd, -1);
    update_mask();
    if (fd >= 0 && fd != STDERR_FILENO)
        close(fd);
    free(access_path);
    access_path = NULL;
    pthread_mutex_unlock(&lock);
}

/* ---- lines --------------------------------------------------------------- */

static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;

    if (*n >= cap)
        return;
    va_start(ap, fmt);
    int r = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (r > 0)
        *n = *n + (size_t)r < cap ? *n + (size_t)r : cap - 1;
}

static void stamp(char *buf, size_t cap, size_t *n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    put(buf, cap, n, "time=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
}

/* listener= and peer= of a hosted session ("-" for one driven by hand). */
static void where(const pf_session *s, char *buf, size_t cap, size_t *n)
{
    char l[80] = "-", p[80] = "-";
    const pf__conn *c = s->host;

    if (c) {
        /* The thread running the step holds the connection: its fd is open. */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        pf__net_format(&c->ls->addr, l, sizeof(l));
        if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0)
            pf__net_format(&ss, p, sizeof(p));
    }
    put(buf, cap, n, " listener=%s peer=%s machine=%s", l, p, s->svc->fsm->name);
}

static void emit(int fd, const char *buf, size_t n)
{
    /* One write: a short one on a full disk loses the line, never splits
     * another's. */
    (void)!write(fd, buf, n);
}

void pf__log_event(pf__log_limit *lim, int lvl, const char *event, const char *fmt, ...)
{
    if (atomic_load_explicit(&level, memory_order_relaxed) < lvl)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    uint64_t count = atomic_fetch_add_explicit(&lim->count, 1, memory_order_relaxed) + 1;
    uint64_t next = atomic_load_explicit(&lim->next_ms, memory_order_relaxed);
    /* One thread wins the second; the others only count. */
    if (now < next || !atomic_compare_exchange_strong(&lim->next_ms, &next, now + 1000))
        return;
    count = atomic_exchange_explicit(&lim->count, 0, memory_order_relaxed);
    char buf[512];
    size_t n = 0;
    va_list ap;
    stamp(buf, sizeof(buf), &n);
    put(buf, sizeof(buf), &n, " level=%s event=%s count=%" PRIu64 " ", level_names[lvl], event,
        count ? count : 1);
    if (n < sizeof(buf)) {
        va_start(ap, fmt);
        int r = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
        va_end(ap);
        if (r > 0)
            n = n + (size_t)r < sizeof(buf) - 1 ? n + (size_t)r : sizeof(buf) - 2;
    }
    buf[n++] = '\n';
    emit(2, buf, n);
}

static const char *result(int rc)
{
    return rc == PF_NEXT ? "next" : rc == PF_STAY ? "stay" : rc == PF_CLOSE ? "close"
         : rc == PF_ENOROW ? "norow" : "error";
}

void pf__log_step(const pf_session *s, const pf_packet *pkt, const pf_fsm_step *st, int rc,
                  uint64_t ns)
{
    const pf_fsm *m = s->svc->fsm;
    int on = atomic_load_explicit(&pf__log_on, memory_order_relaxed);
    int packet = pkt->event >= PF_EV__BUILTIN;
    char buf[768];
    size_t n = 0;

    if ((on & PF__LOG_TIMING) && s->host)
        pf__latency_add(s->host, m->table[(size_t)st->from * m->nevents + pkt->event].handler,
                        ns);
    if (packet && (on & PF__LOG_ACCESS)) {
        stamp(buf, sizeof(buf), &n);
        where(s, buf, sizeof(buf), &n);
        put(buf, sizeof(buf), &n,
            " state=%s event=%s next=%s handler=%s result=%s bytes=%zu us=%" PRIu64 "\n",
            pf_fsm_state_name(m, st->from), pf_fsm_event_name(m, pkt->event),
            pf_fsm_state_name(m, rc < 0 && rc != PF_ENOROW ? st->from : st->to),
            pf_fsm_handler_name(m, m->table[(size_t)st->from * m->nevents + pkt->event].handler),
            result(rc), pkt->raw.len, ns / 1000);
        buf[sizeof(buf) - 2] = '\n';
        emit(atomic_load_explicit(&access_fd, memory_order_relaxed), buf, n);
    }
    /* The error log: what went wrong at info, everything at debug. */
    int trouble = (packet && (rc < 0 || st->defaulted)) || pkt->event == PF_EV_TIMEOUT;
    if ((trouble && (on & PF__LOG_INFO)) || (on & PF__LOG_DEBUG)) {
        n = 0;
        stamp(buf, sizeof(buf), &n);
        put(buf, sizeof(buf), &n, " level=%s", trouble ? "info" : "debug");
        where(s, buf, sizeof(buf), &n);
        put(buf, sizeof(buf), &n, " state=%s event=%s result=%s", pf_fsm_state_name(m, st->from),
            pf_fsm_event_name(m, pkt->event), result(rc));
        if (pkt->event == PF_EV_TIMEOUT && pkt->raw.ptr)
            put(buf, sizeof(buf), &n, " reason=%.*s", (int)pkt->raw.len, pkt->raw.ptr);
        if (rc < 0 && rc != PF_ENOROW)
            put(buf, sizeof(buf), &n, " error=%d", rc);
        put(buf, sizeof(buf), &n, "\n");
        buf[sizeof(buf) - 2] = '\n';
        emit(STDERR_FILENO, buf, n);
    }
}

void pf__log_parse_error(const pf_session *s, int err)
{
    char buf[512];
    size_t n = 0;

    if (!(atomic_load_explicit(&pf__log_on, memory_order_relaxed) & PF__LOG_INFO))
        return;
    stamp(buf, sizeof(buf), &n);
    put(buf, sizeof(buf), &n, " level=info msg=protocol_error");
    where(s, buf, sizeof(buf), &n);
    put(buf, sizeof(buf), &n, " error=%s\n",
        err == -EMSGSIZE ? "too_large" : err == -EBADMSG ? "malformed" : "other");
    buf[sizeof(buf) - 2] = '\n';
    emit(STDERR_FILENO, buf, n);
}
