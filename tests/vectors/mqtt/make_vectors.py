#!/usr/bin/env python3
"""Writes the MQTT session vectors: NAME.in (client bytes), NAME.out (the
exact broker bytes back) and NAME.closed when the session must end up
closing.  The files are the test data; this script only documents how they
were made (run it from this folder after changing a case, review the diff).
Each vector runs on a fresh broker (tests/unit/test_mqtt.c)."""
import struct

def rl(n):
    out = b''
    while True:
        d = n & 0x7f
        n >>= 7
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out

def s(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack('>H', len(x)) + x

def pkt(first, body):
    return bytes([first]) + rl(len(body)) + body

def connect(cid='c', clean=True, ka=60, will=None, user=None, pw=None, level=4,
            name='MQTT', flags=None):
    f = 0x02 if clean else 0
    pay = s(cid)
    if will:
        f |= 0x04 | (will[2] << 3) | (0x20 if will[3] else 0)
        pay += s(will[0]) + s(will[1])
    if user is not None:
        f |= 0x80
        pay += s(user)
    if pw is not None:
        f |= 0x40
        pay += s(pw)
    if flags is not None:
        f = flags
    return pkt(0x10, s(name) + bytes([level, f]) + struct.pack('>H', ka) + pay)

def publish(topic, payload=b'', qos=0, pid=0, retain=False, dup=False):
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = s(topic) + (struct.pack('>H', pid) if qos else b'') + payload
    return pkt(first, body)

def ack(first, pid):
    return bytes([first, 2]) + struct.pack('>H', pid)

def subscribe(pid, *subs, first=0x82):
    return pkt(first, struct.pack('>H', pid) + b''.join(s(t) + bytes([q]) for t, q in subs))

def suback(pid, *codes):
    return pkt(0x90, struct.pack('>H', pid) + bytes(codes))

def unsubscribe(pid, *topics):
    return pkt(0xa2, struct.pack('>H', pid) + b''.join(s(t) for t in topics))

CONNACK = bytes([0x20, 2, 0, 0])
PING, PONG, DISC = bytes([0xc0, 0]), bytes([0xd0, 0]), bytes([0xe0, 0])

V = {}
def vec(name, i, o=b'', closed=False):
    V[name] = (i, o, closed)

vec('connect', connect(), CONNACK)
vec('connect_user_pass_will', connect(user='u', pw=b'\x00\xff', will=('w/t', b'bye', 1, True)), CONNACK)
vec('ping_disconnect', connect() + PING + DISC + PING, CONNACK + PONG, True)
vec('sub_pub_qos0', connect() + subscribe(1, ('a/+', 0)) + publish('a/b', b'hi') + publish('b/b', b'no'),
    CONNACK + suback(1, 0) + publish('a/b', b'hi'))
vec('pub_qos1', connect() + publish('t', b'x', 1, 7), CONNACK + ack(0x40, 7))
vec('pub_qos2', connect() + publish('t', b'x', 2, 9) + publish('t', b'x', 2, 9, dup=True) + ack(0x62, 9),
    CONNACK + ack(0x50, 9) + ack(0x50, 9) + ack(0x70, 9))
vec('qos1_to_self', connect() + subscribe(2, ('t', 1)) + publish('t', b'm', 1, 5) + ack(0x40, 1),
    CONNACK + suback(2, 1) + publish('t', b'm', 1, 1) + ack(0x40, 5))
vec('qos2_to_self', connect() + subscribe(2, ('t', 2)) + publish('t', b'm', 2, 5) + ack(0x50, 1) + ack(0x62, 5) + ack(0x70, 1),
    CONNACK + suback(2, 2) + publish('t', b'm', 2, 1) + ack(0x50, 5) + ack(0x62, 1) + ack(0x70, 5))
vec('qos_downgraded', connect() + subscribe(3, ('t', 0)) + publish('t', b'm', 2, 5),
    CONNACK + suback(3, 0) + publish('t', b'm') + ack(0x50, 5))
vec('overlapping_once_max_qos', connect() + subscribe(3, ('t/#', 0), ('+/x', 1)) + publish('t/x', b'm', 1, 5),
    CONNACK + suback(3, 0, 1) + publish('t/x', b'm', 1, 1) + ack(0x40, 5))
vec('retained', connect() + publish('r/1', b'kept', 1, 3, retain=True) + subscribe(4, ('r/#', 1)),
    CONNACK + ack(0x40, 3) + suback(4, 1) + publish('r/1', b'kept', 1, 1, retain=True))
vec('retained_deleted', connect() + publish('r/1', b'kept', 0, retain=True) + publish('r/1', b'', 0, retain=True) + subscribe(4, ('r/#', 0)),
    CONNACK + suback(4, 0))
vec('unsubscribe', connect() + subscribe(1, ('a', 0)) + unsubscribe(2, 'a') + publish('a', b'no'),
    CONNACK + suback(1, 0) + ack(0xb0, 2))
vec('dollar_not_wild', connect() + subscribe(1, ('#', 0), ('+/y', 0)) + publish('$x/y', b'no') + publish('x/y', b'yes'),
    CONNACK + suback(1, 0, 0) + publish('x/y', b'yes'))
vec('hash_matches_parent', connect() + subscribe(1, ('a/#', 0)) + publish('a', b'p'),
    CONNACK + suback(1, 0) + publish('a', b'p'))
vec('plus_empty_level', connect() + subscribe(1, ('+/+', 0)) + publish('/x', b'e'),
    CONNACK + suback(1, 0) + publish('/x', b'e'))
vec('long_payload', connect() + subscribe(1, ('big', 0)) + publish('big', b'z' * 3000),
    CONNACK + suback(1, 0) + publish('big', b'z' * 3000))
# Violations: closed, nothing (more) said.
vec('not_connect_first', publish('t', b'x'), b'', True)
vec('ping_before_connect', PING, b'', True)
vec('second_connect', connect() + connect() + PING, CONNACK, True)
vec('bad_level', connect(name='MQIsdp', level=3), bytes([0x20, 2, 0, 1]), True)
vec('bad_level_5', connect(level=5), bytes([0x20, 2, 0, 1]), True)
vec('bad_protocol_name', connect(name='HTTP'), b'', True)
vec('empty_id_persistent', connect(cid='', clean=False), bytes([0x20, 2, 0, 2]), True)
vec('empty_id_clean', connect(cid='') + PING, CONNACK + PONG)
vec('reserved_connect_flag', connect(flags=0x03), b'', True)
vec('will_qos_without_will', connect(flags=0x0a), b'', True)
vec('will_retain_without_will', connect(flags=0x22), b'', True)
vec('will_qos3', connect(flags=0x1e), b'', True)
vec('password_without_user', connect(flags=0x42) + s('pw'), b'', True)
vec('connect_trailing_bytes', pkt(0x10, connect()[2:] + b'x'), b'', True)
vec('pubrel_bad_flags', connect() + bytes([0x60, 2, 0, 1]), CONNACK, True)
vec('subscribe_bad_flags', connect() + subscribe(1, ('a', 0), first=0x80), CONNACK, True)
vec('unsubscribe_bad_flags', connect() + bytes([0xa0, 5, 0, 1, 0, 1, 0x61]), CONNACK, True)
vec('ping_bad_flags', connect() + bytes([0xc1, 0]), CONNACK, True)
vec('ping_with_body', connect() + bytes([0xc0, 1, 0]), CONNACK, True)
vec('disconnect_bad_flags', connect() + bytes([0xe2, 0]), CONNACK, True)
vec('connack_from_client', connect() + bytes([0x20, 2, 0, 0]), CONNACK, True)
vec('reserved_type_0', connect() + bytes([0x00, 0]), CONNACK, True)
vec('reserved_type_15', connect() + bytes([0xf0, 0]), CONNACK, True)
vec('length_5_bytes', connect() + bytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), CONNACK, True)
vec('publish_qos3', connect() + publish('t', b'', 0)[:0] + bytes([0x36, 5, 0, 1, 0x74, 0, 1]), CONNACK, True)
vec('publish_dup_qos0', connect() + publish('t', b'x', dup=True), CONNACK, True)
vec('publish_id_0', connect() + publish('t', b'x', 1, 0), CONNACK, True)
vec('publish_wildcard_plus', connect() + publish('a/+', b'x'), CONNACK, True)
vec('publish_wildcard_hash', connect() + publish('a/#', b'x'), CONNACK, True)
vec('publish_empty_topic', connect() + publish('', b'x'), CONNACK, True)
vec('utf8_nul', connect() + publish('a\x00b', b'x'), CONNACK, True)
vec('utf8_surrogate', connect() + publish(b'a\xed\xa0\x80', b'x'), CONNACK, True)
vec('utf8_overlong', connect() + publish(b'\xc0\xaf', b'x'), CONNACK, True)
vec('utf8_truncated', connect() + publish(b'a\xe2\x82', b'x'), CONNACK, True)
vec('utf8_ok_multibyte', connect() + subscribe(1, ('\u00e9/\u20ac/\U0001f600', 0)) + publish('\u00e9/\u20ac/\U0001f600', b'u'),
    CONNACK + suback(1, 0) + publish('\u00e9/\u20ac/\U0001f600', b'u'))
vec('client_id_nul', connect(cid='a\x00'), b'', True)
vec('filter_hash_not_last', connect() + subscribe(1, ('a/#/b', 0)), CONNACK, True)
vec('filter_plus_in_level', connect() + subscribe(1, ('a+/b', 0)), CONNACK, True)
vec('filter_empty', connect() + subscribe(1, ('', 0)), CONNACK, True)
vec('subscribe_qos3', connect() + subscribe(1, ('a', 3)), CONNACK, True)
vec('subscribe_reserved_bits', connect() + subscribe(1, ('a', 0x41)), CONNACK, True)
vec('subscribe_no_topics', connect() + pkt(0x82, b'\x00\x01'), CONNACK, True)
vec('unsubscribe_no_topics', connect() + pkt(0xa2, b'\x00\x01'), CONNACK, True)
vec('subscribe_id_0', connect() + subscribe(0, ('a', 0)), CONNACK, True)
vec('puback_short', connect() + bytes([0x40, 1, 0]), CONNACK, True)
vec('string_past_end', connect() + pkt(0x30, b'\x00\x09ab'), CONNACK, True)

for name, (i, o, closed) in sorted(V.items()):
    open(name + '.in', 'wb').write(i)
    open(name + '.out', 'wb').write(o)
    import os
    if closed:
        open(name + '.closed', 'wb').write(b'')
    elif os.path.exists(name + '.closed'):
        os.remove(name + '.closed')
