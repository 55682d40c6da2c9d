"""The MQTT 3.1.1 codec: every packet type round-trips, bytes match the standard's examples, partial
reads are reassembled, and malformed input raises MalformedPacket naming the field."""

from __future__ import annotations

import pytest

from connector.mqtt import packets as p

EVERY: list[p.Packet] = [
    p.Connect("client-1"),
    p.Connect("c2", clean_session=False, keep_alive=0, username="u", password=b"\x00secret",
              will=p.Will("w/t", b"gone", 1, True)),
    p.Connack(0), p.Connack(5, session_present=True),
    p.Publish("a/b", b"payload"), p.Publish("a/b", b"", 1, retain=True, dup=True, packet_id=7),
    p.Publish("a/b", b"x" * 300, 2, packet_id=65535),
    p.Puback(1), p.Pubrec(2), p.Pubrel(3), p.Pubcomp(4),
    p.Subscribe(10, (("a/+/c", 0), ("x/#", 1), ("y", 2))), p.Suback(10, (0, 1, 0x80)),
    p.Unsubscribe(11, ("a/+/c", "x/#")), p.Unsuback(11),
    p.Pingreq(), p.Pingresp(), p.Disconnect(),
]


@pytest.mark.parametrize("packet", EVERY, ids=lambda x: type(x).__name__)
def test_every_packet_type_round_trips(packet: p.Packet) -> None:
    assert p.Decoder().feed(p.encode(packet)) == [packet]


def test_bytes_as_the_standard_writes_them() -> None:
    assert p.encode(p.Pingreq()) == b"\xc0\x00"
    assert p.encode(p.Disconnect()) == b"\xe0\x00"
    assert p.encode(p.Connack(0)) == b"\x20\x02\x00\x00"
    assert p.encode(p.Pubrel(1)) == b"\x62\x02\x00\x01"  # PUBREL, SUBSCRIBE, UNSUBSCRIBE carry flags 0010
    connect = p.encode(p.Connect("id", keep_alive=60))
    assert connect == b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02id"


@pytest.mark.parametrize(("length", "encoded"), [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"),
                                                 (16_383, b"\xff\x7f"), (16_384, b"\x80\x80\x01"),
                                                 (2_097_151, b"\xff\xff\x7f"), (268_435_455, b"\xff\xff\xff\x7f")])
def test_remaining_length_boundaries(length: int, encoded: bytes) -> None:
    assert p._length(length) == encoded


def test_partial_reads_byte_by_byte_and_several_packets_in_one_read() -> None:
    stream = b"".join(p.encode(x) for x in EVERY)
    decoder = p.Decoder()
    out: list[p.Packet] = []
    for i in range(len(stream)):
        out += decoder.feed(stream[i:i + 1])
    assert out == EVERY and not decoder.buffer
    assert p.Decoder().feed(stream) == EVERY


def test_a_large_publish_split_inside_its_length_bytes() -> None:
    packet = p.Publish("t", b"z" * 20_000, 1, packet_id=9)
    raw = p.encode(packet)
    decoder = p.Decoder()
    assert decoder.feed(raw[:2]) == []  # the first of three length bytes
    assert decoder.feed(raw[2:100]) == []
    assert decoder.feed(raw[100:]) == [packet]


@pytest.mark.parametrize(("raw", "field"), [
    (b"\x30\xff\xff\xff\xff\x01", "more than four bytes"),
    (b"\x00\x00", "packet type 0: reserved"),
    (b"\xf0\x00", "packet type 15: reserved"),
    (b"\x82\x02\x00\x01", "at least one topic filter"),
    (b"\x80\x06\x00\x01\x00\x01a\x00", "fixed header flags"),  # SUBSCRIBE without 0010
    (b"\x82\x06\x00\x01\x00\x01a\x03", "requested QoS"),
    (b"\x82\x06\x00\x00\x00\x01a\x00", "packet identifier: must not be 0"),
    (b"\x82\x08\x00\x01\x00\x03a#b\x00", "'#' must be the whole last level"),
    (b"\x36\x03\x00\x01a", "qos"),  # QoS 3
    (b"\x30\x03\x00\x01+", "without wildcards"),
    (b"\x30\x04\x00\x02\xc3\x28", "UTF-8"),
    (b"\x30\x03\x00\x01\x00", "U+0000"),
    (b"\x30\x03\x00\x05a", "the packet ends before it"),  # a string longer than the packet
    (b"\xc0\x01\x00", "bytes after the last field"),  # PINGREQ with a body
    (b"\x40\x03\x00\x01\x00", "bytes after the last field"),
    (b"\x10\x0c\x00\x04MQTX\x04\x02\x00\x3c\x00\x00", "protocol name"),
    (b"\x10\x0c\x00\x04MQTT\x04\x03\x00\x3c\x00\x00", "reserved bit"),
    (b"\x10\x0c\x00\x04MQTT\x04\x42\x00\x3c\x00\x00", "password flag"),
    (b"\x10\x0c\x00\x04MQTT\x04\x1a\x00\x3c\x00\x00", "will QoS"),
    (b"\x20\x02\x00\x06", "return code"),
])
def test_malformed_input_is_refused_naming_what_is_wrong(raw: bytes, field: str) -> None:
    with pytest.raises(p.MalformedPacket) as caught:
        p.Decoder().feed(raw)
    assert field in caught.value.reason


def test_a_packet_over_the_limit_is_refused_before_it_is_buffered() -> None:
    decoder = p.Decoder(max_packet_bytes=1024)
    with pytest.raises(p.MalformedPacket, match="over this broker's limit"):
        decoder.feed(b"\x30\x80\x10")  # remaining length 2048, no body yet


def test_another_protocol_level_still_decodes_for_a_connack_1() -> None:
    raw = p.encode(p.Connect("old", protocol_name="MQIsdp", protocol_level=3))
    [connect] = p.Decoder().feed(raw)
    assert isinstance(connect, p.Connect) and (connect.protocol_name, connect.protocol_level) == ("MQIsdp", 3)
    # MQTT 5 puts properties after the keep-alive: its CONNECT is read only as far as its level
    [v5] = p.Decoder().feed(b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x03raw")
    assert isinstance(v5, p.Connect) and v5.protocol_level == 5


def test_encoding_refuses_what_cannot_be_sent() -> None:
    with pytest.raises(p.MalformedPacket, match="packet_id"):
        p.encode(p.Publish("t", b"", 1))
    with pytest.raises(p.MalformedPacket, match="65535"):
        p.encode(p.Publish("t" * 70_000, b""))
