/* memcached's text protocol and the mcd service, without sockets: every
 * vector of tests/vectors/memcache (memcached 1.6.18's own answers, made by
 * make_vectors.py, and the cases where mcd deliberately closes) fed whole,
 * byte by byte and at every split through the test kit, each run on a
 * fresh store; the parser on input ending at a guard page; a too-large
 * value skipped as it arrives, never held; the protocol's packet limit;
 * LRU eviction under a small memory limit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcd/mcd.h"
#include "memcache.h"
#include "memcache_events.h"
#include "protofsm/testkit.h"

#define VEC_DIR "tests/vectors/memcache"

static pf_test_vec vecs[64];
static pf_test_vecs all = { VEC_DIR, vecs, 0, 64 };

static int load(void **st)
{
    (void)st;
    return pf_test_each_vector(VEC_DIR, pf_test_vecs_add, &all) >= 30 ? 0 : -1;
}

static int unload(void **st)
{
    (void)st;
    pf_test_vecs_free(&all);
    return 0;
}

static void run_cut(const void *v, const size_t *cuts, size_t ncuts, const char *how)
{
    pf_mcd *m = pf_mcd_new(NULL);
    assert_non_null(m);
    pf_session_conf sc = { .listener_data = m }; /* input: the protocol's max_packet */
    int rc = pf_test_session_check(&pf_mcd_service, &sc, v, cuts, ncuts, how);
    pf_mcd_free(m);
    assert_int_equal(rc, 0);
}

static void test_vectors_whole(void **st)
{
    (void)st;
    pf_test_feed(&all, PF_TEST_WHOLE, run_cut);
}

static void test_vectors_byte_by_byte(void **st)
{
    (void)st;
    pf_test_feed(&all, PF_TEST_BYTEWISE, run_cut);
}

static void test_vectors_every_split(void **st)
{
    (void)st;
    pf_test_feed(&all, PF_TEST_EVERY_SPLIT, run_cut);
}

static void test_guard_page(void **st)
{
    (void)st;
    for (size_t i = 0; i < all.n; i++)
        assert_int_equal(pf_test_parse_guarded(&pf_memcache_protocol, NULL, vecs[i].in,
                                               vecs[i].in_len), 0);
}

/* A value over the item limit is passed over in SKIP packets no larger than
 * what has arrived: the parser never asks for the whole of it. */
static void test_too_large_is_skipped(void **st)
{
    (void)st;
    static const pf_mc_conf conf = { .max_item = 1024 };
    _Alignas(max_align_t) char parser[256];
    pf_mc_fields f;
    assert_true(pf_memcache_protocol.parser_size <= sizeof parser);
    pf_memcache_protocol.parser_init(parser, &conf);
    char in[4096];
    int hl = snprintf(in, sizeof in, "set k 0 0 3000\r\n");
    memset(in + hl, 'v', 3000);
    memcpy(in + hl + 3000, "\r\nget k\r\n", 9);
    size_t len = (size_t)hl + 3009, at = 0, skipped = 0, biggest = 0;
    int events[8], ne = 0;
    while (at < len) {
        /* at most 100 new bytes at a time, as a slow client sends them */
        size_t have = len - at < 100 ? len - at : 100;
        pf_packet pkt = { .fields = &f };
        ssize_t n = pf_memcache_protocol.parse(parser, in + at, have, &pkt);
        if (n == -EAGAIN) {
            assert_true(have == len - at); /* only the get line may wait */
            n = pf_memcache_protocol.parse(parser, in + at, len - at, &pkt);
        }
        assert_true(n > 0);
        if (pkt.event == MEMCACHE_EV_SKIP) {
            skipped += (size_t)n;
            biggest = (size_t)n > biggest ? (size_t)n : biggest;
        } else if (ne < 8) {
            events[ne++] = pkt.event;
        }
        at += (size_t)n;
    }
    assert_int_equal(skipped, 3002);
    assert_true(biggest <= 100);
    assert_int_equal(ne, 2);
    assert_int_equal(events[0], MEMCACHE_EV_TOO_LARGE);
    assert_int_equal(events[1], MEMCACHE_EV_GET);
}

/* The largest packet a listener must hold is the protocol's to say. */
static void test_max_packet(void **st)
{
    (void)st;
    assert_true(pf_mc_max_packet(NULL) >= PF_MC_MAX_ITEM_DEFAULT + PF_MC_MAX_LINE_DEFAULT);
    assert_true(pf_mc_max_packet(NULL) > PF_MC_MAX_GET_LINE_DEFAULT);
    pf_mc_conf big = { .max_item = 8u << 20 };
    assert_true(pf_mc_max_packet(&big) > 8u << 20);
}

/* 1 MiB of memory, 100 items of 20 KiB: the oldest go, the newest stay,
 * and a recently read one is kept. */
static void test_lru_eviction(void **st)
{
    (void)st;
    pf_mcd_conf conf = { .max_bytes = 1u << 20, .max_item = 64u << 10 };
    pf_mcd *m = pf_mcd_new(&conf);
    assert_non_null(m);
    pf_session_conf sc = { .listener_data = m, .max_input = 1u << 20, .max_output = 4u << 20 };
    pf_session *s = pf_session_new(&pf_mcd_service, &sc);
    assert_non_null(s);
    static char cmd[21000];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(cmd, sizeof cmd, "set k%d 0 0 20000\r\n", i);
        memset(cmd + n, 'a', 20000);
        memcpy(cmd + n + 20000, "\r\n", 2);
        assert_int_equal(pf_session_feed(s, cmd, (size_t)n + 20002), 1);
        if (i == 10)
            assert_int_equal(pf_session_feed(s, "get k0\r\n", 8), 1); /* k0 is used */
    }
    pf_mcd_stats ms;
    pf_mcd_stats_get(m, &ms);
    assert_true(ms.bytes <= 1u << 20);
    assert_true(ms.evictions > 0);
    assert_true(ms.curr_items + ms.evictions == 100);
    pf_buf *o = pf_session_output(s);
    pf_buf_consume(o, o->len);
    assert_int_equal(pf_session_feed(s, "get k99\r\n", 9), 1);
    assert_true(o->len > 20000); /* the newest is there */
    pf_buf_consume(o, o->len);
    assert_int_equal(pf_session_feed(s, "get k1\r\n", 8), 1);
    assert_int_equal(o->len, 5);   /* END: the oldest went first */
    pf_session_free(s);
    pf_mcd_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_whole),
        cmocka_unit_test(test_vectors_byte_by_byte),
        cmocka_unit_test(test_vectors_every_split),
        cmocka_unit_test(test_guard_page),
        cmocka_unit_test(test_too_large_is_skipped),
        cmocka_unit_test(test_max_packet),
        cmocka_unit_test(test_lru_eviction),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
