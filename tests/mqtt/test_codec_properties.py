"""Properties of the codec and the broker under arbitrary input (hypothesis, derandomised): any bytes
decode to packets or raise MalformedPacket, never another error; how a stream is split into reads does
not change what it decodes to; a broker fed garbage closes the connection and stays usable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mqtt import packets as p
from connector.mqtt.access import OpenAccess
from connector.mqtt.broker import Broker

from .test_broker import join

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)
topics = st.text(st.characters(exclude_characters="+#\x00", exclude_categories=["Cs"]), min_size=1, max_size=30)
ids = st.integers(1, 65535)
packets = st.one_of(
    st.builds(p.Publish, topics, st.binary(max_size=300), st.just(0)),
    st.builds(lambda t, b, q, i, r: p.Publish(t, b, q, r, False, i), topics, st.binary(max_size=300),
              st.integers(1, 2), ids, st.booleans()),
    st.builds(p.Puback, ids), st.builds(p.Pubrec, ids), st.builds(p.Pubrel, ids), st.builds(p.Pubcomp, ids),
    st.builds(lambda i, fs: p.Subscribe(i, tuple((f, q) for f, q in fs)), ids,
              st.lists(st.tuples(st.sampled_from(["a/+", "#", "a/b/#", "x"]), st.integers(0, 2)), min_size=1)),
    st.builds(p.Suback, ids, st.lists(st.sampled_from([0, 1, 2, 0x80]), min_size=1).map(tuple)),
    st.builds(p.Unsubscribe, ids, st.lists(topics, min_size=1).map(tuple)), st.builds(p.Unsuback, ids),
    st.builds(p.Connect, st.text(max_size=20).filter(lambda s: "\x00" not in s), st.booleans(), st.integers(0, 65535)),
    st.builds(p.Connack, st.integers(0, 5), st.booleans()),
    st.just(p.Pingreq()), st.just(p.Pingresp()), st.just(p.Disconnect()),
)


@SETTINGS
@given(st.binary(max_size=512))
def test_any_bytes_decode_or_raise_malformed_packet_only(data: bytes) -> None:
    try:
        p.Decoder(max_packet_bytes=4096).feed(data)
    except p.MalformedPacket as exc:
        assert exc.reason


@SETTINGS
@given(st.lists(packets, min_size=1, max_size=8), st.lists(st.integers(0, 5000), max_size=6))
def test_reads_split_anywhere_decode_to_the_same_packets(stream: list[p.Packet], cuts: list[int]) -> None:
    raw = b"".join(p.encode(x) for x in stream)
    decoder, out, at = p.Decoder(), [], 0
    for cut in sorted({c % (len(raw) + 1) for c in cuts}) + [len(raw)]:
        out += decoder.feed(raw[at:cut])
        at = cut
    assert out == stream and not decoder.buffer


@SETTINGS
@given(st.binary(min_size=1, max_size=256))
def test_a_broker_fed_garbage_after_connect_survives_it(data: bytes) -> None:
    broker = Broker(OpenAccess())
    connection, wire = join(broker, "fuzzed")
    connection.receive(data, 1)  # whatever it is: handled, or the connection closed
    _, other = join(broker, "next", now=2)
    assert other.take() == [p.Connack(0)]
    assert ("fuzzed" in broker.active) is not wire.closed
