/* The timer heap: order over 100k random deadlines, unlink and move from
 * the middle, and never firing early against the real clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <time.h>

#include "../../runtime/timer.h"

#define N 100000

static pf__timer_entry es[N];

static void test_order_100k(void **state)
{
    pf__timers t;
    pf__timer_entry *e;
    uint64_t last = 0;
    size_t n = 0;
    (void)state;
    srand(7);
    pf__timers_init(&t);
    for (size_t i = 0; i < N; i++) {
        pf__timer_entry_init(&es[i]);
        assert_int_equal(pf__timers_link(&t, &es[i], 1000 + (uint64_t)(rand() % 50000)), 0);
    }
    assert_int_equal(pf__timers_count(&t), N);
    assert_null(pf__timers_expired(&t, 999));
    /* Move a third, unlink a third. */
    for (size_t i = 0; i < N; i += 3)
        pf__timers_link(&t, &es[i], 1000 + (uint64_t)(rand() % 50000));
    for (size_t i = 1; i < N; i += 3)
        pf__timers_unlink(&t, &es[i]);
    for (size_t i = 1; i < N; i += 3)
        assert_false(pf__timer_linked(&es[i]));
    while ((e = pf__timers_expired(&t, 25000))) {
        assert_true(e->deadline >= last && e->deadline <= 25000);
        assert_false(pf__timer_linked(e));
        last = e->deadline;
        n++;
    }
    assert_true(pf__timers_next(&t) > 25000);
    while ((e = pf__timers_expired(&t, UINT64_MAX - 1))) {
        assert_true(e->deadline >= last);
        last = e->deadline;
        n++;
    }
    assert_int_equal(n, N - (N + 1) / 3);
    assert_int_equal(pf__timers_next(&t), PF__TIMER_NEVER);
    pf__timers_free(&t);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Against the real clock: the entry is not returned before `ms` real
 * milliseconds have passed, and it is returned at the first look whose
 * clock reading has reached its deadline (the heap adds no lateness; what
 * the scheduler adds is not the timer's doing, so it is not asserted). */
static void test_never_early(void **state)
{
    pf__timers t;
    pf__timer_entry e;
    (void)state;
    pf__timers_init(&t);
    for (unsigned ms = 0; ms < 6; ms++) {
        pf__timer_entry_init(&e);
        uint64_t start = now_ns();
        uint64_t deadline = pf__timer_deadline(ms), now, prev = 0;
        pf__timers_link(&t, &e, deadline);
        for (;;) {
            now = pf__now_ms();
            if (pf__timers_expired(&t, now))
                break;
            assert_true(now < deadline);
            prev = now;
        }
        uint64_t waited = now_ns() - start;
        assert_true(now >= deadline);
        assert_true(prev < deadline);
        assert_true(waited >= (uint64_t)ms * 1000000u);
    }
    pf__timers_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_100k),
        cmocka_unit_test(test_never_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
