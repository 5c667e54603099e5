/* MQTT 3.1.1: the parser, the session machine and the broker through the
 * session driver.
 *
 * - every vector in tests/vectors/mqtt (NAME.in -> exactly NAME.out, and
 *   NAME.closed when the session must end up closing), each on a fresh
 *   broker, fed whole, byte by byte and split in two at every position;
 * - the parser alone on input that ends at a PROT_NONE guard page;
 * - the packet size limit, topic matching and UTF-8 edges;
 * - delivery between sessions (pf_post to sessions driven by hand): fan-out,
 *   wills, takeover, persistent sessions with queued and redelivered QoS 1
 *   messages, the in-flight window. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mqtt.h"
#include "broker/broker.h"
#include "mqtt_fsm.h"
#include "protofsm/post.h"
#include "protofsm/session.h"
#include "testutil.h"

#define VEC_DIR "tests/vectors/mqtt"

static pf_test_vec vecs[128];
static pf_test_vecs all = { VEC_DIR, vecs, 0, 128 };

/* The broker the sessions of a test share (as one listener's would). */
static pf_broker *broker;

/* Forget every session and retained message: a fresh broker. */
static void broker_reset(void)
{
    pf_broker_free(broker);
    broker = pf_broker_new(NULL);
    assert_non_null(broker);
}

static pf_session *open_m(const pf_session_conf *c)
{
    pf_session_conf sc = c ? *c : (pf_session_conf){ 0 };
    sc.listener_data = broker;
    return pf_session_new(&pf_broker_service, &sc);
}

static int load_vectors(void **st)
{
    (void)st;
    broker = pf_broker_new(NULL);
    if (!broker)
        return -1;
    return pf_test_each_vector(VEC_DIR, pf_test_vecs_add, &all) >= 40 ? 0 : -1;
}

static int free_vectors(void **st)
{
    (void)st;
    pf_test_vecs_free(&all);
    pf_broker_free(broker);
    return 0;
}

static void run_cut(const void *vp, const size_t *cuts, size_t ncuts, const char *how)
{
    pf_session_conf sc = { .listener_data = broker };
    assert_int_equal(pf_test_session_check(&pf_broker_service, &sc, vp, cuts, ncuts, how), 0);
    broker_reset();
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

/* The parser never reads past `len`, and its slices stay inside the packet. */
static void test_guard_page(void **st)
{
    (void)st;
    for (size_t i = 0; i < all.n; i++) {
        const pf_test_vec *v = &vecs[i];
        char *in = pf_test_guard_copy(v->in, v->in_len);
        assert_non_null(in);
        _Alignas(max_align_t) char parser[256];
        assert_true(pf_mqtt_protocol.parser_size <= sizeof parser);
        pf_mqtt_protocol.parser_init(parser, NULL);
        size_t at = 0;
        for (;;) {
            pf_mqtt_fields f;
            pf_packet pkt = { .fields = &f };
            ssize_t n = pf_mqtt_protocol.parse(parser, in + at, v->in_len - at, &pkt);
            if (n < 0) {
                assert_true(n == -EAGAIN || v->closes);
                break;
            }
            assert_true(pkt.raw.ptr == in + at && pkt.raw.len == (size_t)n);
            const pf_slice *sl[] = { &f.topic, &f.payload, &f.client_id, &f.will_topic,
                                     &f.will_message, &f.username, &f.password, &f.list };
            for (size_t k = 0; k < sizeof sl / sizeof sl[0]; k++)
                if (sl[k]->len)
                    assert_true(sl[k]->ptr >= in + at && sl[k]->ptr + sl[k]->len <= in + at + n);
            at += (size_t)n;
        }
        pf_test_guard_free(in, v->in_len);
    }
}

/* Every event name the parser produces, and the machine's shape. */
static void test_events_and_states(void **st)
{
    (void)st;
    static const unsigned char conn[] = { 0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0 };
    pf_session *s = open_m(NULL);
    assert_int_equal(pf_session_state(s), MQTT_ST_START);
    assert_int_equal(pf_session_feed(s, conn, sizeof conn), 1);
    assert_int_equal(pf_session_state(s), MQTT_ST_CONNECTED);
    assert_int_equal(pf_session_feed(s, "\xc0\x00", 2), 1);
    assert_int_equal(pf_session_state(s), MQTT_ST_CONNECTED);
    /* TIMEOUT (keep-alive) closes and lands in CLOSED. */
    assert_int_equal(pf_session_event(s, PF_EV_TIMEOUT), 0);
    assert_int_equal(pf_session_state(s), MQTT_ST_CLOSED);
    assert_true(pf_session_closing(s));
    pf_session_free(s);
    broker_reset();
    /* Before CONNECT, the CONNECT timer's TIMEOUT closes too. */
    s = open_m(NULL);
    pf_session_event(s, PF_EV_TIMEOUT);
    assert_int_equal(pf_session_state(s), MQTT_ST_CLOSED);
    assert_true(pf_session_closing(s));
    pf_session_free(s);
}

static void test_max_packet(void **st)
{
    (void)st;
    pf_mqtt_conf conf = { .max_packet = 100 };
    _Alignas(max_align_t) char parser[256];
    pf_mqtt_fields f;
    pf_packet pkt = { .fields = &f };
    unsigned char b[128] = { 0x30, 97, 0, 1, 't' };
    pf_mqtt_protocol.parser_init(parser, &conf);
    /* 2 + 97 = 99 bytes: fits; 2 + 98 = 100 fits; 101 does not. */
    assert_int_equal(pf_mqtt_protocol.parse(parser, (char *)b, 99, &pkt), 99);
    b[1] = 98;
    assert_int_equal(pf_mqtt_protocol.parse(parser, (char *)b, 100, &pkt), 100);
    b[1] = 99;
    /* Refused as soon as the length is known, not after buffering it. */
    assert_int_equal(pf_mqtt_protocol.parse(parser, (char *)b, 2, &pkt), -EMSGSIZE);
    assert_int_equal(pf_mqtt_protocol.parse(parser, (char *)b, 2, &pkt), -EMSGSIZE); /* sticky */
    /* A 4-byte length of 268,435,455 against the default limit. */
    static const unsigned char huge[] = { 0x30, 0xff, 0xff, 0xff, 0x7f };
    pf_mqtt_protocol.parser_init(parser, NULL);
    assert_int_equal(pf_mqtt_protocol.parse(parser, (const char *)huge, 5, &pkt), -EMSGSIZE);
}

static void test_match(void **st)
{
    (void)st;
    static const struct { const char *f, *t; int m; } cases[] = {
        { "a/b", "a/b", 1 },        { "a/b", "a/c", 0 },      { "a/b", "a/bc", 0 },
        { "a/+", "a/b", 1 },        { "a/+", "a/b/c", 0 },    { "a/+", "a/", 1 },
        { "a/+", "a", 0 },          { "+/+", "/x", 1 },       { "+", "/x", 0 },
        { "#", "a/b/c", 1 },        { "a/#", "a", 1 },        { "a/#", "a/b/c", 1 },
        { "a/#", "ab", 0 },         { "#", "$SYS/x", 0 },     { "+/x", "$SYS/x", 0 },
        { "$SYS/#", "$SYS/x", 1 },  { "a/+/c", "a/b/c", 1 },  { "a/+/c", "a/b/d", 0 },
        { "sport/tennis/#", "sport/tennis", 1 },               { "/+", "/", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (pf_mqtt_match(cases[i].f, strlen(cases[i].f), cases[i].t, strlen(cases[i].t)) !=
            cases[i].m) {
            fprintf(stderr, "match(%s, %s) != %d\n", cases[i].f, cases[i].t, cases[i].m);
            fail();
        }
    assert_true(pf_mqtt_filter_ok("a/+/#", 5));
    assert_false(pf_mqtt_filter_ok("a#", 2));
    assert_false(pf_mqtt_filter_ok("a/b+", 4));
    assert_false(pf_mqtt_filter_ok("", 0));
}

static void test_utf8(void **st)
{
    (void)st;
    assert_true(pf_mqtt_utf8_ok("", 0));
    assert_true(pf_mqtt_utf8_ok("\xef\xbf\xbf", 3));         /* U+FFFF: allowed */
    assert_true(pf_mqtt_utf8_ok("\xf4\x8f\xbf\xbf", 4));     /* U+10FFFF */
    assert_false(pf_mqtt_utf8_ok("\xf4\x90\x80\x80", 4));    /* over U+10FFFF */
    assert_false(pf_mqtt_utf8_ok("\xed\xbf\xbf", 3));        /* U+DFFF */
    assert_true(pf_mqtt_utf8_ok("\xed\x9f\xbf", 3));         /* U+D7FF */
    assert_false(pf_mqtt_utf8_ok("\x00", 1));
    assert_false(pf_mqtt_utf8_ok("\xe0\x80\xaf", 3));        /* overlong */
    assert_false(pf_mqtt_utf8_ok("\x80", 1));
    assert_false(pf_mqtt_utf8_ok("\xc3", 1));
}

/* ---- between sessions -------------------------------------------------- */

static size_t enc_str(unsigned char *b, const char *s)
{
    size_t n = strlen(s);
    b[0] = (unsigned char)(n >> 8);
    b[1] = (unsigned char)n;
    memcpy(b + 2, s, n);
    return n + 2;
}

/* CONNECT with client id, clean flag, keep-alive 0 and an optional will. */
static pf_session *client(const char *id, int clean, const char *will_topic)
{
    unsigned char b[256], *p = b + 2;
    p += enc_str(p, "MQTT");
    *p++ = 4;
    *p++ = (unsigned char)((clean ? 2 : 0) | (will_topic ? 0x04 : 0));
    *p++ = 0;
    *p++ = 0;
    p += enc_str(p, id);
    if (will_topic) {
        p += enc_str(p, will_topic);
        p += enc_str(p, "bye");
    }
    b[0] = 0x10;
    b[1] = (unsigned char)(p - b - 2);
    pf_session *s = open_m(NULL);
    assert_int_equal(pf_session_feed(s, b, (size_t)(p - b)), 1);
    pf_buf *o = pf_session_output(s);
    assert_true(o->len >= 4 && pf_buf_head(o)[0] == 0x20 && pf_buf_head(o)[3] == 0);
    return s;
}

static void sub(pf_session *s, const char *filter, int qos)
{
    unsigned char b[128], *p = b + 2;
    *p++ = 0;
    *p++ = 1;
    p += enc_str(p, filter);
    *p++ = (unsigned char)qos;
    b[0] = 0x82;
    b[1] = (unsigned char)(p - b - 2);
    assert_int_equal(pf_session_feed(s, b, (size_t)(p - b)), 1);
}

static void pub(pf_session *s, const char *topic, const char *msg, int qos, int id)
{
    unsigned char b[256], *p = b + 2;
    p += enc_str(p, topic);
    if (qos) {
        *p++ = (unsigned char)(id >> 8);
        *p++ = (unsigned char)id;
    }
    memcpy(p, msg, strlen(msg));
    p += strlen(msg);
    b[0] = (unsigned char)(0x30 | qos << 1);
    b[1] = (unsigned char)(p - b - 2);
    assert_int_equal(pf_session_feed(s, b, (size_t)(p - b)), 1);
}

static void drop_output(pf_session *s)
{
    pf_buf *o = pf_session_output(s);
    pf_buf_consume(o, o->len);
}

/* Count PUBLISH packets in s's output and the DUP flags among them. */
static int publishes(pf_session *s, int *dups, uint16_t *first_id)
{
    pf_buf *o = pf_session_output(s);
    const unsigned char *p = (const unsigned char *)pf_buf_head(o), *e = p + o->len;
    int n = 0;
    if (dups)
        *dups = 0;
    while (p < e) {
        unsigned char t = p[0];
        size_t rem = 0, sh = 0, h = 1;
        while (p[h] & 0x80)
            rem |= (size_t)(p[h++] & 0x7f) << sh, sh += 7;
        rem |= (size_t)p[h++] << sh;
        if ((t >> 4) == 3) {
            if (n == 0 && first_id && (t & 6)) {
                size_t tl = (size_t)p[h] << 8 | p[h + 1];
                *first_id = (uint16_t)(p[h + 2 + tl] << 8 | p[h + 3 + tl]);
            }
            n++;
            if (dups && (t & 8))
                (*dups)++;
        }
        p += h + rem;
    }
    return n;
}

static void test_fan_out_and_will(void **st)
{
    (void)st;
    pf_session *subs[5];
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        subs[i] = client(id, 1, NULL);
        sub(subs[i], i % 2 ? "news/#" : "news/+", 1);
        drop_output(subs[i]);
    }
    pf_session *p = client("pub", 1, "news/will");
    pub(p, "news/a", "hello", 1, 3);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(publishes(subs[i], NULL, NULL), 1);
        drop_output(subs[i]);
    }
    /* Closed without DISCONNECT: the will goes out. */
    pf_session_free(p);
    for (int i = 0; i < 5; i++)
        assert_int_equal(publishes(subs[i], NULL, NULL), 1);
    /* With DISCONNECT: no will. */
    p = client("pub2", 1, "news/will");
    for (int i = 0; i < 5; i++)
        drop_output(subs[i]);
    pf_session_feed(p, "\xe0\x00", 2);
    pf_session_free(p);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(publishes(subs[i], NULL, NULL), 0);
        pf_session_free(subs[i]);
    }
    pf_broker_counts ms;
    pf_broker_stats(broker, &ms);
    assert_int_equal(ms.clients, 0);
    broker_reset();
}

static void test_takeover(void **st)
{
    (void)st;
    pf_session *a = client("same", 0, "t/will");
    pf_session *w = client("watcher", 1, NULL);
    sub(w, "t/#", 0);
    drop_output(w);
    pf_session *b = client("same", 0, NULL);
    /* MQTT-3.1.4-2: the first is closed; CONNACK says the session was kept. */
    assert_true(pf_session_closing(a));
    assert_false(pf_session_closing(b));
    assert_int_equal(pf_buf_head(pf_session_output(b))[2], 1);
    /* The old connection's packets no longer act, its close does not end
     * the new one's session. */
    pf_session_free(a);
    assert_int_equal(publishes(w, NULL, NULL), 1); /* its will */
    pub(b, "t/x", "from b", 0, 0);
    assert_int_equal(publishes(w, NULL, NULL), 2);
    pf_session_free(b);
    pf_session_free(w);
    broker_reset();
}

static void test_persistent_queue_and_redelivery(void **st)
{
    (void)st;
    pf_session *s = client("keep", 0, NULL);
    sub(s, "q", 1);
    pf_session *p = client("p", 1, NULL);
    pub(p, "q", "one", 1, 1); /* in flight to "keep", not acknowledged */
    assert_int_equal(publishes(s, NULL, NULL), 1);
    pf_session_free(s);
    pub(p, "q", "two", 1, 2); /* queued: "keep" is offline */
    pub(p, "q", "zero", 0, 0); /* QoS 0: not kept */
    s = client("keep", 0, NULL);
    assert_int_equal(pf_buf_head(pf_session_output(s))[2], 1); /* session present */
    int dups;
    uint16_t id = 0;
    /* MQTT-4.4.0-1: the unacknowledged one again with DUP, then the queued. */
    assert_int_equal(publishes(s, &dups, &id), 2);
    assert_int_equal(dups, 1);
    assert_int_equal(id, 1);
    pf_session_free(s);
    /* Clean session: everything is forgotten. */
    s = client("keep", 1, NULL);
    assert_int_equal(pf_buf_head(pf_session_output(s))[2], 0);
    assert_int_equal(publishes(s, NULL, NULL), 0);
    pf_session_free(s);
    pf_session_free(p);
    broker_reset();
}

/* No more than PF_MQTT_WINDOW unacknowledged; the rest wait in the queue
 * and go out as acknowledgements come back. */
static void test_window(void **st)
{
    (void)st;
    pf_session *s = client("slow", 1, NULL);
    sub(s, "w", 1);
    drop_output(s);
    pf_session *p = client("p", 1, NULL);
    for (unsigned i = 0; i < PF_MQTT_WINDOW + 10; i++)
        pub(p, "w", "m", 1, (int)i + 1);
    uint16_t first = 0;
    assert_int_equal(publishes(s, NULL, &first), PF_MQTT_WINDOW);
    drop_output(s);
    unsigned char ack[4] = { 0x40, 2, (unsigned char)(first >> 8), (unsigned char)first };
    pf_session_feed(s, ack, 4);
    assert_int_equal(publishes(s, NULL, NULL), 1);
    pf_session_free(s);
    pf_session_free(p);
    broker_reset();
}

/* Issue 12 item 9: persistent sessions that nobody comes back to do not
 * lock everyone else out.  A client makes 100,000 CleanSession 0 sessions
 * and leaves them all; a new client is still admitted (the session that
 * has been offline longest makes room), and one that is online is not
 * touched. */
static void test_session_cap_no_lockout(void **st)
{
    (void)st;
    pf_session *online = client("online", 0, NULL);
    sub(online, "o", 1);
    for (unsigned i = 0; i < 100000; i++) {
        char id[24];
        snprintf(id, sizeof id, "squat-%u", i);
        pf_session_free(client(id, 0, NULL));
    }
    pf_session *fresh = client("fresh", 1, NULL); /* asserts CONNACK 0 */
    pf_session *p = client("p", 1, NULL);
    drop_output(online);
    pub(p, "o", "still here", 1, 1);
    assert_int_equal(publishes(online, NULL, NULL), 1);
    pf_broker_counts bc;
    pf_broker_stats(broker, &bc);
    assert_int_equal(bc.clients, 100000);
    assert_int_equal(bc.evicted, 3); /* for the last squatter, "fresh" and "p" */
    assert_int_equal(bc.refused, 0);
    pf_session_free(p);
    pf_session_free(fresh);
    pf_session_free(online);
    broker_reset();
}

/* Issue 12 item 10: one client cannot fill the retained store for
 * everyone.  "hog" publishes 10,000 retained topics; "b" then publishes a
 * retained message, which is kept (a new subscriber gets it). */
static void test_retained_squatting(void **st)
{
    (void)st;
    pf_session *hog = client("hog", 1, NULL);
    for (unsigned i = 0; i < 10000 && !pf_session_closing(hog); i++) {
        char topic[24];
        snprintf(topic, sizeof topic, "hog/%u", i);
        unsigned char b[64], *q = b + 2;
        q += enc_str(q, topic);
        *q++ = 'x';
        b[0] = 0x31; /* QoS 0, retain */
        b[1] = (unsigned char)(q - b - 2);
        pf_session_feed(hog, b, (size_t)(q - b));
    }
    /* Its 1,001st retain is refused visibly: not acknowledged (QoS 0 here,
     * so: closed), counted; the store holds its share. */
    assert_true(pf_session_closing(hog));
    pf_broker_counts bc;
    pf_broker_stats(broker, &bc);
    assert_int_equal(bc.retain_refused, 1);
    assert_int_equal(bc.retained, 1000);
    pf_session *b = client("b", 1, NULL);
    unsigned char m[64], *q = m + 2;
    q += enc_str(q, "b/keep");
    *q++ = 0;
    *q++ = 9;
    memcpy(q, "mine", 4);
    q += 4;
    m[0] = 0x33; /* QoS 1, retain */
    m[1] = (unsigned char)(q - m - 2);
    drop_output(b);
    assert_int_equal(pf_session_feed(b, m, (size_t)(q - m)), 1);
    assert_int_equal(pf_session_output(b)->len, 4);
    assert_memory_equal(pf_buf_head(pf_session_output(b)), "\x40\x02\x00\x09", 4);
    pf_session *s = client("late", 1, NULL);
    drop_output(s);
    sub(s, "b/keep", 0);
    assert_int_equal(publishes(s, NULL, NULL), 1);
    pf_session_free(s);
    pf_session_free(b);
    pf_session_free(hog);
    broker_reset();
}

/* Handles: stale after the session is freed, and posting is refused whole
 * when the receiver's output is full. */
static void test_handles(void **st)
{
    (void)st;
    pf_session_conf sc = { .max_output = 16 };
    pf_session *s = open_m(&sc);
    pf_handle h;
    assert_int_equal(pf_session_handle(s, &h), 0);
    pf_handle h2;
    assert_int_equal(pf_session_handle(s, &h2), 0);
    assert_true(pf_handle_equal(h, h2));
    assert_int_equal(pf_post(h, "0123456789", 10), 0);
    uint64_t refused = pf_post_refused();
    assert_int_equal(pf_post(h, "0123456789", 10), -ENOBUFS);
    assert_int_equal(pf_post_refused(), refused + 1);
    assert_int_equal(pf_post(h, "0123456789abcdefg", 17), -EMSGSIZE);
    assert_int_equal(pf_session_output(s)->len, 10);
    assert_int_equal(pf_post_close(h), 0);
    assert_true(pf_session_closing(s));
    pf_session_free(s);
    assert_int_equal(pf_post(h, "x", 1), PF_ECLOSED);
    assert_int_equal(pf_post_close(h), PF_ECLOSED);
    /* The slot is reused with a new generation: the old handle stays dead. */
    s = open_m(NULL);
    assert_int_equal(pf_session_handle(s, &h2), 0);
    assert_false(pf_handle_equal(h, h2));
    assert_int_equal(pf_post(h, "x", 1), PF_ECLOSED);
    assert_int_equal(pf_post((pf_handle){ 0, 0 }, "x", 1), PF_ECLOSED);
    pf_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_whole),
        cmocka_unit_test(test_vectors_byte_by_byte),
        cmocka_unit_test(test_vectors_every_split),
        cmocka_unit_test(test_guard_page),
        cmocka_unit_test(test_events_and_states),
        cmocka_unit_test(test_max_packet),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_fan_out_and_will),
        cmocka_unit_test(test_takeover),
        cmocka_unit_test(test_persistent_queue_and_redelivery),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_session_cap_no_lockout),
        cmocka_unit_test(test_retained_squatting),
        cmocka_unit_test(test_handles),
    };
    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
