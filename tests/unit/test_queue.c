/* The bounded request queue: order, the bound, batch shares, close, a
 * many-producer many-consumer run that loses and duplicates nothing, and a
 * ping-pong that puts the takers to sleep before every post (a lost
 * wake-up hangs it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "../../runtime/queue.h"

#define P(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

static void test_fifo_and_bound(void **state)
{
    pf__queue q;
    void *in[6] = { P(1), P(2), P(3), P(4), P(5), P(6) }, *out[10];
    (void)state;
    assert_int_equal(pf__queue_init(&q, 4), 0);
    assert_int_equal(pf__queue_post(&q, in, 6), 4); /* full: the rest is refused */
    assert_int_equal(pf__queue_depth(&q), 4);
    assert_int_equal(pf__queue_post(&q, in + 4, 2), 0);
    assert_int_equal(pf__queue_take(&q, out, 10), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(U(out[i]), i + 1);
    assert_int_equal(pf__queue_trytake(&q, out, 10), 0);
    /* Wrap around the ring. */
    assert_int_equal(pf__queue_post(&q, in, 3), 3);
    assert_int_equal(pf__queue_take(&q, out, 2), 2);
    assert_int_equal(pf__queue_post(&q, in + 3, 3), 3);
    assert_int_equal(pf__queue_take(&q, out, 10), 4);
    assert_int_equal(U(out[0]), 3);
    assert_int_equal(U(out[3]), 6);
    pf__queue_destroy(&q);
    assert_int_equal(pf__queue_init(&q, 0), -EINVAL);
}

/* Each item keeps the stamp it was posted with, across the ring's wrap;
 * plain posts stamp 0. */
static void test_stamps(void **state)
{
    pf__queue q;
    void *in[3] = { P(1), P(2), P(3) }, *out[8];
    uint64_t st[8];
    (void)state;
    assert_int_equal(pf__queue_init(&q, 4), 0);
    assert_int_equal(pf__queue_post_at(&q, in, 3, 100), 3);
    assert_int_equal(pf__queue_take_stamped(&q, out, st, 2, 0), 2);
    assert_true(st[0] == 100 && st[1] == 100);
    assert_int_equal(pf__queue_post_at(&q, in, 2, 200), 2);
    assert_int_equal(pf__queue_post(&q, in + 2, 1), 1);
    assert_int_equal(pf__queue_take_stamped(&q, out, st, 8, 1), 4);
    assert_true(U(out[0]) == 3 && st[0] == 100);
    assert_true(U(out[1]) == 1 && st[1] == 200);
    assert_true(U(out[2]) == 2 && st[2] == 200);
    assert_true(U(out[3]) == 3 && st[3] == 0);
    pf__queue_destroy(&q);
}

static void test_batch_share(void **state)
{
    pf__queue q;
    void *in[8], *out[16];
    (void)state;
    for (int i = 0; i < 8; i++)
        in[i] = P(i + 1);
    assert_int_equal(pf__queue_init(&q, 64), 0);
    pf__queue_set_takers(&q, 4);
    assert_int_equal(pf__queue_post(&q, in, 8), 8);
    assert_int_equal(pf__queue_take(&q, out, 16), 2); /* 8 items, 4 takers */
    assert_int_equal(pf__queue_take(&q, out, 16), 2);
    assert_int_equal(pf__queue_take(&q, out, 1), 1);  /* max wins */
    assert_int_equal(pf__queue_take(&q, out, 16), 1); /* 3 left / 4: at least 1 */
    pf__queue_destroy(&q);
}

static void *blocked_taker(void *arg)
{
    void *out[4];
    return P(pf__queue_take(arg, out, 4));
}

static void test_close_wakes(void **state)
{
    pf__queue q;
    pthread_t t;
    void *rv;
    (void)state;
    assert_int_equal(pf__queue_init(&q, 8), 0);
    pthread_create(&t, NULL, blocked_taker, &q);
    /* Close only once the taker is asleep in pf__queue_take: closing first
     * would test the closed check, not the wake-up. */
    for (unsigned w = 0; !w;) {
        pthread_mutex_lock(&q._lock);
        w = q._waiting;
        pthread_mutex_unlock(&q._lock);
        if (!w)
            sched_yield();
    }
    pf__queue_close(&q);
    pthread_join(t, &rv);
    assert_int_equal(U(rv), 0);
    void *one = P(1);
    assert_int_equal(pf__queue_post(&q, &one, 1), 0); /* closed */
    pf__queue_destroy(&q);
}

#define PRODUCERS 3
#define CONSUMERS 3
#define PER_PRODUCER 100000

static pf__queue mq;
static uint64_t seen[CONSUMERS][PRODUCERS];
static int order_ok[CONSUMERS];
static uint64_t sums[CONSUMERS], counts[CONSUMERS];

static void *producer(void *arg)
{
    uintptr_t id = U(arg);
    void *batch[32];
    size_t n = 0;
    for (uintptr_t i = 1; i <= PER_PRODUCER; i++) {
        batch[n++] = P((id << 32) | i);
        if (n == 32 || i == PER_PRODUCER) {
            size_t done = 0;
            while (done < n) {
                size_t k = pf__queue_post(&mq, batch + done, n - done);
                done += k;
                if (!k)
                    sched_yield(); /* full: the consumers catch up */
            }
            n = 0;
        }
    }
    return NULL;
}

static void *consumer(void *arg)
{
    uintptr_t id = U(arg);
    void *out[16];
    size_t n;
    order_ok[id] = 1;
    while ((n = pf__queue_take(&mq, out, 16)) > 0)
        for (size_t i = 0; i < n; i++) {
            uintptr_t v = U(out[i]), p = v >> 32, s = v & 0xffffffffu;
            if (s <= seen[id][p])
                order_ok[id] = 0; /* one taker sees each producer in order */
            seen[id][p] = s;
            sums[id] += s;
            counts[id]++;
        }
    return NULL;
}

static void test_mpmc(void **state)
{
    pthread_t p[PRODUCERS], c[CONSUMERS];
    uint64_t sum = 0, count = 0;
    (void)state;
    assert_int_equal(pf__queue_init(&mq, 256), 0);
    pf__queue_set_takers(&mq, CONSUMERS);
    for (uintptr_t i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, P(i));
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        pthread_create(&p[i], NULL, producer, P(i));
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    pf__queue_close(&mq);
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_join(c[i], NULL);
        assert_true(order_ok[i]);
        sum += sums[i];
        count += counts[i];
    }
    assert_int_equal(count, (uint64_t)PRODUCERS * PER_PRODUCER);
    assert_int_equal(sum, (uint64_t)PRODUCERS * PER_PRODUCER * (PER_PRODUCER + 1) / 2);
    pf__queue_destroy(&mq);
}

/* One item at a time, each posted only once the last was taken and the
 * takers have gone back to sleep: every post must wake one of them. */
#define PINGS 3000
static pf__queue pq;
static atomic_uint pongs;

static void *ponger(void *arg)
{
    void *out[4];
    size_t n;
    (void)arg;
    while ((n = pf__queue_take(&pq, out, 4)) > 0)
        atomic_fetch_add(&pongs, (unsigned)n);
    return NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_ping_pong_wakes(void **state)
{
    pthread_t t[2];
    unsigned lost = 0;
    (void)state;
    assert_int_equal(pf__queue_init(&pq, 4), 0);
    pf__queue_set_takers(&pq, 2);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, ponger, NULL);
    for (unsigned i = 1; i <= PINGS && !lost; i++) {
        void *item = P(i);
        assert_int_equal(pf__queue_post(&pq, &item, 1), 1);
        uint64_t end = now_ms() + 5000;
        while (atomic_load(&pongs) < i)
            if (now_ms() > end) {
                lost = i; /* nobody woke for it */
                break;
            } else if (i % 2) {
                sched_yield(); /* odd: the next post races the sleep */
            } else {
                struct timespec ts = { 0, 20000 };
                nanosleep(&ts, NULL); /* even: the takers are asleep */
            }
    }
    pf__queue_close(&pq);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(lost, 0);
    assert_int_equal(atomic_load(&pongs), PINGS);
    pf__queue_destroy(&pq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_bound),
        cmocka_unit_test(test_stamps),
        cmocka_unit_test(test_batch_share),
        cmocka_unit_test(test_close_wakes),
        cmocka_unit_test(test_mpmc),
        cmocka_unit_test(test_ping_pong_wakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
