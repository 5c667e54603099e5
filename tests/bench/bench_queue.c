/* Cost of handing work from the I/O thread to a worker and back.
 *
 *   same-thread   post + trytake of one item (the lock, uncontended)
 *   batch=1/16    items per second through pf__queue to one consumer thread
 *                 posting 1 or 16 at a time (the consumer takes shares)
 *   round trip    post one item, the worker takes it and answers through an
 *                 eventfd, as a completion does: the full hsha hop */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../../runtime/queue.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pf__queue q;
static int efd;
static volatile uint64_t consumed;

static void *sink(void *arg)
{
    void *items[64];
    size_t n;
    (void)arg;
    while ((n = pf__queue_take(&q, items, 64)) > 0)
        consumed += n;
    return NULL;
}

static void *echo(void *arg)
{
    void *items[1];
    uint64_t one = 1;
    (void)arg;
    while (pf__queue_take(&q, items, 1) > 0)
        (void)!write(efd, &one, sizeof(one));
    return NULL;
}

static double through(size_t batch, size_t total)
{
    pthread_t t;
    void *items[16];
    pf__queue_init(&q, 4096);
    consumed = 0;
    pthread_create(&t, NULL, sink, NULL);
    for (size_t i = 0; i < 16; i++)
        items[i] = (void *)(i + 1);
    uint64_t t0 = now_ns();
    for (size_t sent = 0; sent < total;) {
        size_t k = pf__queue_post(&q, items, batch);
        sent += k;
    }
    pf__queue_close(&q);
    pthread_join(t, NULL);
    uint64_t t1 = now_ns();
    pf__queue_destroy(&q);
    return (double)(t1 - t0) / (double)total;
}

int main(void)
{
    void *it = (void *)1, *out[1];
    const int N = 1000000;

    pf__queue_init(&q, 1024);
    uint64_t t0 = now_ns();
    for (int i = 0; i < N; i++) {
        pf__queue_post(&q, &it, 1);
        pf__queue_trytake(&q, out, 1);
    }
    double same = (double)(now_ns() - t0) / N;
    pf__queue_destroy(&q);

    double b1 = through(1, 2000000), b16 = through(16, 4000000);

    pthread_t t;
    uint64_t v;
    const int R = 20000;
    pf__queue_init(&q, 1024);
    efd = eventfd(0, 0);
    pthread_create(&t, NULL, echo, NULL);
    t0 = now_ns();
    for (int i = 0; i < R; i++) {
        pf__queue_post(&q, &it, 1);
        (void)!read(efd, &v, sizeof(v));
    }
    double rt = (double)(now_ns() - t0) / R;
    pf__queue_close(&q);
    pthread_join(t, NULL);
    pf__queue_destroy(&q);
    close(efd);

    printf("queue same-thread post+take: %.0f ns/item\n", same);
    printf("queue to 1 worker, batch=1:  %.0f ns/item\n", b1);
    printf("queue to 1 worker, batch=16: %.0f ns/item\n", b16);
    printf("round trip (post, worker wakes, eventfd back): %.1f us\n", rt / 1000.0);
    return 0;
}
