/* MQTT 3.1.1 machines, definitions only (included by mqtt.rl).
 * Section numbers are the OASIS standard's. */
%%{
    machine mqtt_grammar;
    alphtype unsigned char;

    # 2.2 Fixed header: the first byte names the packet and fixes its flags
    # (2.2.2, table 2.2); PUBLISH alone has free flags (checked in C for
    # QoS 3 and DUP on QoS 0).  Packets only a server sends (CONNACK,
    # SUBACK, UNSUBACK, PINGRESP) and the reserved types 0 and 15 have no
    # branch, so they are errors.
    first = 0x10 @t_connect
          | 0x30..0x3f @t_publish
          | 0x40 @t_puback
          | 0x50 @t_pubrec
          | 0x62 @t_pubrel
          | 0x70 @t_pubcomp
          | 0x82 @t_subscribe
          | 0xa2 @t_unsubscribe
          | 0xc0 @t_pingreq
          | 0xe0 @t_disconnect;

    # 2.2.3 The remaining length that follows (1 to 4 bytes, 7 bits each,
    # low group first) is counted, not parsed: pf_frame_varint in mqtt.rl.
    first_byte := first;

    # 1.5.3 UTF-8 encoded strings: well-formed (RFC 3629: no overlongs, no
    # code point over U+10FFFF), without U+0000 and without the surrogates
    # U+D800..U+DFFF.
    cont = 0x80..0xbf;
    utf8_char = 0x01..0x7f
              | 0xc2..0xdf cont
              | 0xe0 0xa0..0xbf cont
              | 0xe1..0xec cont cont
              | 0xed 0x80..0x9f cont
              | 0xee..0xef cont cont
              | 0xf0 0x90..0xbf cont cont
              | 0xf1..0xf3 cont cont cont
              | 0xf4 0x80..0x8f cont cont;

    utf8_string := utf8_char*;
}%%
