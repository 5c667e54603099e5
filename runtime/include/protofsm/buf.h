/* Byte buffers with a hard limit.
 *
 * A pf_buf is a growable array whose consumed prefix is dropped lazily:
 * pf_buf_consume only advances an offset, and the bytes are moved down when
 * space is next reserved, so a reader that consumes packet by packet costs no
 * memmove per packet.  `max` bounds the live bytes; growth past it fails with
 * -EMSGSIZE instead of allocating.  Not thread-safe. */
#ifndef PROTOFSM_BUF_H
#define PROTOFSM_BUF_H

#include <stddef.h>

typedef struct pf_buf {
    char *data;   /* live bytes are data[off .. off+len) */
    size_t off;
    size_t len;
    size_t cap;
    size_t max;   /* limit on len; 0 means SIZE_MAX/2 */
} pf_buf;

void pf_buf_init(pf_buf *b, size_t max);
void pf_buf_free(pf_buf *b);

static inline char *pf_buf_head(const pf_buf *b) { return b->data + b->off; }
static inline char *pf_buf_tail(const pf_buf *b) { return b->data + b->off + b->len; }
/* Bytes writable at pf_buf_tail() without another reserve. */
static inline size_t pf_buf_room(const pf_buf *b) { return b->cap - b->off - b->len; }

/* Make room for at least n more bytes at the tail.  May move the live bytes
 * (so pointers into the buffer are invalidated; offsets are not).
 * 0, -EMSGSIZE when len + n would exceed max, -ENOMEM. */
int pf_buf_reserve(pf_buf *b, size_t n);
/* Note that n bytes were written at the tail. */
void pf_buf_commit(pf_buf *b, size_t n);
int pf_buf_append(pf_buf *b, const void *p, size_t n);
/* Drop n bytes from the head (n <= len). */
void pf_buf_consume(pf_buf *b, size_t n);
/* Give back memory of an empty buffer (idle connections keep nothing). */
void pf_buf_shrink(pf_buf *b);

#endif
