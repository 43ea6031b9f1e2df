"""Any single-byte change to a package is rejected, and the file it is in is named.

Mutation testing over the whole ZIP (headers, data, central directory, end record, comment)
and over each member's content (rebuilt into an otherwise exact archive), plus added, removed,
duplicated and escaping members, damaged archives, and a forger who recomputes every hash.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import random
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.package.archive import deflate, write_archive
from moodle_soc.evidence.package.export import export_package
from moodle_soc.evidence.package.manifest import (
    FileEntry,
    comment_for,
    manifest_bytes,
    sums_text,
)
from moodle_soc.evidence.package.verify import PackageProblem, verify_package
from moodle_soc.evidence.store.attachments import attach_file
from moodle_soc.evidence.store.canonical import content_hash, sha256_hex
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.signing import generate_key
from moodle_soc.evidence.store.store import EvidenceStore, StoreError, open_store
from moodle_soc.models.run import AuditRun
from moodle_soc.policy import Policy
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.acme import build_acme

Member = tuple[str, bytes, bool]


@dataclass(frozen=True)
class Package:
    path: Path
    raw: bytes
    members: list[Member]
    comment: bytes
    archive_time: datetime
    run_seq: int


def read_members(path: Path) -> tuple[list[Member], bytes]:
    with zipfile.ZipFile(path) as archive:
        members = [
            (i.filename, archive.read(i), i.compress_type == zipfile.ZIP_DEFLATED)
            for i in archive.infolist()
        ]
        return members, archive.comment


def scan(moment: datetime) -> AuditRun:
    builder = build_acme(users=20)
    db = Database(engine=builder.sqlite_memory(), prefix=builder.prefix, display_url="sqlite://")
    return run_scan(ScanContext(MoodleSite(db, audit_time=moment), Policy()))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Package]:
    """A signed package of two runs and an attachment; a third run lies before the period."""
    where = tmp_path_factory.mktemp("tamper")
    with open_store(
        str(where / "evidence.sqlite"), signer=generate_key(where / "key.pem"), create=True
    ) as store:
        stored = [
            store_run(store, scan(datetime(2026, 5, day, 9, tzinfo=UTC))) for day in (1, 4, 9)
        ]
        site = store.find_site(stored[0].site_key)
        evidence = where / "access-review.pdf"
        evidence.write_bytes(b"%PDF-1.4 quarterly access review, signed")
        start, end = date(2026, 5, 2), date(2026, 5, 10)
        attach_file(store, site, evidence, control="CC6.2", effective_date=start, collected_by="al")
        path = where / "package.zip"
        export_package(store, site.key, start, end, path)
        members, comment = read_members(path)
        moment = json.loads(dict((n, d) for n, d, _ in members)["manifest.json"])["archive_time"]
        archive_time = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        yield Package(path, path.read_bytes(), members, comment, archive_time, stored[1].seq)


def problem_of(raw: bytes, where: Path) -> PackageProblem | None:
    where.write_bytes(raw)
    return verify_package(where).problem


def rebuild(package: Package, members: list[Member], where: Path, comment: bytes = b"") -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name")  # what a tamperer ignores too
        write_archive(where, members, package.archive_time, comment or package.comment)
    return where


def owners(raw: bytes) -> list[tuple[int, int, str]]:
    """Byte ranges of the archive and the member (or the archive itself) each belongs to."""
    ranges = []
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        infos = archive.infolist()
        central = archive.start_dir
    for info in infos:
        name_len = len(info.filename.encode())
        data = info.header_offset + 30 + name_len
        ranges.append((info.header_offset, data + info.compress_size, info.filename))
        ranges.append((central, central + 46 + name_len, info.filename))
        central += 46 + name_len
    ranges.append((central, len(raw), "package.zip"))
    return ranges


def offsets_to_flip(package: Package) -> list[int]:
    """~40 offsets spread over the file, plus every header field of every entry."""
    size = len(package.raw)
    chosen = {round(n * (size - 1) / 39) for n in range(40)}
    with zipfile.ZipFile(package.path) as archive:
        central = archive.start_dir
        for info in archive.infolist():
            name_len = len(info.filename.encode())
            chosen |= {info.header_offset + k for k in (0, 4, 6, 8, 10, 14, 18, 22, 26, 28, 30)}
            data = info.header_offset + 30 + name_len
            chosen |= {data, data + info.compress_size - 1}  # first and last data byte
            chosen |= {central + k for k in (0, 4, 8, 10, 12, 16, 20, 24, 28, 30, 32, 38, 42, 46)}
            central += 46 + name_len
    chosen |= {central + k for k in (0, 4, 8, 10, 12, 16, 20, 22, 40, size - central - 1)}
    return sorted(chosen)


def test_every_flipped_byte_of_the_archive_is_rejected_and_located(
    package: Package, tmp_path: Path
) -> None:
    assert verify_package(package.path).problem is None
    regions = owners(package.raw)
    rng = random.Random(8785)
    missed = []
    for offset in offsets_to_flip(package):
        for flip in (rng.randrange(1, 256), 0x80):
            mutated = bytearray(package.raw)
            mutated[offset] ^= flip
            problem = problem_of(bytes(mutated), tmp_path / "package.zip")
            expected = next(owner for lo, hi, owner in regions if lo <= offset < hi)
            if problem is None or problem.file != expected:
                missed.append((offset, flip, expected, problem))
    assert missed == []


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_changed_byte_in_any_member_names_that_member(
    package: Package, tmp_path: Path, where: str
) -> None:
    missed = []
    for number, (name, data, compressed) in enumerate(package.members):
        if not data:
            continue
        at = {"start": 0, "middle": len(data) // 2, "end": len(data) - 1}[where]
        changed = bytearray(data)
        changed[at] ^= 0x20 if chr(changed[at]).isalpha() else 0x01
        members = list(package.members)
        members[number] = (name, bytes(changed), compressed)
        problem = verify_package(rebuild(package, members, tmp_path / f"{number}.zip")).problem
        if problem is None or problem.file != name:
            missed.append((name, at, problem))
    assert missed == []


def test_a_member_added_removed_or_duplicated_is_rejected(package: Package, tmp_path: Path) -> None:
    run = f"runs/run-{package.run_seq}.json"
    cases: dict[str, tuple[list[Member], str, str]] = {
        "added": ([*package.members, ("notes.txt", b"hi", True)], "notes.txt", "not listed"),
        "removed": ([m for m in package.members if m[0] != run], run, "missing from the archive"),
        "doubled": ([*package.members, package.members[2]], package.members[2][0], "twice"),
        "no sums": (package.members[1:], "package.zip", "has no SHA256SUMS"),
        "slip": ([*package.members, ("../../evil.sh", b"x", True)], "../../evil.sh", "unsafe"),
        "absolute": ([*package.members, ("/etc/cron.d/x", b"x", True)], "/etc/cron.d/x", "unsafe"),
    }
    for case, (members, file, message) in cases.items():
        problem = verify_package(rebuild(package, members, tmp_path / "package.zip")).problem
        assert problem is not None and problem.file == file, case
        assert message in problem.message, case


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: raw[:-1],
        lambda raw: raw[:10],
        lambda raw: b"",
        lambda raw: bytes(random.Random(1).randbytes(5000)),
        lambda raw: raw + b"trailing bytes",
        lambda raw: b"leading bytes" + raw,
    ],
    ids=["half", "last-byte", "ten-bytes", "empty", "random", "appended", "prepended"],
)
def test_a_damaged_archive_is_a_clear_problem_never_a_traceback(
    package: Package, tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    problem = problem_of(damage(package.raw), tmp_path / "package.zip")
    assert problem is not None and problem.file == "package.zip"


def test_a_missing_file_is_a_clear_problem(tmp_path: Path) -> None:
    problem = verify_package(tmp_path / "nothing.zip").problem
    assert problem is not None and "cannot be read" in problem.message


@functools.cache
def packed_sha256(data: bytes) -> str:
    """SHA-256 of ``data`` deflated as the exporter does (the same bytes deflate alike: each
    file is deflated once, not at every reseal of a package whose other files changed)."""
    return sha256_hex(deflate(data))


def reseal(
    package: Package, files: dict[str, bytes], document: dict[str, Any], where: Path
) -> PackageProblem | None:
    """Recompute every hash a forger without the key can (files, SHA256SUMS, comment), then
    verify the rebuilt package."""
    for entry in document["files"]:
        data = files[entry["path"]]
        compressed = entry["packed_sha256"] != entry["sha256"]
        packed = packed_sha256(data) if compressed else sha256_hex(data)
        entry.update(sha256=sha256_hex(data), size=len(data), packed_sha256=packed)
    files["manifest.json"] = manifest_bytes(document)
    manifest_sha = sha256_hex(files["manifest.json"])
    entries = [FileEntry.model_validate(entry) for entry in document["files"]]
    files["SHA256SUMS"] = sums_text(manifest_sha, entries)
    members = [(name, files[name], compressed) for name, _data, compressed in package.members]
    return verify_package(rebuild(package, members, where, comment_for(manifest_sha))).problem


def forge(package: Package, tmp_path: Path, *, keep_signatures: bool) -> PackageProblem | None:
    """Pass every check of a run, and rehash its record, chain line and manifest entry."""
    files = {name: data for name, data, _ in package.members}
    document = json.loads(files["manifest.json"])
    run_file = f"runs/run-{package.run_seq}.json"
    run = json.loads(files[run_file])
    run["checks"] = [{**c, "status": "pass"} for c in run["checks"]]
    files[run_file] = json.dumps(run, separators=(",", ":")).encode()
    lines = [json.loads(line) for line in files["chain/records.jsonl"].splitlines()]
    for line in lines:
        if line["seq"] == package.run_seq:
            line["header"]["content"] = sha256_hex(files[run_file])
            line["record_hash"] = content_hash(line["header"])
    files["chain/records.jsonl"] = b"".join(
        json.dumps(line, sort_keys=True).encode() + b"\n" for line in lines
    )
    by_seq = {line["seq"]: line for line in lines}
    for record in document["records"]:
        record["content_sha256"] = by_seq[record["seq"]]["header"]["content"]
        record["record_hash"] = by_seq[record["seq"]]["record_hash"]
    if not keep_signatures:
        document["signatures"] = []
    return reseal(package, files, document, tmp_path / "forged.zip")


def test_a_forger_who_recomputes_every_hash_is_caught_by_the_signatures(
    package: Package, tmp_path: Path
) -> None:
    problem = forge(package, tmp_path, keep_signatures=True)
    assert problem is not None
    assert problem.file == "manifest.json" and "does not verify" in problem.message
    problem = forge(package, tmp_path, keep_signatures=False)
    assert problem is not None and problem.file == "chain/records.jsonl"
    assert "record signature does not verify" in problem.message


def test_export_refuses_evidence_the_store_would_reject(
    sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    store = sqlite_store
    moment = datetime(2026, 5, 1, 9, tzinfo=UTC)
    record = store_run(store, scan(moment))
    with store.engine.begin() as connection:  # an attacker with database access
        connection.exec_driver_sql("DROP TRIGGER evidence_records_no_update")
        connection.execute(
            sa.text("UPDATE evidence_records SET payload = :p WHERE seq = :s"),
            {"p": '{"forged":true}', "s": record.seq},
        )
    day = moment.date()
    with pytest.raises(StoreError, match=f"record {record.seq} .*payload was altered"):
        export_package(store, record.site_key, day, day, tmp_path / "p.zip")
    assert not (tmp_path / "p.zip").exists()


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from leaves(item, (*path, key))
    elif path:
        yield path


def test_hostile_values_in_a_resealed_package_are_problems_never_tracebacks(
    package: Package, tmp_path: Path
) -> None:
    """An unsigned forgery with odd values anywhere in the manifest or the chain file."""
    hostile = [None, 0, -1, 2**70, 1.5, float("nan"), "", "x", [], {}, "2026-13-01", True]
    rng = random.Random(2026)
    for trial in range(120):
        files = {name: data for name, data, _ in package.members}
        document = json.loads(files["manifest.json"])
        document["signatures"] = []
        lines = [json.loads(line) for line in files["chain/records.jsonl"].splitlines()]
        target: Any = document if trial % 2 else rng.choice(lines)
        path = rng.choice([p for p in leaves(target) if p[0] != "files"])
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = rng.choice(hostile)
        files["chain/records.jsonl"] = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
        problem = reseal(package, files, document, tmp_path / f"{trial}.zip")
        assert problem is None or (problem.file and problem.message), path


def unsigned(files: dict[str, bytes], document: dict[str, Any]) -> None:
    """Strip the manifest signatures, and the README's claim of them (verify-package makes
    README.txt again from the manifest)."""
    readme = files["README.txt"].decode()
    for signature in document["signatures"]:
        key = signature["key_id"]
        readme = readme.replace(f"Manifest:    signed by {key}", "Manifest:    not signed")
        readme = readme.replace(f"\nManifest signed by key {key}.", "")
    files["README.txt"] = readme.encode()
    document["signatures"] = []


def edit_findings(package: Package, tmp_path: Path, edit: Callable[[str], str]) -> Any:
    """An attacker's edit of the findings CSV, with every hash recomputed and no signature."""
    files = {name: data for name, data, _ in package.members}
    document = json.loads(files["manifest.json"])
    unsigned(files, document)
    files["findings/findings.csv"] = edit(files["findings/findings.csv"].decode()).encode()
    return reseal(package, files, document, tmp_path / "edited.zip")


def test_an_edited_findings_csv_with_a_recomputed_manifest_fails_verification(
    package: Package, tmp_path: Path
) -> None:
    assert edit_findings(package, tmp_path, lambda text: text) is None  # untouched: verifies
    problem = edit_findings(package, tmp_path, lambda text: text.replace(",fail,", ",pass,", 1))
    assert problem is not None and problem.file == "findings/findings.csv"
    assert problem.message.startswith("row ")
    assert "(status) differs from the findings of the chained runs (runs/run-" in problem.message
    assert problem.message.endswith("the table was edited after export")
    lines = lambda text: "".join(text.splitlines(keepends=True)[:-1])  # noqa: E731
    problem = edit_findings(package, tmp_path, lines)  # a finding dropped
    assert problem is not None and problem.file == "findings/findings.csv"
    assert "findings; the chained runs hold" in problem.message


def test_an_untouched_package_verifies(package: Package) -> None:
    report = verify_package(package.path)
    assert report.ok, report.problem


def test_a_forged_population_with_a_recomputed_manifest_fails_verification(
    package: Package, tmp_path: Path
) -> None:
    files = {name: data for name, data, _ in package.members}
    document = json.loads(files["manifest.json"])
    unsigned(files, document)
    run = json.loads(files[f"runs/run-{package.run_seq}.json"])
    failing = next(c for c in run["checks"] if c["by_status"]["fail"])
    name = f"runs/populations/{failing['population']['sha256']}.jsonl.gz"
    rows = gzip.decompress(files[name]).replace(b'"status":"fail"', b'"status":"pass"')
    files[name] = gzip.compress(rows)  # every failure of the check passed, by an attacker

    problem = reseal(package, files, document, tmp_path / "forged.zip")

    assert problem is not None and problem.file == name
    assert problem.message.startswith(f"does not hash to the SHA-256 record {package.run_seq}")
