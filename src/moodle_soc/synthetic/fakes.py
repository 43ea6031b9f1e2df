"""Realistic-looking, deterministic fake secrets for the synthetic site's secret columns.

Every value is derived from a key with SHA-512, so two builds of the same site are identical
and a test can look for each secret in the tool's output to prove it never leaks.
"""

from __future__ import annotations

import hashlib
from functools import cache

__all__ = ["ALNUM", "BASE32", "CRYPT64", "HEX", "fake_secret", "password_hash", "token_hex"]

HEX = "0123456789abcdef"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CRYPT64 = "./" + ALNUM  # the alphabet of crypt(3) salts and hashes
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@cache
def _table(alphabet: str) -> bytes:
    """Byte value → character of `alphabet` (a translation table for ``bytes.translate``)."""
    return bytes(ord(alphabet[value % len(alphabet)]) for value in range(256))


def fake_secret(key: str, length: int, alphabet: str = ALNUM) -> str:
    """`length` characters of `alphabet` (ASCII), a pure function of `key`."""
    table = _table(alphabet)
    out = b""
    block = 0
    while len(out) < length:
        out += hashlib.sha512(f"{key}#{block}".encode()).digest().translate(table)
        block += 1
    return out[:length].decode("ascii")


def password_hash(key: str) -> str:
    """A SHA-512 crypt string shaped like Moodle 4.3+ stores (``$6$rounds=10000$salt$hash``)."""
    return (
        f"$6$rounds=10000${fake_secret(key + ':salt', 16, CRYPT64)}${fake_secret(key, 86, CRYPT64)}"
    )


def token_hex(key: str, length: int = 32) -> str:
    """A lowercase hex token, like ``external_tokens.token``."""
    return fake_secret(key, length, HEX)
