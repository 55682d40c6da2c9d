"""The MQTT 3.1.1 wire format (OASIS standard, 2014): typed packets, ``encode``, and an incremental
``Decoder`` for bytes as they arrive from a socket or a WebSocket frame.

Pure: no I/O, no clock. Input that breaks the standard raises ``MalformedPacket`` naming what is wrong
(the broker then closes the connection, as §4.8 asks). A CONNECT with another protocol level is still
decoded, so the broker can answer it with CONNACK 1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PROTOCOL_NAME = "MQTT"
PROTOCOL_LEVEL = 4  # 3.1.1
MAX_REMAINING_LENGTH = 268_435_455  # four length bytes (§2.2.3)

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14

# CONNACK return codes (§3.2.2.3)
ACCEPTED, BAD_PROTOCOL_LEVEL, IDENTIFIER_REJECTED, SERVER_UNAVAILABLE, BAD_CREDENTIALS, NOT_AUTHORIZED = range(6)
SUBACK_FAILURE = 0x80


class MalformedPacket(ValueError):
    """Bytes that are not MQTT 3.1.1; ``reason`` says which field and what was expected."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


@dataclass(frozen=True)
class Connect:
    client_id: str
    clean_session: bool = True
    keep_alive: int = 60
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    protocol_name: str = PROTOCOL_NAME
    protocol_level: int = PROTOCOL_LEVEL


@dataclass(frozen=True)
class Connack:
    return_code: int
    session_present: bool = False


@dataclass(frozen=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None


@dataclass(frozen=True)
class _Acknowledgement:
    packet_id: int


class Puback(_Acknowledgement):
    """QoS 1: received."""


class Pubrec(_Acknowledgement):
    """QoS 2, first step: received."""


class Pubrel(_Acknowledgement):
    """QoS 2, second step: released."""


class Pubcomp(_Acknowledgement):
    """QoS 2, last step: complete."""


@dataclass(frozen=True)
class Subscribe:
    packet_id: int
    filters: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Suback:
    packet_id: int
    return_codes: tuple[int, ...]


@dataclass(frozen=True)
class Unsubscribe:
    packet_id: int
    filters: tuple[str, ...]


class Unsuback(_Acknowledgement):
    """The filters are unsubscribed."""


@dataclass(frozen=True)
class _Empty:
    pass


class Pingreq(_Empty):
    """Are you there? (keeps the connection alive)"""


class Pingresp(_Empty):
    """Yes."""


class Disconnect(_Empty):
    """A clean goodbye: the will is not sent."""


Packet = (Connect | Connack | Publish | Puback | Pubrec | Pubrel | Pubcomp | Subscribe | Suback | Unsubscribe
          | Unsuback | Pingreq | Pingresp | Disconnect)
_ACKS: dict[int, type[Puback | Pubrec | Pubrel | Pubcomp | Unsuback]] = {
    PUBACK: Puback, PUBREC: Pubrec, PUBREL: Pubrel, PUBCOMP: Pubcomp, UNSUBACK: Unsuback}
_EMPTY: dict[int, type[Pingreq | Pingresp | Disconnect]] = {PINGREQ: Pingreq, PINGRESP: Pingresp,
                                                            DISCONNECT: Disconnect}
# the fixed header's low four bits, where the standard fixes them (§2.2.2)
_FLAGS = {CONNECT: 0, CONNACK: 0, PUBACK: 0, PUBREC: 0, PUBREL: 2, PUBCOMP: 0, SUBSCRIBE: 2, SUBACK: 0,
          UNSUBSCRIBE: 2, UNSUBACK: 0, PINGREQ: 0, PINGRESP: 0, DISCONNECT: 0}


# --- encoding ------------------------------------------------------------------------------------

def _length(n: int) -> bytes:
    if not 0 <= n <= MAX_REMAINING_LENGTH:
        raise MalformedPacket(f"remaining length {n} is over the {MAX_REMAINING_LENGTH} MQTT allows")
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(text: str) -> bytes:
    raw = text.encode()
    return _bytes(raw)


def _bytes(raw: bytes) -> bytes:
    if len(raw) > 0xFFFF:
        raise MalformedPacket(f"a string or binary field of {len(raw)} bytes is over 65535")
    return struct.pack("!H", len(raw)) + raw


def _frame(kind: int, flags: int, body: bytes) -> bytes:
    return bytes([(kind << 4) | flags]) + _length(len(body)) + body


def encode(packet: Packet) -> bytes:
    """The bytes of one packet."""
    if isinstance(packet, Publish):
        if packet.qos not in (0, 1, 2):
            raise MalformedPacket(f"PUBLISH qos: expected 0, 1 or 2, got {packet.qos}")
        flags = (packet.dup << 3) | (packet.qos << 1) | int(packet.retain)
        body = _str(packet.topic)
        if packet.qos:
            if not packet.packet_id:
                raise MalformedPacket("PUBLISH packet_id: required for QoS 1 and 2")
            body += struct.pack("!H", packet.packet_id)
        return _frame(PUBLISH, flags, body + packet.payload)
    if isinstance(packet, Connect):
        will, flags = packet.will, 0
        if packet.username is not None:
            flags |= 0x80
        if packet.password is not None:
            flags |= 0x40
        if will is not None:
            flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        flags |= 0x02 if packet.clean_session else 0
        body = _str(packet.protocol_name) + bytes([packet.protocol_level, flags]) + struct.pack(
            "!H", packet.keep_alive) + _str(packet.client_id)
        if will is not None:
            body += _str(will.topic) + _bytes(will.payload)
        if packet.username is not None:
            body += _str(packet.username)
        if packet.password is not None:
            body += _bytes(packet.password)
        return _frame(CONNECT, 0, body)
    if isinstance(packet, Connack):
        return _frame(CONNACK, 0, bytes([int(packet.session_present), packet.return_code]))
    if isinstance(packet, Subscribe):
        body = struct.pack("!H", packet.packet_id) + b"".join(_str(t) + bytes([q]) for t, q in packet.filters)
        return _frame(SUBSCRIBE, 2, body)
    if isinstance(packet, Suback):
        return _frame(SUBACK, 0, struct.pack("!H", packet.packet_id) + bytes(packet.return_codes))
    if isinstance(packet, Unsubscribe):
        return _frame(UNSUBSCRIBE, 2, struct.pack("!H", packet.packet_id) + b"".join(_str(t) for t in packet.filters))
    for kind, cls in _ACKS.items():
        if isinstance(packet, cls):
            return _frame(kind, _FLAGS[kind], struct.pack("!H", packet.packet_id))
    for kind, empty in _EMPTY.items():
        if isinstance(packet, empty):
            return _frame(kind, 0, b"")
    raise TypeError(f"not an MQTT packet: {packet!r}")


# --- decoding ------------------------------------------------------------------------------------

@dataclass
class _Reader:
    """Reads the fields of one packet's body; running past its end is a malformed packet."""

    data: bytes
    what: str
    at: int = 0

    def take(self, n: int, field_name: str) -> bytes:
        if self.at + n > len(self.data):
            raise MalformedPacket(f"{self.what} {field_name}: the packet ends before it")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def byte(self, field_name: str) -> int:
        return self.take(1, field_name)[0]

    def u16(self, field_name: str) -> int:
        return int(struct.unpack("!H", self.take(2, field_name))[0])

    def binary(self, field_name: str) -> bytes:
        return self.take(self.u16(field_name), field_name)

    def text(self, field_name: str) -> str:
        raw = self.binary(field_name)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPacket(f"{self.what} {field_name}: not well-formed UTF-8") from None
        if "\x00" in text:
            raise MalformedPacket(f"{self.what} {field_name}: contains U+0000, which MQTT forbids")
        return text

    def packet_id(self) -> int:
        value = self.u16("packet identifier")
        if value == 0:
            raise MalformedPacket(f"{self.what} packet identifier: must not be 0")
        return value

    @property
    def rest(self) -> bytes:
        return self.data[self.at:]

    def done(self) -> None:
        if self.at != len(self.data):
            raise MalformedPacket(f"{self.what}: {len(self.data) - self.at} bytes after the last field")


def _connect(r: _Reader) -> Connect:
    name = r.text("protocol name")
    level = r.byte("protocol level")
    flags = r.byte("connect flags")
    keep_alive = r.u16("keep alive")
    if name not in (PROTOCOL_NAME, "MQIsdp"):  # MQIsdp: 3.1, decoded to be answered with CONNACK 1
        raise MalformedPacket(f"CONNECT protocol name: expected 'MQTT', got {name!r}")
    if (name, level) != (PROTOCOL_NAME, PROTOCOL_LEVEL):  # another version's payload: not ours to read
        return Connect("", keep_alive=keep_alive, protocol_name=name, protocol_level=level)
    if flags & 0x01:
        raise MalformedPacket("CONNECT connect flags: the reserved bit must be 0")
    client_id = r.text("client identifier")
    will = None
    will_qos = (flags >> 3) & 0x03
    if flags & 0x04:
        if will_qos == 3:
            raise MalformedPacket("CONNECT will QoS: expected 0, 1 or 2, got 3")
        topic = r.text("will topic")
        will = Will(topic, r.binary("will message"), will_qos, bool(flags & 0x20))
    elif will_qos or flags & 0x20:
        raise MalformedPacket("CONNECT will QoS and retain: must be 0 without the will flag")
    if flags & 0x40 and not flags & 0x80:
        raise MalformedPacket("CONNECT password flag: set without the user name flag")
    username = r.text("user name") if flags & 0x80 else None
    password = r.binary("password") if flags & 0x40 else None
    r.done()
    return Connect(client_id, bool(flags & 0x02), keep_alive, username, password, will, name, level)


def _publish(r: _Reader, flags: int) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MalformedPacket("PUBLISH qos: expected 0, 1 or 2, got 3")
    topic = r.text("topic name")
    if not topic or "+" in topic or "#" in topic:
        raise MalformedPacket(f"PUBLISH topic name: must be non-empty, without wildcards, got {topic!r}")
    packet_id = r.packet_id() if qos else None
    return Publish(topic, r.rest, qos, bool(flags & 0x01), bool(flags & 0x08), packet_id)


def _subscribe(r: _Reader) -> Subscribe:
    packet_id = r.packet_id()
    filters: list[tuple[str, int]] = []
    while r.at < len(r.data):
        topic = r.text("topic filter")
        check_filter(topic)
        qos = r.byte("requested QoS")
        if qos > 2:
            raise MalformedPacket(f"SUBSCRIBE requested QoS: expected 0, 1 or 2 (other bits 0), got {qos}")
        filters.append((topic, qos))
    if not filters:
        raise MalformedPacket("SUBSCRIBE: at least one topic filter is required")
    return Subscribe(packet_id, tuple(filters))


def _unsubscribe(r: _Reader) -> Unsubscribe:
    packet_id = r.packet_id()
    filters: list[str] = []
    while r.at < len(r.data):
        filters.append(r.text("topic filter"))
    if not filters:
        raise MalformedPacket("UNSUBSCRIBE: at least one topic filter is required")
    return Unsubscribe(packet_id, tuple(filters))


def check_filter(topic: str) -> None:
    """A topic filter's wildcards as §4.7 places them: ``#`` last and alone in its level, ``+`` alone."""
    if not topic:
        raise MalformedPacket("topic filter: must not be empty")
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise MalformedPacket(f"topic filter {topic!r}: '#' must be the whole last level")
        if "+" in level and level != "+":
            raise MalformedPacket(f"topic filter {topic!r}: '+' must be a whole level")


def decode(kind: int, flags: int, body: bytes) -> Packet:
    """One packet from its fixed header's type and flags and its body."""
    name = _NAMES.get(kind, str(kind))
    if kind == PUBLISH:
        return _publish(_Reader(body, "PUBLISH"), flags)
    if kind not in _FLAGS:
        raise MalformedPacket(f"packet type {kind}: reserved, not an MQTT 3.1.1 packet")
    if flags != _FLAGS[kind]:
        raise MalformedPacket(f"{name} fixed header flags: expected {_FLAGS[kind]:#06b}, got {flags:#06b}")
    r = _Reader(body, name)
    packet: Packet
    if kind == CONNECT:
        return _connect(r)
    if kind == CONNACK:
        ack_flags, code = r.byte("acknowledge flags"), r.byte("return code")
        if ack_flags & 0xFE or code > NOT_AUTHORIZED:
            raise MalformedPacket(f"CONNACK: flags {ack_flags} or return code {code} out of range")
        packet = Connack(code, bool(ack_flags))
    elif kind == SUBSCRIBE:
        return _subscribe(r)
    elif kind == SUBACK:
        packet_id = r.packet_id()
        codes = tuple(r.rest)
        if not codes or any(c not in (0, 1, 2, SUBACK_FAILURE) for c in codes):
            raise MalformedPacket(f"SUBACK return codes: expected 0, 1, 2 or 0x80, got {list(codes)}")
        return Suback(packet_id, codes)
    elif kind == UNSUBSCRIBE:
        return _unsubscribe(r)
    elif kind in _ACKS:
        packet = _ACKS[kind](r.packet_id())
    else:
        packet = _EMPTY[kind]()
    r.done()
    return packet


_NAMES = dict(enumerate(("CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
                          "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT"), start=1))


@dataclass
class Decoder:
    """Turns a byte stream into packets, whatever the reads' boundaries; keeps the unfinished tail."""

    max_packet_bytes: int = MAX_REMAINING_LENGTH
    buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Packet]:
        """The packets completed by ``data``; raises ``MalformedPacket`` (the stream is then unusable)."""
        self.buffer += data
        out: list[Packet] = []
        while True:
            header = self._header()
            if header is None:
                return out
            kind, flags, start, length = header
            if len(self.buffer) < start + length:
                return out
            body = bytes(self.buffer[start:start + length])
            del self.buffer[:start + length]
            out.append(decode(kind, flags, body))

    def _header(self) -> tuple[int, int, int, int] | None:
        if not self.buffer:
            return None
        length, shift = 0, 0
        for i in range(1, 5):
            if i >= len(self.buffer):
                return None
            byte = self.buffer[i]
            length += (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                if length > self.max_packet_bytes:
                    raise MalformedPacket(f"remaining length {length}: over this broker's limit of "
                                          f"{self.max_packet_bytes} bytes")
                return self.buffer[0] >> 4, self.buffer[0] & 0x0F, i + 1, length
        raise MalformedPacket("remaining length: more than four bytes")
