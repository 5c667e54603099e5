/* Listening sockets and address text.
 *
 * Literal IPv4 and IPv6 addresses (with or without brackets) and names,
 * resolved with getaddrinfo(AI_PASSIVE); the first address that binds
 * wins.  IPv6 sockets are V6ONLY so "::" and "0.0.0.0" can both be
 * listened on. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_impl.h"

static int gai_errno(int rc)
{
    switch (rc) {
    case EAI_SYSTEM:
        return -errno;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_AGAIN:
        return -EAGAIN;
    default:
        return -EADDRNOTAVAIL;
    }
}

int pf__net_listen(const char *host, unsigned port, int reuseport, int backlog,
                   struct sockaddr_storage *addr, socklen_t *addrlen)
{
    char h[256], ps[16];
    struct addrinfo hints, *res, *ai;
    size_t hl;
    int rc, fd = -EADDRNOTAVAIL;

    if (port > 65535)
        return -EINVAL;
    if (!host || !*host)
        host = "0.0.0.0";
    hl = strlen(host);
    if (hl >= sizeof(h))
        return -EINVAL;
    if (host[0] == '[' && host[hl - 1] == ']') {
        memcpy(h, host + 1, hl - 2);
        h[hl - 2] = 0;
    } else {
        memcpy(h, host, hl + 1);
    }
    snprintf(ps, sizeof(ps), "%u", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(h, ps, &hints, &res);
    if (rc)
        return gai_errno(rc);
    for (ai = res; ai; ai = ai->ai_next) {
        int one = 1;
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) {
            fd = -errno;
            continue;
        }
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (reuseport && setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
            fd = -errno;
            close(s);
            continue;
        }
        if (bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, backlog) < 0) {
            fd = -errno;
            close(s);
            continue;
        }
        *addrlen = sizeof(*addr);
        if (getsockname(s, (struct sockaddr *)addr, addrlen) < 0) {
            fd = -errno;
            close(s);
            continue;
        }
        fd = s;
        break;
    }
    freeaddrinfo(res);
    return fd;
}

int pf__net_format(const struct sockaddr_storage *addr, char *buf, size_t len)
{
    char h[INET6_ADDRSTRLEN];
    unsigned port;
    int n;

    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)addr;
        inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
        port = ntohs(a->sin_port);
        n = snprintf(buf, len, "%s:%u", h, port);
    } else if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)addr;
        inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
        port = ntohs(a->sin6_port);
        n = snprintf(buf, len, "[%s]:%u", h, port);
    } else {
        return -EAFNOSUPPORT;
    }
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
