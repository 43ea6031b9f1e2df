"""The evidence package format: its manifest, checksum file, archive comment and rules.

One home for what both the exporter and ``verify-package`` must agree on, so they cannot
drift apart. ``FORMAT_VERSION`` changes whenever a verifier of the old format would reject a
package of the new one.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from moodle_soc.evidence.store.canonical import content_hash

FORMAT = "moodle-soc-evidence-package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
CHAIN = "chain/records.jsonl"
COMMENT_PREFIX = b"moodle-soc evidence package; manifest.json sha256 "
SAFE_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
SafePath = Annotated[str, StringConstraints(pattern=SAFE_PATH.pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileEntry(_Model):
    path: SafePath
    sha256: Hex64
    size: int = Field(ge=0)
    packed_sha256: Hex64  # of the bytes inside the ZIP (deflate is not unique)


class RecordEntry(_Model):
    seq: int
    index: int = Field(ge=0)
    kind: str
    collected_at: str
    effective_date: str | None
    record_hash: Hex64
    content_sha256: Hex64
    prev_hash: Hex64
    signature: str | None
    key_id: str | None
    file: str | None
    attachment: str | None = None
    cleared_by: str | None = None


class ChainInfo(_Model):
    first_index: int | None
    last_index: int | None
    range_head: str | None
    head_at_export: Hex64
    length_at_export: int = Field(ge=0)


class SiteEntry(_Model):
    key: str
    name: str
    wwwroot: str | None


class PeriodEntry(_Model):
    start: date
    end: date


class ManifestSignature(_Model):
    key_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    signature: str


class Manifest(_Model):
    format: Literal["moodle-soc-evidence-package"]
    format_version: Literal[1]
    tool: dict[str, str]
    site: SiteEntry
    period: PeriodEntry
    generated_at: str
    archive_time: datetime
    files: tuple[FileEntry, ...]
    records: tuple[RecordEntry, ...]
    chain: ChainInfo
    public_keys: dict[str, str]
    signatures: tuple[ManifestSignature, ...]


def in_period(header: dict[str, Any], start: date, end: date) -> bool:
    """A record serves the period when the date it is effective for (attachments, populations)
    or, without one, the UTC day it was collected lies inside it."""
    effective = header.get("effective_date")
    if effective:
        day = date.fromisoformat(str(effective))
    else:
        moment = datetime.fromisoformat(str(header["collected_at"]).replace("Z", "+00:00"))
        day = moment.astimezone(UTC).date()
    return start <= day <= end


def signed_digest(manifest: dict[str, Any]) -> str:
    """What manifest signatures sign: SHA-256 of the canonical manifest without them."""
    return content_hash({key: value for key, value in manifest.items() if key != "signatures"})


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()


def sums_text(manifest_sha256: str, files: tuple[FileEntry, ...] | list[FileEntry]) -> bytes:
    """``sha256sum -c`` input: manifest.json first, then every file in manifest order."""
    lines = [f"{manifest_sha256}  {MANIFEST}\n"]
    lines += [f"{entry.sha256}  {entry.path}\n" for entry in files]
    return "".join(lines).encode()


def comment_for(manifest_sha256: str) -> bytes:
    return COMMENT_PREFIX + manifest_sha256.encode()


def parse_sums(text: bytes) -> tuple[list[tuple[str, str]], int | None]:
    """(sha256, path) pairs, and the number of the first malformed line (or None)."""
    pairs: list[tuple[str, str]] = []
    try:
        lines = text.decode("ascii").split("\n")
    except UnicodeDecodeError:
        return pairs, 1
    if lines[-1] != "":
        return pairs, len(lines)
    for number, line in enumerate(lines[:-1], start=1):
        match = re.fullmatch(r"([0-9a-f]{64})  (\S+)", line)
        if match is None:
            return pairs, number
        pairs.append((match[1], match[2]))
    return pairs, None
