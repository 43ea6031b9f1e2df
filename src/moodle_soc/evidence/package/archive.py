"""The evidence package's ZIP container, written one exact way and read back strictly.

An auditor must be able to trust that *any* changed byte of a package is noticed, not only
changed file contents. So the exporter writes every entry the same way (one timestamp, fixed
attributes, no extra fields, no data descriptors) and the reader accepts only that form: every
header field is a fixed value or one of two copies (local header and central directory) that
must agree, and every data byte is covered by a hash. Deflate can encode the same content in
several ways (ignored padding bits), so the manifest also records the SHA-256 of each member's
compressed bytes; ``SHA256SUMS`` and ``manifest.json`` are stored uncompressed.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MADE_BY = (3 << 8) | 20  # Unix, ZIP 2.0
NEEDED = 20
EXTERNAL_ATTR = 0o100644 << 16  # a regular file, rw-r--r--
MAX_SIZE = zipfile.ZIP64_LIMIT // 2  # every offset and size fits without ZIP64 records
#: Decompression is bounded before any byte is inflated: a member may declare at most this
#: many bytes (an attachment is at most 200 MiB), deflate can shrink data at most ~1032:1, and
#: the whole package may inflate to at most MAX_SIZE.
MAX_MEMBER_BYTES = 512 * 2**20
MAX_RATIO = 1100
MAX_ENTRIES = 0xFFFF - 1
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")


class ContainerProblem(Exception):
    """The archive is not exactly what the exporter writes; ``names`` are the entry's names."""

    def __init__(self, message: str, names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.names = names


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes
    packed_sha256: str  # of the bytes as stored in the archive (compressed or not)
    dos_time: tuple[int, int]


def dos_stamp(moment: datetime) -> tuple[int, int, int, int, int, int]:
    if moment.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute,
            moment.second - moment.second % 2)  # fmt: skip


def dos_fields(moment: datetime) -> tuple[int, int]:
    """(time, date) as the ZIP headers hold them."""
    y, mo, d, h, mi, s = dos_stamp(moment)
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def deflate(data: bytes) -> bytes:
    """The compressed bytes ``zipfile`` writes for ``data`` (same zlib, same parameters)."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def write_archive(
    path: Path, members: Iterable[tuple[str, bytes, bool]], moment: datetime, comment: bytes
) -> None:
    """Write (name, data, compress) members in order, with one timestamp and fixed attributes."""
    stamp = dos_stamp(moment)
    with zipfile.ZipFile(path, "w", allowZip64=False) as archive:
        for count, (name, data, compress) in enumerate(members, start=1):
            if count > MAX_ENTRIES or len(data) > MAX_SIZE:
                raise zipfile.LargeZipFile(f"{name}: the package would need ZIP64 records")
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            info.create_system, info.create_version, info.extract_version = 3, 20, NEEDED
            info.external_attr = EXTERNAL_ATTR
            archive.writestr(info, data)
        archive.comment = comment
    if path.stat().st_size > MAX_SIZE:
        raise zipfile.LargeZipFile("the package would need ZIP64 records")


class StrictZip:
    """Reads an archive written by ``write_archive``; anything else is a ContainerProblem."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        end = _find_end(raw)
        (_sig, disk, cd_disk, here, total, cd_size, cd_offset, _len) = _END.unpack_from(raw, end)
        if disk or cd_disk or here != total:
            raise ContainerProblem("the end-of-archive record is damaged (disks or counts)")
        if cd_offset + cd_size != end:
            raise ContainerProblem("the end-of-archive record gives a wrong directory offset")
        self.entries = total
        self.cd_start, self.cd_end = cd_offset, end
        self.comment = raw[end + _END.size :]

    def members(self) -> Iterator[Member]:
        """Each entry in archive order, checked field by field; stops at the first problem."""
        at, local, count, inflated = self.cd_start, 0, 0, 0
        while at < self.cd_end:
            member, at, local = _entry(self.raw, at, local, self.cd_end)
            count += 1
            inflated += len(member.data)
            if inflated > MAX_SIZE:
                raise ContainerProblem("its members inflate to more than a package can hold")
            yield member
        if local != self.cd_start:
            raise ContainerProblem("there are stray bytes before the central directory")
        if count != self.entries:
            raise ContainerProblem(
                f"the end-of-archive record counts {self.entries} entries, the directory {count}"
            )


def _find_end(raw: bytes) -> int:
    lowest = max(0, len(raw) - _END.size - 0xFFFF)
    at = raw.rfind(b"PK\x05\x06", lowest)
    while at >= 0:
        fits = at + _END.size <= len(raw)
        if fits and at + _END.size + _END.unpack_from(raw, at)[-1] == len(raw):
            return at
        at = raw.rfind(b"PK\x05\x06", lowest, at)
    raise ContainerProblem("not a ZIP archive, or truncated (no end-of-archive record)")


def _entry(raw: bytes, at: int, local: int, cd_end: int) -> tuple[Member, int, int]:
    """The central directory entry at ``at`` and its local header, expected at ``local``."""
    local_name = _local_name(raw, local, cd_end)
    if at + _CENTRAL.size > cd_end or raw[at : at + 4] != b"PK\x01\x02":
        raise ContainerProblem("its central directory entry is damaged", local_name)
    c = _CENTRAL.unpack_from(raw, at)
    (made_by, needed, flags, method, tm, dt, crc, csize, usize) = c[1:10]
    (name_len, extra_len, comment_len, disk, internal, external, offset) = c[10:]
    name_bytes = raw[at + _CENTRAL.size : at + _CENTRAL.size + name_len]
    names = (_decode(name_bytes), *local_name)

    def fail(message: str) -> ContainerProblem:
        return ContainerProblem(message, names)

    fixed = (made_by, needed, flags, extra_len, comment_len, disk, internal, external)
    if fixed != (MADE_BY, NEEDED, 0, 0, 0, 0, 0, EXTERNAL_ATTR) or method not in _METHODS:
        raise fail("its central directory entry has altered fields")
    if offset != local:
        raise fail(f"the directory places its header at byte {offset}, not {local}")
    if not local_name:
        raise fail("its local header is damaged")
    lh = _LOCAL.unpack_from(raw, local)
    if lh[1:] != (needed, flags, method, tm, dt, crc, csize, usize, name_len, 0):
        raise fail("its local header differs from the central directory")
    start = local + _LOCAL.size + name_len
    if raw[local + _LOCAL.size : start] != name_bytes:
        raise fail("its name differs between the local header and the central directory")
    if start + csize > cd_end:
        raise fail("its data runs into the central directory")
    if usize > MAX_MEMBER_BYTES or (method == zipfile.ZIP_DEFLATED and usize > MAX_RATIO * csize):
        raise fail(
            f"it declares {usize:,} bytes from {csize:,} compressed: more than a package"
            " member can be (a decompression bomb?); nothing of it was inflated"
        )
    packed = raw[start : start + csize]
    data = _inflate(packed, fail, usize) if method == zipfile.ZIP_DEFLATED else packed
    if len(data) != usize or zlib.crc32(data) != crc:
        raise fail("its data is damaged (size or CRC-32 differs)")
    member = Member(names[0], data, hashlib.sha256(packed).hexdigest(), (tm, dt))
    return member, at + _CENTRAL.size + name_len, start + csize


def _local_name(raw: bytes, local: int, cd_end: int) -> tuple[str, ...]:
    if local + _LOCAL.size > cd_end or raw[local : local + 4] != b"PK\x03\x04":
        return ()
    length = _LOCAL.unpack_from(raw, local)[9]
    return (_decode(raw[local + _LOCAL.size : local + _LOCAL.size + length]),)


def _decode(name: bytes) -> str:
    return name.decode("ascii", errors="backslashreplace")


def _inflate(stream: bytes, fail: Callable[[str], ContainerProblem], size: int) -> bytes:
    """Inflate a raw deflate stream that must end exactly at its last byte, never to more
    than the ``size`` its header declares (plus one byte, to see that it lied)."""
    inflater = zlib.decompressobj(-15)
    try:
        data = inflater.decompress(stream, size + 1)
    except zlib.error:
        raise fail("its compressed data is damaged") from None
    if len(data) > size:
        raise fail("its data inflates to more than its header declares")
    if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise fail("its compressed data is damaged (the stream does not end where it should)")
    return data
