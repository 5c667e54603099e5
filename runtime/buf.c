/* pf_buf: a limited byte buffer with a lazily dropped head.
 *
 * Consuming only moves `off`; the live bytes are slid down only when a
 * reserve finds no room at the tail but enough in the whole allocation, so a
 * connection that consumes packet by packet pays one memmove per refill, not
 * one per packet.  Growth doubles, capped at the limit, so appends are
 * amortised O(1) and the allocation stays within max (or PF_BUF_MIN). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protofsm/buf.h"

#define PF_BUF_MIN 256

void pf_buf_init(pf_buf *b, size_t max)
{
    b->data = NULL;
    b->off = b->len = b->cap = 0;
    b->max = max ? max : SIZE_MAX / 2;
}

void pf_buf_free(pf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

int pf_buf_reserve(pf_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return -EMSGSIZE;
    if (b->cap - b->off - b->len >= n)
        return 0;
    if (b->off && b->cap - b->len >= n) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        return 0;
    }
    size_t need = b->len + n;
    size_t cap = b->cap ? b->cap : PF_BUF_MIN;
    while (cap < need)
        cap = cap > SIZE_MAX / 4 ? need : cap * 2;
    if (cap > b->max && need <= b->max)
        cap = b->max > PF_BUF_MIN ? b->max : PF_BUF_MIN;
    if (cap < need)
        cap = need;
    char *d = malloc(cap);
    if (!d)
        return -ENOMEM;
    if (b->len)
        memcpy(d, b->data + b->off, b->len);
    free(b->data);
    b->data = d;
    b->cap = cap;
    b->off = 0;
    return 0;
}

void pf_buf_commit(pf_buf *b, size_t n)
{
    b->len += n;
}

int pf_buf_append(pf_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = pf_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(pf_buf_tail(b), p, n);
    b->len += n;
    return 0;
}

void pf_buf_consume(pf_buf *b, size_t n)
{
    if (n >= b->len) {
        b->off = b->len = 0;
        return;
    }
    b->off += n;
    b->len -= n;
}

void pf_buf_shrink(pf_buf *b)
{
    if (b->len == 0)
        pf_buf_free(b);
}
