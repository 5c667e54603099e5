/* pf_buf: limits are hard, consumed bytes are dropped without a copy per
 * packet, and offsets survive a reserve that moves the data. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "protofsm/buf.h"

static void test_append_and_consume(void **st)
{
    (void)st;
    pf_buf b;
    pf_buf_init(&b, 0);
    assert_int_equal(pf_buf_append(&b, "hello world", 11), 0);
    pf_buf_consume(&b, 6);
    assert_int_equal(b.len, 5);
    assert_memory_equal(pf_buf_head(&b), "world", 5);
    assert_int_equal(b.off, 6); /* dropped lazily */
    pf_buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.off, 0);
    pf_buf_free(&b);
}

static void test_limit_is_hard(void **st)
{
    (void)st;
    pf_buf b;
    pf_buf_init(&b, 10);
    assert_int_equal(pf_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(pf_buf_append(&b, "x", 1), -EMSGSIZE);
    assert_int_equal(b.len, 10);
    assert_true(b.cap <= 256); /* never allocated past max (or the minimum) */
    assert_int_equal(pf_buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
    pf_buf_consume(&b, 4);
    assert_int_equal(pf_buf_append(&b, "abcd", 4), 0);
    assert_memory_equal(pf_buf_head(&b), "456789abcd", 10);
    pf_buf_free(&b);
}

static void test_slide_instead_of_grow(void **st)
{
    (void)st;
    pf_buf b;
    pf_buf_init(&b, 0);
    char chunk[100];
    memset(chunk, 'a', sizeof chunk);
    assert_int_equal(pf_buf_append(&b, chunk, 100), 0);
    assert_int_equal(pf_buf_append(&b, chunk, 100), 0);
    size_t cap = b.cap;
    pf_buf_consume(&b, 150);
    assert_int_equal(pf_buf_append(&b, chunk, 100), 0); /* 50 live + 100 fits */
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 150);
    pf_buf_free(&b);
}

static void test_growth_keeps_bytes(void **st)
{
    (void)st;
    pf_buf b;
    pf_buf_init(&b, 1 << 20);
    for (int i = 0; i < 100000; i++) {
        char c = (char)('a' + i % 26);
        assert_int_equal(pf_buf_append(&b, &c, 1), 0);
        if (i % 7 == 0)
            pf_buf_consume(&b, 1);
    }
    /* the surviving bytes are the tail of the sequence, in order */
    size_t n = b.len;
    for (size_t k = 0; k < n; k++)
        assert_int_equal(pf_buf_head(&b)[k], 'a' + (int)((100000 - n + k) % 26));
    pf_buf_free(&b);
}

static void test_reserve_commit(void **st)
{
    (void)st;
    pf_buf b;
    pf_buf_init(&b, 0);
    assert_int_equal(pf_buf_reserve(&b, 1000), 0);
    assert_true(pf_buf_room(&b) >= 1000);
    memcpy(pf_buf_tail(&b), "abc", 3);
    pf_buf_commit(&b, 3);
    assert_int_equal(b.len, 3);
    pf_buf_consume(&b, 3);
    pf_buf_shrink(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    pf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_consume),
        cmocka_unit_test(test_limit_is_hard),
        cmocka_unit_test(test_slide_instead_of_grow),
        cmocka_unit_test(test_growth_keeps_bytes),
        cmocka_unit_test(test_reserve_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
