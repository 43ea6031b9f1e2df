"""Canonical bytes for hashing: RFC 8785 JSON Canonicalization, so a record hashes the same
on every machine, database and Python version, and anyone can recompute it offline."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 canonical JSON of ``value`` (after a JSON round trip for dates, tuples...)."""
    return rfc8785.dumps(json.loads(json.dumps(value, default=str)))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(value: Any) -> str:
    return sha256_hex(canonical_bytes(value))
