/* mcd: a memcached-compatible cache, the mcd service (services/mcd) over
 * memcached's text protocol (protocols/memcache.h).
 *
 *   build/bin/mcd [-m MB] [--max-item BYTES] [--port P] [common options]
 *   printf 'set k 0 0 2\r\nhi\r\nget k\r\n' | nc -q1 127.0.0.1 11311
 *
 * Defaults as memcached's: 64 MB of items, 1 MiB items, no idle timeout;
 * port 11311 (memcached's is 11211, so both can run side by side). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcd/mcd.h"
#include "memcache.h"
#include "protofsm/cli.h"

static const char about[] =
    "mcd: a memcached-compatible cache (memcached's text protocol)\n"
    "  -m MB, --memory MB   memory for items (default 64); least recently used go first\n"
    "  --max-item BYTES     largest item, key and value (default 1048576)\n"
    "  --port P             listen on 127.0.0.1:P (default 11311)";

static int number(const char *s, unsigned long long lo, unsigned long long hi,
                  unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static pf_mc_conf pconf;
    pf_mcd_conf conf = { 0 };
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    unsigned long long port = 11311, v;
    int n = 0;

    if (!rest)
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        int mem = !strcmp(o, "-m") || !strcmp(o, "--memory");
        if (i == 0 || (!mem && strcmp(o, "--max-item") && strcmp(o, "--port"))) {
            rest[n++] = argv[i];
            continue;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "%s: %s needs a value\n", argv[0], o);
            return 2;
        }
        const char *a = argv[++i];
        if (mem ? number(a, 1, 1ull << 20, &v) : !strcmp(o, "--port")
                                                    ? number(a, 0, 65535, &v)
                                                    : number(a, 1024, 1ull << 30, &v)) {
            fprintf(stderr, "%s: bad value for %s: %s\n", argv[0], o, a);
            return 2;
        }
        if (mem)
            conf.max_bytes = (size_t)v << 20;
        else if (!strcmp(o, "--port"))
            port = v;
        else
            conf.max_item = pconf.max_item = (size_t)v;
    }
    pf_mcd *m = pf_mcd_new(&conf);
    if (!m) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    pf_cli d;
    pf_cli_defaults(&d);
    snprintf(d.listen[0].host, sizeof d.listen[0].host, "127.0.0.1");
    d.listen[0].port = (unsigned)port;
    d.nlisten = 1;
    d.conf.idle_timeout_ms = 0; /* memcached keeps idle clients */
    /* The input holds a whole item or a long get: the protocol's
     * max_packet with pconf sizes it. */
    pf_listen_conf lc = { .service = &pf_mcd_service, .proto_conf = &pconf, .data = m };
    int rc = pf_cli_run(n, rest, about, &d, &lc);
    pf_mcd_free(m);
    free(rest);
    return rc;
}
