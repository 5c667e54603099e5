/* Framing building blocks a protocol's parser is made of: lines, counted
 * blocks, decimal numbers and variable-length integers.  Every shipped
 * protocol frames with these instead of its own copy, and so can yours.
 *
 * They follow the parser contract of protocol.h: they read only
 * buf[0..len), never allocate, keep no pointer into the buffer (only
 * offsets, so the buffer may move between calls), and say "need more" with
 * -EAGAIN.  A result is never a guess made before the bytes that decide it
 * have arrived, so any split of the input gives the same results. */
#ifndef PROTOFSM_FRAME_H
#define PROTOFSM_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- lines ---------------------------------------------------------------- */

/* What ends a line. */
enum pf_frame_eol {
    PF_EOL_LF = 0,   /* LF, with an optional CR before it (not part of the text) */
    PF_EOL_CRLF = 1  /* CRLF only: a bare LF is malformed */
};

/* Per-parser state of the line being searched: how many bytes of it were
 * already looked at, so a line that arrives in pieces is scanned once. */
typedef struct pf_frame_line {
    size_t scanned;
} pf_frame_line;

/* The line at the start of buf[0..len).  Returns its length with the
 * terminator (> 0) and sets *text to the length without CR/LF; the state
 * is reset for the next line.  -EAGAIN: no LF yet (all of buf was
 * searched).  -EMSGSIZE: the text is longer than `max` bytes (known as soon
 * as max + 2 bytes have come without an LF, or max + 1 with a CRLF policy
 * that cannot end there).  -EBADMSG: PF_EOL_CRLF and the LF has no CR. */
ssize_t pf_frame_line_next(pf_frame_line *st, const char *buf, size_t len, size_t max,
                           enum pf_frame_eol eol, size_t *text);

/* ---- counted blocks ------------------------------------------------------- */

/* A block of exactly `n` bytes followed by the terminator term[0..tlen)
 * (e.g. "\r\n"; tlen 0: none), at the start of buf[0..len).  Returns n +
 * tlen when the block and its terminator are all there, -EAGAIN when bytes
 * are missing, -EBADMSG as soon as a terminator byte that has arrived
 * differs: the bytes after a wrong-length block are never taken for the
 * next packet. */
ssize_t pf_frame_block(const char *buf, size_t len, size_t n, const char *term, size_t tlen);

/* ---- numbers -------------------------------------------------------------- */

/* buf[0..len) as an unsigned decimal: digits only (no sign, no spaces),
 * at least one.  0 and *out set, -EINVAL when it is not a number, -ERANGE
 * when it is over `max`. */
int pf_frame_u64(const char *buf, size_t len, uint64_t max, uint64_t *out);

/* The same with an optional leading '-': -ERANGE outside [min, max]. */
int pf_frame_i64(const char *buf, size_t len, int64_t min, int64_t max, int64_t *out);

/* A variable-length integer at the start of buf[0..len): 7 bits a byte,
 * least significant first, the top bit set on every byte but the last
 * (MQTT's remaining length, protobuf's varint).  Returns the bytes it took
 * (1..maxbytes) and sets *out; -EAGAIN when it goes on past len; -EBADMSG
 * when it would take more than `maxbytes` (at most 9). */
int pf_frame_varint(const char *buf, size_t len, unsigned maxbytes, uint64_t *out);

#endif
