/* libFuzzer target for the MQTT parser and, through the session driver,
 * the session machine and the broker.
 *
 * Oracles besides ASan/UBSan:
 * - the split rule: the parser fed the input whole and fed it as it arrives
 *   in pieces (the first byte sets the step) yields the same packets, the
 *   same fields (as offsets) and the same error;
 * - every slice of a packet lies inside that packet;
 * - the broker (two sessions by hand: the input goes to the second, a
 *   subscriber to '#' is the first) never crashes and its sessions end
 *   when the input closes them; memory is returned (LeakSanitizer). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "mqtt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
    uint16_t ev;
    size_t off, len;
    size_t sl[8][2];
    uint16_t id;
    uint8_t qos, level, cflags;
    unsigned count;
};

static void rec_of(struct rec *r, const pf_packet *pkt, const pf_mqtt_fields *f,
                   const char *in, size_t start, size_t n)
{
    const pf_slice *sl[8] = { &f->topic, &f->payload, &f->client_id, &f->will_topic,
                              &f->will_message, &f->username, &f->password, &f->list };
    memset(r, 0, sizeof(*r));
    r->ev = pkt->event;
    r->off = start;
    r->len = n;
    for (int i = 0; i < 8; i++) {
        if (sl[i]->len && (sl[i]->ptr < in + start || sl[i]->ptr + sl[i]->len > in + start + n))
            abort();
        r->sl[i][0] = sl[i]->len ? (size_t)(sl[i]->ptr - in) : 0;
        r->sl[i][1] = sl[i]->len;
    }
    r->id = f->packet_id;
    r->qos = f->qos;
    r->level = f->level;
    r->cflags = f->connect_flags;
    r->count = f->count;
}

static size_t run(const char *in, size_t n, size_t step, struct rec *out, size_t max, int *err)
{
    _Alignas(max_align_t) char parser[256];
    pf_mqtt_conf conf = { .max_packet = 4096 };
    pf_mqtt_protocol.parser_init(parser, &conf);
    size_t start = 0, avail = step ? (step < n ? step : n) : n, k = 0;
    *err = 0;
    while (k < max) {
        pf_mqtt_fields f;
        pf_packet pkt = { .fields = &f };
        ssize_t r = pf_mqtt_protocol.parse(parser, in + start, avail - start, &pkt);
        if (r == -EAGAIN) {
            if (avail == n)
                break;
            avail = avail + step < n ? avail + step : n;
            continue;
        }
        if (r < 0) {
            *err = (int)r;
            break;
        }
        if (pkt.raw.ptr != in + start || pkt.raw.len != (size_t)r)
            abort();
        rec_of(&out[k++], &pkt, &f, in, start, (size_t)r);
        start += (size_t)r;
        if (avail < start)
            avail = start;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    static struct rec a[1024], b[1024];
    int ea, eb;
    size_t na = run(in, n, 0, a, 1024, &ea);
    size_t nb = run(in, n, step, b, 1024, &eb);
    if (na != nb || ea != eb || memcmp(a, b, na * sizeof a[0]))
        abort();

    /* The broker: a subscriber to everything, then the input as a client. */
    static const char conn[] = "\x10\x0d\x00\x04MQTT\x04\x02\x00\x00\x00\x01w";
    static const char suball[] = "\x82\x06\x00\x01\x00\x01#\x02";
    pf_broker *br = pf_broker_new(NULL);
    pf_session_conf sc = { .max_output = 1 << 16, .max_input = 1 << 16, .listener_data = br };
    pf_session *w = pf_session_new(&pf_broker_service, &sc);
    pf_session *s = pf_session_new(&pf_broker_service, &sc);
    if (!br || !w || !s)
        abort();
    pf_session_feed(w, conn, sizeof conn - 1);
    pf_session_feed(w, suball, sizeof suball - 1);
    for (size_t at = 0; at < n; at += step)
        pf_session_feed(s, in + at, n - at < step ? n - at : step);
    pf_session_free(s);
    pf_session_free(w);
    pf_broker_free(br);
    return 0;
}
