/* httpd: the site service (services/site: static files and a fixed
 * /hello) over protocols/http1.
 *
 *   build/bin/httpd --root DIR [--access-log FILE|-] [--listen 127.0.0.1:8080]
 *                           [--mode hsha] [--threads N] ...   (the common options)
 *   curl -i http://127.0.0.1:8080/hello
 *
 * What is served and the security policy are in services/site/site.h;
 * the response helpers in protocols/http1_response.h.  Without --root only
 * /hello exists (everything else is 404). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http1.h"
#include "protofsm/cli.h"
#include "site/site.h"

static pf_site site;

static const char about[] =
    "httpd: static files (--root DIR) and GET /hello over HTTP/1.1\n"
    "  --root DIR           serve files under DIR (no escape: see services/site/site.h)\n"
    "  --access-log FILE    one line per response to FILE ('-': stderr); SIGHUP or\n"
    "                       SIGUSR1 reopens FILE (after logrotate moved it)\n"
    "  --max-request-line B request line bytes (default 8192; over it: 414)\n"
    "  --max-header-bytes B header section bytes (default 65536; over it: 431)\n"
    "  --max-headers N      field lines (default and cap 64; over it: 431)\n"
    "  --max-body B         body bytes (default 1048576; over it: 413)\n"
    "  --file-cache N       open files kept, with their stat (default 256; 0: none)\n"
    "  --file-cache-ms MS   for how long after opening (default 1000): a file changed\n"
    "                       or replaced may be served as it was for that long\n"
    "  (--max-input defaults to what the largest request allowed above needs)";

/* Our own numeric options: name, where it goes. */
static pf_http1_conf hconf;
static uint32_t cache_files = PF_SITE_CACHE_MAX, cache_ms = PF_SITE_CACHE_MS;
static const struct {
    const char *name;
    uint32_t *to;
    int zero; /* 0 allowed */
} limits[] = {
    { "--max-request-line", &hconf.max_request_line, 0 },
    { "--max-header-bytes", &hconf.max_head_bytes, 0 },
    { "--max-headers", &hconf.max_headers, 0 },
    { "--max-body", &hconf.max_body, 0 },
    { "--file-cache", &cache_files, 1 },
    { "--file-cache-ms", &cache_ms, 1 },
};

static int take_limit(const char *name, const char *val)
{
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        if (strcmp(name, limits[i].name) != 0)
            continue;
        char *end;
        errno = 0;
        unsigned long v = strtoul(val, &end, 10);
        if (errno || end == val || *end || (v == 0 && !limits[i].zero) || v > UINT32_MAX ||
            val[0] == '-') {
            fprintf(stderr, "httpd: %s %s: expected a number from %d to %u\n", name, val,
                    !limits[i].zero, (unsigned)UINT32_MAX);
            return -1;
        }
        *limits[i].to = (uint32_t)v;
        return 1;
    }
    return 0;
}

/* SIGHUP or SIGUSR1 (what logrotate sends): write the access log to a new
 * file of the same name.  dup2 swaps the descriptor under the handlers in
 * one step, so no line goes to a closed one. */
static const char *log_path;

static void reopen_log(int signo, void *arg)
{
    pf_site *st = arg;
    (void)signo;
    if (!log_path || st->log_fd == STDERR_FILENO)
        return;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return; /* keep writing to the old file rather than lose lines */
    dup2(fd, st->log_fd);
    close(fd);
}

int main(int argc, char **argv)
{
    const char *root = NULL, *logpath = NULL;
    char *args[256];
    int n = 0;

    /* Take our own options out; the rest is the common command line. */
    for (int i = 0; i < argc && n < 253; i++) {
        const char *eq = strchr(argv[i], '=');
        char name[32];
        size_t nl = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        if (nl >= sizeof(name))
            nl = sizeof(name) - 1;
        memcpy(name, argv[i], nl);
        name[nl] = 0;
        const char *val = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
        int own = strcmp(name, "--root") == 0 || strcmp(name, "--access-log") == 0;
        int lim = val ? take_limit(name, val) : 0;
        if (lim < 0)
            return 2;
        if (own && val)
            *(name[2] == 'r' ? &root : &logpath) = val;
        if ((own && val) || lim) {
            i += !eq;
            continue;
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;
    /* The runtime holds a whole request (head and body) in the input
     * buffer: by default the protocol sizes it from the limits above
     * (max_packet), so they, not the buffer, decide (a body under
     * --max-body must not get 413). */
    pf_cli defaults;
    pf_cli_defaults(&defaults);
    pf_cli_split("127.0.0.1:8080", defaults.listen[0].host, sizeof(defaults.listen[0].host),
                 &defaults.listen[0].port);
    defaults.nlisten = 1;
    defaults.conf.on_signal = reopen_log;
    defaults.conf.signal_arg = &site;
    log_path = logpath;

    int rc = pf_site_open(&site, root);
    if (rc < 0) {
        fprintf(stderr, "httpd: --root %s: %s\n", root, strerror(-rc));
        return 2;
    }
    site.cache_max = cache_files;
    site.cache_valid_ms = cache_ms;
    site.hello = "Hello, World!\n";
    site.hello_len = 14;
    if (logpath) {
        site.log_fd = strcmp(logpath, "-") == 0
                          ? STDERR_FILENO
                          : open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (site.log_fd < 0) {
            fprintf(stderr, "httpd: --access-log %s: %s\n", logpath, strerror(errno));
            return 2;
        }
    }
    pf_listen_conf lc = { .service = &pf_site_service, .proto_conf = &hconf, .data = &site };
    rc = pf_cli_run(n, args, about, &defaults, &lc);
    pf_site_close(&site);
    return rc;
}
