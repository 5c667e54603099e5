/* smtpd: SMTP (protocols/smtp.h) into a Maildir.
 *
 *   build/bin/smtpd --maildir ~/Maildir [--domain example.com ...]
 *                           [--port 2525] [--listen HOST:PORT] [--mode hsha] ...
 *   swaks --server 127.0.0.1:2525 --to you@example.com
 *
 * Its own options are taken out of argv; the rest is the common command
 * line (protofsm/cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildir/maildir.h"
#include "protofsm/cli.h"
#include "smtp.h"

#define MAX_DOMAINS 64

static const char about[] =
    "smtpd: SMTP into a Maildir.  Own options: --maildir DIR (default: accept and discard)\n"
    "  --domain D (repeatable; default any)  --port P (127.0.0.1:P, default 2525)\n"
    "  --max-message BYTES (10485760)  --max-rcpt N (100)  --hostname NAME  --no-fsync";

static int number(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *domains[MAX_DOMAINS + 1];
    static pf_smtp_conf conf;
    static pf_maildir md;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    char listen[64] = "127.0.0.1:2525";
    unsigned ndomains = 0;
    int nrest = 0;

    if (!rest)
        return 1;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        int has = i + 1 < argc;
        unsigned long long v;
        if (!strcmp(o, "--no-fsync")) {
            md.no_fsync = 1;
            continue;
        }
        if (strcmp(o, "--maildir") && strcmp(o, "--domain") && strcmp(o, "--port") &&
            strcmp(o, "--max-message") && strcmp(o, "--max-rcpt") && strcmp(o, "--hostname")) {
            rest[nrest++] = argv[i];
            continue;
        }
        if (!has) {
            fprintf(stderr, "%s: %s needs a value\n", argv[0], o);
            return 2;
        }
        const char *a = argv[++i];
        if (!strcmp(o, "--maildir")) {
            md.dir = a;
        } else if (!strcmp(o, "--domain")) {
            if (ndomains == MAX_DOMAINS) {
                fprintf(stderr, "%s: at most %d --domain\n", argv[0], MAX_DOMAINS);
                return 2;
            }
            domains[ndomains++] = a;
            md.domains = domains;
        } else if (!strcmp(o, "--hostname")) {
            md.hostname = a;
        } else if (!strcmp(o, "--port")) {
            if (number(a, 65535, &v) < 0) {
                fprintf(stderr, "%s: bad --port: %s\n", argv[0], a);
                return 2;
            }
            snprintf(listen, sizeof(listen), "127.0.0.1:%llu", v);
        } else if (!strcmp(o, "--max-message")) {
            if (number(a, 1ull << 40, &v) < 0) {
                fprintf(stderr, "%s: bad --max-message: %s\n", argv[0], a);
                return 2;
            }
            conf.max_message = v;
        } else {
            if (number(a, 1000000, &v) < 0) {
                fprintf(stderr, "%s: bad --max-rcpt: %s\n", argv[0], a);
                return 2;
            }
            conf.max_rcpt = (unsigned)v;
        }
    }
    if (md.dir) {
        int rc = pf_maildir_prepare(md.dir);
        if (rc < 0) {
            fprintf(stderr, "%s: maildir %s: %s\n", argv[0], md.dir, strerror(-rc));
            return 1;
        }
    }
    pf_listen_conf lc = { .service = &pf_maildir_service, .proto_conf = &conf, .data = &md };
    int rc = pf_cli_main(nrest, rest, about, listen, &lc);
    free(rest);
    return rc;
}
