"""Reading a package never inflates more than it may: a member's declared size and its
compression ratio are bounded before a byte is inflated, and a header that lies about the
size is caught while inflating, never after."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moodle_soc.evidence.package import archive
from moodle_soc.evidence.package.archive import ContainerProblem, StrictZip, write_archive

MOMENT = datetime(2026, 12, 1, tzinfo=UTC)


def _package(tmp_path: Path, data: bytes) -> bytearray:
    path = tmp_path / "p.zip"
    write_archive(path, [("records/1.json", data, True)], MOMENT, b"")
    return bytearray(path.read_bytes())


def _declare_size(raw: bytearray, size: int) -> None:
    """Rewrite the uncompressed size in the local header and the central directory."""
    struct.pack_into("<L", raw, 22, size)  # local file header
    central = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<L", raw, central + 24, size)


def test_an_honest_member_reads_back(tmp_path: Path) -> None:
    (member,) = StrictZip(bytes(_package(tmp_path, b"{}" * 1000))).members()
    assert member.data == b"{}" * 1000


@pytest.mark.parametrize("declared", [archive.MAX_MEMBER_BYTES + 1, 2**31])
def test_a_member_declaring_a_huge_size_is_refused_before_inflating(
    tmp_path: Path, declared: int
) -> None:
    raw = _package(tmp_path, b"0" * 10_000)
    _declare_size(raw, declared)
    with pytest.raises(ContainerProblem, match="decompression bomb"):
        list(StrictZip(bytes(raw)).members())


def test_a_member_inflating_past_its_declared_size_is_stopped(tmp_path: Path) -> None:
    raw = _package(tmp_path, b"\0" * 1_000_000)  # ~1,000 bytes compressed
    _declare_size(raw, 5_000)  # within the ratio: inflating stops at 5,001 bytes
    with pytest.raises(ContainerProblem, match="inflates to more than its header declares"):
        list(StrictZip(bytes(raw)).members())
