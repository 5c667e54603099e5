/* MQTT 3.1.1, broker side (see mqtt.h for what is checked).
 *
 * Framing: Ragel reads the fixed header (mqtt_grammar.rl), whose first byte
 * names the packet and fixes its flags and whose remaining length is 1 to 4
 * bytes.  Ragel does not count, so once the header is read the host code
 * waits for `remaining` more bytes and then decodes the variable header and
 * payload with a bounds-checked reader; strings are checked by the UTF-8
 * machine of the grammar.  Between calls the parser keeps only the Ragel
 * state and counters (no pointers), so the runtime may move its buffer, and
 * header bytes already scanned are not scanned again.
 *
 * The session machine: CONNECT must come first, then any packet but a second
 * CONNECT; keep-alive and will are TIMEOUT and CLOSE rows. */

/* @fsm
protocol mqtt
events  CONNECT PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE UNSUBSCRIBE PINGREQ DISCONNECT
@end */
#include <errno.h>
#include <string.h>

#include "mqtt.h"
#include "mqtt_events.h"
#include "protofsm/frame.h"

typedef struct mqtt_parser {
    int cs;            /* Ragel state of the first byte */
    uint8_t type;      /* 0 until the first byte is read */
    size_t max_packet;
    int err;           /* sticky */
} mqtt_parser;

%%{
    machine mqtt;
    access pp->;
    alphtype unsigned char;

    action t_connect     { pp->type = PF_MQTT_CONNECT; }
    action t_publish     { pp->type = PF_MQTT_PUBLISH; }
    action t_puback      { pp->type = PF_MQTT_PUBACK; }
    action t_pubrec      { pp->type = PF_MQTT_PUBREC; }
    action t_pubrel      { pp->type = PF_MQTT_PUBREL; }
    action t_pubcomp     { pp->type = PF_MQTT_PUBCOMP; }
    action t_subscribe   { pp->type = PF_MQTT_SUBSCRIBE; }
    action t_unsubscribe { pp->type = PF_MQTT_UNSUBSCRIBE; }
    action t_pingreq     { pp->type = PF_MQTT_PINGREQ; }
    action t_disconnect  { pp->type = PF_MQTT_DISCONNECT; }
    include mqtt_grammar "mqtt_grammar.rl";
}%%

%% write data noerror;

int pf_mqtt_utf8_ok(const char *s, size_t n)
{
    mqtt_parser st, *pp = &st;
    const unsigned char *p = (const unsigned char *)s, *pe = p + n;
    pp->cs = mqtt_en_utf8_string;
    %% write exec;
    return pp->cs >= mqtt_first_final;
}

int pf_mqtt_filter_ok(const char *s, size_t n)
{
    if (n == 0)
        return 0; /* MQTT-4.7.3-1 */
    for (size_t i = 0; i < n; i++) {
        int start = i == 0 || s[i - 1] == '/';
        int end = i + 1 == n || s[i + 1] == '/';
        if (s[i] == '#' && !(start && i + 1 == n))
            return 0; /* MQTT-4.7.1-2: alone in the last level */
        if (s[i] == '+' && !(start && end))
            return 0; /* MQTT-4.7.1-3: alone in its level */
    }
    return 1;
}

static int topic_ok(const char *s, size_t n)
{
    return n > 0 && !memchr(s, '+', n) && !memchr(s, '#', n); /* MQTT-3.3.2-2, 4.7.3-1 */
}

int pf_mqtt_match(const char *f, size_t fn, const char *t, size_t tn)
{
    size_t i = 0, j = 0;
    /* MQTT-4.7.2-1: a filter starting with a wildcard does not match a
     * topic starting with '$'. */
    if (tn && t[0] == '$' && fn && (f[0] == '+' || f[0] == '#'))
        return 0;
    while (i < fn) {
        if (f[i] == '#')
            return 1; /* the rest of the topic */
        if (f[i] == '+') {
            while (j < tn && t[j] != '/')
                j++; /* one level, possibly empty */
            i++;
        } else if (j < tn && f[i] == t[j]) {
            i++;
            j++;
        } else if (j == tn && f[i] == '/' && i + 2 == fn && f[i + 1] == '#') {
            return 1; /* "a/#" matches its parent "a" */
        } else {
            return 0;
        }
    }
    return j == tn;
}

/* ---- the bounds-checked reader of the variable header and payload ---- */

typedef struct rd {
    const char *p, *end;
} rd;

static int get_u8(rd *r, uint8_t *v)
{
    if (r->end - r->p < 1)
        return -1;
    *v = (uint8_t)*r->p++;
    return 0;
}

static int get_u16(rd *r, uint16_t *v)
{
    if (r->end - r->p < 2)
        return -1;
    *v = (uint16_t)((uint8_t)r->p[0] << 8 | (uint8_t)r->p[1]);
    r->p += 2;
    return 0;
}

static int get_bin(rd *r, pf_slice *v)
{
    uint16_t n;
    if (get_u16(r, &n) < 0 || r->end - r->p < n)
        return -1;
    v->ptr = r->p;
    v->len = n;
    r->p += n;
    return 0;
}

static int get_str(rd *r, pf_slice *v)
{
    if (get_bin(r, v) < 0 || !pf_mqtt_utf8_ok(v->ptr, v->len))
        return -1;
    return 0;
}

static int get_id(rd *r, uint16_t *id)
{
    return get_u16(r, id) < 0 || *id == 0 ? -1 : 0; /* MQTT-2.3.1-1 */
}

int pf_mqtt_next_filter(pf_slice *list, int with_qos, pf_slice *filter, uint8_t *qos)
{
    rd r = { list->ptr, list->ptr + list->len };
    uint8_t q = 0;
    if (list->len == 0 || get_bin(&r, filter) < 0 || (with_qos && get_u8(&r, &q) < 0))
        return 0;
    if (qos)
        *qos = q;
    list->len -= (size_t)(r.p - list->ptr);
    list->ptr = r.p;
    return 1;
}

static int slice_is(pf_slice s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static int decode_connect(rd *r, pf_mqtt_fields *f)
{
    uint8_t cf;
    if (get_str(r, &f->protocol_name) < 0 || get_u8(r, &f->level) < 0)
        return -1;
    if (!slice_is(f->protocol_name, "MQTT") && !slice_is(f->protocol_name, "MQIsdp"))
        return -1; /* MQTT-3.1.2-1: not MQTT at all */
    if (f->level != 4 || !slice_is(f->protocol_name, "MQTT"))
        return 0; /* another version: the machine answers CONNACK rc 1 */
    if (get_u8(r, &cf) < 0 || get_u16(r, &f->keep_alive) < 0)
        return -1;
    f->connect_flags = cf;
    if (cf & 0x01)
        return -1; /* MQTT-3.1.2-3: reserved */
    if (cf & PF_MQTT_CF_WILL) {
        if (PF_MQTT_CF_WILL_QOS(cf) == 3)
            return -1; /* MQTT-3.1.2-14 */
    } else if (PF_MQTT_CF_WILL_QOS(cf) || (cf & PF_MQTT_CF_WILL_RETAIN)) {
        return -1; /* MQTT-3.1.2-11, 13, 15 */
    }
    if ((cf & PF_MQTT_CF_PASSWORD) && !(cf & PF_MQTT_CF_USERNAME))
        return -1; /* MQTT-3.1.2-22 */
    if (get_str(r, &f->client_id) < 0)
        return -1; /* MQTT-3.1.3-4 */
    if (cf & PF_MQTT_CF_WILL) {
        if (get_str(r, &f->will_topic) < 0 || !topic_ok(f->will_topic.ptr, f->will_topic.len) ||
            get_bin(r, &f->will_message) < 0)
            return -1;
    }
    if ((cf & PF_MQTT_CF_USERNAME) && get_str(r, &f->username) < 0)
        return -1;
    if ((cf & PF_MQTT_CF_PASSWORD) && get_bin(r, &f->password) < 0)
        return -1;
    return r->p == r->end ? 0 : -1;
}

static int decode_list(rd *r, pf_mqtt_fields *f, int with_qos)
{
    if (get_id(r, &f->packet_id) < 0)
        return -1;
    f->list.ptr = r->p;
    f->list.len = (size_t)(r->end - r->p);
    while (r->p < r->end) {
        pf_slice flt;
        uint8_t q;
        if (get_str(r, &flt) < 0 || !pf_mqtt_filter_ok(flt.ptr, flt.len))
            return -1;
        if (with_qos && (get_u8(r, &q) < 0 || q > 2))
            return -1; /* MQTT-3-8.3-4: reserved bits, QoS 3 */
        f->count++;
    }
    return f->count ? 0 : -1; /* MQTT-3.8.3-3, 3.10.3-2 */
}

/* Decode the packet after the fixed header; 0 or -1 (malformed). */
static int decode(uint8_t first, const char *body, size_t n, pf_mqtt_fields *f)
{
    rd r = { body, body + n };
    f->type = first >> 4;
    f->flags = first & 0x0f;
    switch (f->type) {
    case PF_MQTT_CONNECT:
        return decode_connect(&r, f);
    case PF_MQTT_PUBLISH:
        f->qos = (first >> 1) & 3;
        f->dup = (first >> 3) & 1;
        f->retain = first & 1;
        if (f->qos == 3 || (f->dup && f->qos == 0))
            return -1; /* MQTT-3.3.1-4, 3.3.1-2 */
        if (get_str(&r, &f->topic) < 0 || !topic_ok(f->topic.ptr, f->topic.len))
            return -1;
        if (f->qos && get_id(&r, &f->packet_id) < 0)
            return -1;
        f->payload.ptr = r.p;
        f->payload.len = (size_t)(r.end - r.p);
        return 0;
    case PF_MQTT_PUBACK:
    case PF_MQTT_PUBREC:
    case PF_MQTT_PUBREL:
    case PF_MQTT_PUBCOMP:
        return n == 2 && get_id(&r, &f->packet_id) == 0 ? 0 : -1;
    case PF_MQTT_SUBSCRIBE:
        return decode_list(&r, f, 1);
    case PF_MQTT_UNSUBSCRIBE:
        return decode_list(&r, f, 0);
    default: /* PINGREQ, DISCONNECT */
        return n == 0 ? 0 : -1;
    }
}

static const uint16_t event_of[16] = {
    [PF_MQTT_CONNECT] = MQTT_EV_CONNECT,         [PF_MQTT_PUBLISH] = MQTT_EV_PUBLISH,
    [PF_MQTT_PUBACK] = MQTT_EV_PUBACK,           [PF_MQTT_PUBREC] = MQTT_EV_PUBREC,
    [PF_MQTT_PUBREL] = MQTT_EV_PUBREL,           [PF_MQTT_PUBCOMP] = MQTT_EV_PUBCOMP,
    [PF_MQTT_SUBSCRIBE] = MQTT_EV_SUBSCRIBE,     [PF_MQTT_UNSUBSCRIBE] = MQTT_EV_UNSUBSCRIBE,
    [PF_MQTT_PINGREQ] = MQTT_EV_PINGREQ,         [PF_MQTT_DISCONNECT] = MQTT_EV_DISCONNECT,
};

static void reset(mqtt_parser *pp)
{
    pp->cs = mqtt_en_first_byte;
    pp->type = 0;
}

static void mqtt_parser_init(void *p, const void *conf)
{
    mqtt_parser *pp = p;
    const pf_mqtt_conf *c = conf;
    reset(pp);
    pp->err = 0;
    pp->max_packet = c && c->max_packet ? c->max_packet : PF_MQTT_MAX_PACKET_DEFAULT;
}

/* Between packets nothing carries over (reset). */
static int mqtt_at_rest(const void *vp)
{
    const mqtt_parser *pp = vp;
    return !pp->err && !pp->type;
}

static ssize_t mqtt_parse(void *vp, const char *buf, size_t len, pf_packet *out)
{
    mqtt_parser *pp = vp;
    if (pp->err)
        return pp->err;
    if (!pp->type) {
        /* The first byte names the packet and fixes its flags (a grammar:
         * mqtt_grammar.rl); what follows is counted, with the kit. */
        const unsigned char *p = (const unsigned char *)buf;
        const unsigned char *pe = p + (len ? 1 : 0);
        if (len == 0)
            return -EAGAIN;
        %% write exec;
        if (!pp->type)
            return pp->err = -EBADMSG;
    }
    uint64_t rem;
    int h = pf_frame_varint(buf + 1, len - 1, 4, &rem); /* 2.2.3 remaining length */
    if (h < 0)
        return h == -EAGAIN ? h : (pp->err = -EBADMSG);
    size_t hdr = 1 + (size_t)h, total = hdr + (size_t)rem;
    if (total > pp->max_packet)
        return pp->err = -EMSGSIZE;
    if (pf_frame_block(buf + hdr, len - hdr, (size_t)rem, "", 0) < 0)
        return -EAGAIN;
    pf_mqtt_fields *f = out->fields;
    memset(f, 0, sizeof(*f));
    if (decode((uint8_t)buf[0], buf + hdr, (size_t)rem, f) < 0)
        return pp->err = -EBADMSG;
    out->event = event_of[f->type];
    out->raw.ptr = buf;
    out->raw.len = total;
    reset(pp);
    return (ssize_t)total;
}

static pf_slice mqtt_error_reply(const void *pp, int err)
{
    (void)pp;
    (void)err;
    return (pf_slice){ NULL, 0 }; /* MQTT-4.8.0-1: close, nothing to say */
}

static size_t mqtt_max_packet(const void *conf)
{
    const pf_mqtt_conf *c = conf;
    return c && c->max_packet ? c->max_packet : PF_MQTT_MAX_PACKET_DEFAULT;
}

const pf_protocol pf_mqtt_protocol = {
    .name = "mqtt",
    .events = &mqtt_events,
    .parser_size = sizeof(mqtt_parser),
    .fields_size = sizeof(pf_mqtt_fields),
    .parser_init = mqtt_parser_init,
    .parse = mqtt_parse,
    .error_reply = mqtt_error_reply,
    .busy_reply = { NULL, 0 },
    /* CONNACK, return code 3: server unavailable. */
    .full_reply = { "\x20\x02\x00\x03", 4 },
    .max_packet = mqtt_max_packet,
    .at_rest = mqtt_at_rest,
};
