"""Bitstring status lists (W3C Bitstring Status List): ``encodedList`` and its bits.

``encodedList`` is ``"u" + base64url(gzip(bits))``; bit 0 is the most significant bit of the
first byte; a set bit means revoked. Decoding stops at 16 MiB (a gzip bomb).
"""

from __future__ import annotations

import base64
import gzip
import zlib
from typing import Any

from .did import CredentialError


def encode_status_list(bits: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode("ascii")


def decode_status_list(encoded: Any) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise CredentialError("encodedList is not multibase base64url ('u...')", code="status_unavailable")
    try:
        packed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        bits = inflater.decompress(packed, 16 * 1024 * 1024)  # a gzip bomb stops at 16 MiB
    except (ValueError, zlib.error) as exc:
        raise CredentialError(f"encodedList cannot be decoded: {exc}", code="status_unavailable") from None
    if inflater.unconsumed_tail:
        raise CredentialError("encodedList is larger than 16 MiB", code="status_unavailable")
    return bits


def bit_is_set(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] >> (7 - index % 8) & 1)


def set_bit(bits: bytearray, index: int) -> None:
    bits[index // 8] |= 1 << (7 - index % 8)
