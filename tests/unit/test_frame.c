/* The framing building blocks (protofsm/frame.h): lines under both end-of-
 * line policies and their limit at its edges, fed whole and a byte at a
 * time (the same answer either way, each byte searched once); counted
 * blocks that refuse a wrong terminator as soon as it shows; decimal and
 * variable-length numbers at their limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "protofsm/frame.h"

/* Feed s[0..k) for k = 1..len, as bytes arriving one at a time would. */
static ssize_t line_bytewise(const char *s, size_t max, enum pf_frame_eol eol, size_t *text)
{
    pf_frame_line st = { 0 };
    size_t len = strlen(s);
    ssize_t r = -EAGAIN;
    for (size_t k = 1; k <= len && r == -EAGAIN; k++)
        r = pf_frame_line_next(&st, s, k, max, eol, text);
    return r;
}

static ssize_t line_whole(const char *s, size_t max, enum pf_frame_eol eol, size_t *text)
{
    pf_frame_line st = { 0 };
    return pf_frame_line_next(&st, s, strlen(s), max, eol, text);
}

static void expect_line(const char *s, size_t max, enum pf_frame_eol eol, ssize_t want,
                        size_t want_text)
{
    size_t t1 = 0, t2 = 0;
    assert_int_equal(line_whole(s, max, eol, &t1), want);
    assert_int_equal(line_bytewise(s, max, eol, &t2), want);
    if (want > 0) {
        assert_int_equal(t1, want_text);
        assert_int_equal(t2, want_text);
    }
}

static void test_lines(void **st)
{
    (void)st;
    expect_line("abc\n", 10, PF_EOL_LF, 4, 3);
    expect_line("abc\r\n", 10, PF_EOL_LF, 5, 3);
    expect_line("abc\r\n", 10, PF_EOL_CRLF, 5, 3);
    expect_line("abc\n", 10, PF_EOL_CRLF, -EBADMSG, 0);
    expect_line("\n", 10, PF_EOL_LF, 1, 0);
    expect_line("\r\n", 0, PF_EOL_CRLF, 2, 0);
    expect_line("abc", 10, PF_EOL_LF, -EAGAIN, 0);
    expect_line("ab\rc\n", 10, PF_EOL_LF, 5, 4); /* a CR inside is text */
    /* the limit at its edges: max text, max text + CR, one more */
    expect_line("12345\n", 5, PF_EOL_LF, 6, 5);
    expect_line("12345\r\n", 5, PF_EOL_LF, 7, 5);
    expect_line("123456\n", 5, PF_EOL_LF, -EMSGSIZE, 0);
    expect_line("123456\r\n", 5, PF_EOL_CRLF, -EMSGSIZE, 0);
    /* without an LF: max + 1 bytes may still end well, max + 2 may not */
    expect_line("123456", 5, PF_EOL_LF, -EAGAIN, 0);
    expect_line("1234567", 5, PF_EOL_LF, -EMSGSIZE, 0);
    /* the second line of a buffer after the first was taken */
    pf_frame_line s2 = { 0 };
    size_t t;
    const char two[] = "a\nbb\r\n";
    assert_int_equal(pf_frame_line_next(&s2, two, 6, 10, PF_EOL_LF, &t), 2);
    assert_int_equal(pf_frame_line_next(&s2, two + 2, 4, 10, PF_EOL_LF, &t), 4);
    assert_int_equal(t, 2);
}

/* A line trickled in is searched once: after -EAGAIN the state says how
 * far, and a later call starts there. */
static void test_line_resumes(void **st)
{
    (void)st;
    pf_frame_line s = { 0 };
    size_t t;
    char buf[64] = "GET /";
    assert_int_equal(pf_frame_line_next(&s, buf, 5, 60, PF_EOL_LF, &t), -EAGAIN);
    assert_int_equal(s.scanned, 5);
    /* a newline planted in the searched part is not seen again: the scan
     * resumes at 5 (the contract says earlier bytes do not change) */
    buf[2] = '\n';
    strcpy(buf + 5, "x\n");
    assert_int_equal(pf_frame_line_next(&s, buf, 7, 60, PF_EOL_LF, &t), 7);
    assert_int_equal(t, 6);
    assert_int_equal(s.scanned, 0);
}

static void test_blocks(void **st)
{
    (void)st;
    assert_int_equal(pf_frame_block("hello\r\n", 7, 5, "\r\n", 2), 7);
    assert_int_equal(pf_frame_block("hello\r\nX", 8, 5, "\r\n", 2), 7);
    assert_int_equal(pf_frame_block("hello", 5, 5, "\r\n", 2), -EAGAIN);
    assert_int_equal(pf_frame_block("hello\r", 6, 5, "\r\n", 2), -EAGAIN);
    /* a wrong terminator is refused on its first byte, whatever follows */
    assert_int_equal(pf_frame_block("hellox", 6, 5, "\r\n", 2), -EBADMSG);
    assert_int_equal(pf_frame_block("hello\rx", 7, 5, "\r\n", 2), -EBADMSG);
    assert_int_equal(pf_frame_block("hel", 3, 5, "\r\n", 2), -EAGAIN);
    assert_int_equal(pf_frame_block("", 0, 0, "\r\n", 2), -EAGAIN);
    assert_int_equal(pf_frame_block("\r\n", 2, 0, "\r\n", 2), 2);
    assert_int_equal(pf_frame_block("abc", 3, 3, "", 0), 3);
    assert_int_equal(pf_frame_block("ab", 2, 3, "", 0), -EAGAIN);
}

static void test_numbers(void **st)
{
    (void)st;
    uint64_t u = 7;
    assert_int_equal(pf_frame_u64("0", 1, 10, &u), 0);
    assert_int_equal(u, 0);
    assert_int_equal(pf_frame_u64("10", 2, 10, &u), 0);
    assert_int_equal(u, 10);
    assert_int_equal(pf_frame_u64("11", 2, 10, &u), -ERANGE);
    assert_int_equal(pf_frame_u64("", 0, 10, &u), -EINVAL);
    assert_int_equal(pf_frame_u64("1a", 2, 100, &u), -EINVAL);
    assert_int_equal(pf_frame_u64("-1", 2, 100, &u), -EINVAL);
    assert_int_equal(pf_frame_u64(" 1", 2, 100, &u), -EINVAL);
    assert_int_equal(pf_frame_u64("18446744073709551615", 20, UINT64_MAX, &u), 0);
    assert_true(u == UINT64_MAX);
    /* one more wraps in 64 bits: not a small number, not the largest one */
    assert_int_equal(pf_frame_u64("18446744073709551616", 20, UINT64_MAX, &u), -ERANGE);
    assert_int_equal(pf_frame_u64("18446744073709551616", 20, UINT64_MAX - 1, &u), -ERANGE);
    assert_int_equal(pf_frame_u64("18446744073709551615x", 21, UINT64_MAX, &u), -EINVAL);
    assert_int_equal(pf_frame_u64("99999999999999999999999", 23, UINT64_MAX - 1, &u), -ERANGE);
    int64_t i;
    assert_int_equal(pf_frame_i64("-5", 2, -10, 10, &i), 0);
    assert_true(i == -5);
    assert_int_equal(pf_frame_i64("-11", 3, -10, 10, &i), -ERANGE);
    assert_int_equal(pf_frame_i64("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(pf_frame_i64("9223372036854775808", 19, INT64_MIN, INT64_MAX, &i), -ERANGE);
    assert_int_equal(pf_frame_i64("-", 1, -10, 10, &i), -EINVAL);
    assert_int_equal(pf_frame_i64("--1", 3, -10, 10, &i), -EINVAL);
}

static void test_varint(void **st)
{
    (void)st;
    uint64_t v;
    assert_int_equal(pf_frame_varint("\x00", 1, 4, &v), 1);
    assert_true(v == 0);
    assert_int_equal(pf_frame_varint("\x7f", 1, 4, &v), 1);
    assert_true(v == 127);
    assert_int_equal(pf_frame_varint("\x80\x01", 2, 4, &v), 2);
    assert_true(v == 128);
    /* MQTT's largest remaining length, 268,435,455, in four bytes */
    assert_int_equal(pf_frame_varint("\xff\xff\xff\x7f", 4, 4, &v), 4);
    assert_true(v == 268435455);
    assert_int_equal(pf_frame_varint("\xff\xff\xff\xff", 4, 4, &v), -EBADMSG);
    assert_int_equal(pf_frame_varint("\xff\xff\xff", 3, 4, &v), -EAGAIN);
    assert_int_equal(pf_frame_varint("", 0, 4, &v), -EAGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_line_resumes),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_varint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
