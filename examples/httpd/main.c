/* httpd: static files and a fixed /hello over protocols/http1.
 *
 *   build/bin/httpd --root DIR [--access-log FILE|-] [--listen 127.0.0.1:8080]
 *                           [--mode hsha] [--threads N] ...   (the common options)
 *   curl -i http://127.0.0.1:8080/hello
 *
 * What is served and the security policy are in protocols/http1_static.h;
 * the response helpers in protocols/http1_response.h.  Without --root only
 * /hello exists (everything else is 404). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http1.h"
#include "http1_fsm.h"
#include "http1_static.h"
#include "protofsm/cli.h"

static pf_http1_static site;

/* Every method goes to the site, which answers 405/501 for the ones it
 * does not serve: a handler missing here would be a link error. */
PF_HTTP1_STATIC_HANDLERS(&site)

static const char about[] =
    "httpd: static files (--root DIR) and GET /hello over HTTP/1.1\n"
    "  --root DIR           serve files under DIR (no escape: see http1_static.h)\n"
    "  --access-log FILE    one line per response to FILE ('-': stderr)";

int main(int argc, char **argv)
{
    const char *root = NULL, *logpath = NULL;
    char *args[256];
    int n = 0;

    /* Take our own options out; the rest is the common command line. */
    for (int i = 0; i < argc && n < 255; i++) {
        if ((strcmp(argv[i], "--root") == 0 || strcmp(argv[i], "--access-log") == 0) &&
            i + 1 < argc) {
            *(argv[i][2] == 'r' ? &root : &logpath) = argv[i + 1];
            i++;
            continue;
        }
        if (strncmp(argv[i], "--root=", 7) == 0) {
            root = argv[i] + 7;
            continue;
        }
        if (strncmp(argv[i], "--access-log=", 13) == 0) {
            logpath = argv[i] + 13;
            continue;
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;

    int rc = pf_http1_static_open(&site, root);
    if (rc < 0) {
        fprintf(stderr, "httpd: --root %s: %s\n", root, strerror(-rc));
        return 2;
    }
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
    pf_listen_conf lc = { .proto = &pf_http1_protocol };
    rc = pf_cli_main(n, args, about, "127.0.0.1:8080", &lc);
    pf_http1_static_close(&site);
    return rc;
}
