/* A static-file site over protocols/http1 (the table is site.fsm): what
 * examples/httpd serves, and what the showcase mounts on port 8080.
 *
 *   GET/HEAD    /hello (when `hello` is set): a short fixed body.
 *               Files under `root`: index.html for a directory path ending
 *               in '/', 301 to PATH/ for a directory without the slash;
 *               Content-Type by extension; Last-Modified and ETag;
 *               If-None-Match / If-Modified-Since -> 304; one byte range
 *               (Range, If-Range) -> 206 or 416; several ranges -> the
 *               whole file (200, allowed by RFC 9110 §14.2).  Bodies of
 *               16 KiB or less are read on the worker; larger ones are sent
 *               with sendfile (protofsm/sendfile.h).  Open files are kept
 *               briefly (cache_max, cache_valid_ms below).
 *   OPTIONS     204 with Allow.
 *   CONNECT     405 and a close (no tunnels).
 *   POST PUT DELETE PATCH TRACE   405 with Allow: GET, HEAD, OPTIONS.
 *   other       501 (RFC 9110 §9.1: a method we do not implement).
 *
 * Security policy (no escape from the root):
 *   - the path is percent-decoded once; a decoded NUL, a backslash, or a
 *     "." or ".." segment (also when written %2e%2e, or produced by a
 *     decoded %2f) is refused with 400; the request-target is never
 *     normalized, so what is checked is what is opened;
 *   - files are opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
 *     relative to the root's descriptor: a symlink may point anywhere
 *     inside the root, one that leads out of it is 403 (kernels without
 *     openat2: every component is opened with O_NOFOLLOW, so no symlink
 *     is followed at all);
 *   - only regular files are served (403 for devices, FIFOs, sockets);
 *   - a path over 4 KiB after decoding is 414.
 *
 * Thread-safe once opened: handlers on every worker share one site. */
#ifndef PROTOFSM_SVC_SITE_H
#define PROTOFSM_SVC_SITE_H

#include <stddef.h>

#include "protofsm/service.h"

struct pf_site_cache;

#define PF_SITE_CACHE_MAX 256
#define PF_SITE_CACHE_MS 1000

typedef struct pf_site {
    int root_fd;         /* O_PATH descriptor of the root; -1: no files */
    int log_fd;          /* access log (one line per response); -1: none */
    const char *hello;   /* body of GET /hello; NULL: no such route */
    size_t hello_len;
    /* Open files kept (descriptor and stat result), at most cache_max of
     * them, each for cache_valid_ms after it was opened: a file replaced,
     * deleted or changed may be served as it was for that long (site.c
     * says exactly what).  Either 0: every request opens its file. */
    unsigned cache_max;      /* PF_SITE_CACHE_MAX after pf_site_open */
    unsigned cache_valid_ms; /* PF_SITE_CACHE_MS after pf_site_open */
    struct pf_site_cache *cache; /* pf_site_open's; NULL: none */
} pf_site;

/* Open `root` (NULL: serve no files) and set the rest to "none", the file
 * cache to 256 files for 1000 ms (change them before serving).
 * 0 or -errno. */
int pf_site_open(pf_site *st, const char *root);
void pf_site_close(pf_site *st);

/* The service: bind it to a listener with the site as the listener's
 * data (pf_listen_conf.data = &site); any number of listeners, each with
 * its own site, may run in one process. */
extern const pf_service pf_site_service;

#endif
