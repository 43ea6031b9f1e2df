"""Tamper with a store of real scan runs and an attachment; ``verify`` must name the record.

The attacker has full database access: the append-only triggers are dropped first. Every
single-byte change (payload, header field, attachment blob, or anywhere in the SQLite file
itself) must be reported at the record it hit, or refuse to open cleanly; never crash, and
never say OK while the evidence read back differs from what was stored.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from moodle_soc.evidence.store.attachments import attach_file
from moodle_soc.evidence.store.runs import site_ref_for, store_run
from moodle_soc.evidence.store.store import EvidenceStore, StoreError, open_store
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import RecordKind, StoredRecord

PAYLOAD_ALTERED = "payload was altered (content hash does not match)"
HEADER_ALTERED = "header was altered (record hash does not match its fields)"
OFFSETS_PER_PAYLOAD = 50


@dataclass
class World:
    """A store holding 3 runs of Acme, 1 run of another site and 1 attachment (Acme's)."""

    store: EvidenceStore
    runs: list[StoredRecord]  # Acme's runs, chain positions 0, 1, 2
    other: StoredRecord
    attachment: StoredRecord  # Acme's chain position 3
    blob: bytes

    @property
    def records(self) -> list[StoredRecord]:
        return [*self.runs, self.other, self.attachment]

    def raw(self, record: StoredRecord, column: str) -> Any:
        with self.store.engine.connect() as connection:
            return connection.execute(
                sa.text(f"SELECT {column} FROM evidence_records WHERE seq = :seq"),
                {"seq": record.seq},
            ).scalar_one()

    def set(self, record: StoredRecord, column: str, value: Any) -> None:
        execute(
            self.store,
            f"UPDATE evidence_records SET {column} = :value WHERE seq = :seq",
            value=value,
            seq=record.seq,
        )

    def problems(self) -> list[tuple[int | None, str]]:
        return [(p.seq, p.message) for p in verify_store(self.store).problems]


def execute(store: EvidenceStore, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(sql), params)


def build_world(store: EvidenceStore, scans: Any, tmp_path: Path) -> World:
    runs = [store_run(store, run) for run in scans.acme]
    other = store_run(store, scans.other)
    blob = b"%PDF-1.7\n" + bytes(range(256)) * 8 + "signed policy ✓\n".encode()
    document = tmp_path / "access-review-2026Q4.pdf"
    document.write_bytes(blob)
    attachment = attach_file(
        store,
        site_ref_for(scans.acme[0]),
        document,
        control="CC6.3",
        effective_date=date(2026, 9, 30),
        collected_by="auditor",
        note="Q3 access review sign-off",
    )
    assert attachment.chain_index == 3
    assert verify_store(store).ok
    return World(store, runs, other, attachment, blob)


@pytest.fixture
def world(
    store: EvidenceStore,
    scans: Any,
    tmp_path: Path,
    unguarded: Callable[[EvidenceStore], None],
) -> Iterator[World]:
    built = build_world(store, scans, tmp_path)
    unguarded(store)
    yield built


def spread(length: int, count: int) -> list[int]:
    """``count`` offsets spread over ``length`` bytes, first and last included."""
    if length <= count:
        return list(range(length))
    return sorted({round(i * (length - 1) / (count - 1)) for i in range(count)})


def other_char(ch: str, alphabet: str = "xyz") -> str:
    return next(c for c in alphabet if c != ch)


# --- payloads ----------------------------------------------------------------------------------


def test_every_payload_byte_change_is_pinpointed(world: World) -> None:
    misses = []
    for record in world.records:
        text = world.raw(record, "payload")
        data = text.encode("utf-8")
        assert len(data) > 200
        for offset in spread(len(data), OFFSETS_PER_PAYLOAD):
            while data[offset] >= 0x80:  # change one ASCII byte, so the text stays UTF-8
                offset -= 1
            mutated = data[:offset] + other_char(chr(data[offset])).encode() + data[offset + 1 :]
            world.set(record, "payload", mutated.decode("utf-8"))
            found = world.problems()
            if found != [(record.seq, PAYLOAD_ALTERED)]:
                misses.append((record.seq, offset, found))
        world.set(record, "payload", text)
    assert misses == [], misses[:5]
    assert world.problems() == []


def test_a_changed_attachment_blob_byte_is_pinpointed(world: World) -> None:
    digest = hashlib.sha256(world.blob).hexdigest()
    expected = [(world.attachment.seq, f"attachment blob {digest[:12]} was altered")]
    misses = []
    for offset in spread(len(world.blob), OFFSETS_PER_PAYLOAD):
        mutated = bytearray(world.blob)
        mutated[offset] ^= 0x01
        execute(
            world.store,
            "UPDATE evidence_blobs SET data = :d WHERE sha256 = :h",
            d=bytes(mutated),
            h=digest,
        )
        if world.problems() != expected:
            misses.append(offset)
    assert misses == []
    execute(world.store, "DELETE FROM evidence_blobs WHERE sha256 = :h", h=digest)
    assert world.problems() == [(world.attachment.seq, f"attachment blob {digest[:12]} is missing")]


# --- header fields -----------------------------------------------------------------------------

HEX_FIELDS = ["prev_hash", "content_sha256", "record_hash"]


@pytest.mark.parametrize("field", [*HEX_FIELDS, "kind", "site_key"])
def test_every_character_change_in_a_header_field_is_pinpointed(world: World, field: str) -> None:
    misses = []
    for record in world.records:
        original = world.raw(record, field)
        offsets = spread(len(original), 16) if field in HEX_FIELDS else range(len(original))
        for offset in offsets:
            alphabet = "0123456789abcdef" if field in HEX_FIELDS else "xyz"
            changed = original[:offset] + other_char(original[offset], alphabet)
            world.set(record, field, changed + original[offset + 1 :])
            found = world.problems()
            seqs = {seq for seq, _ in found}
            # Moving a record to another site breaks two chains: both are reported.
            if record.seq not in seqs or (field != "site_key" and len(found) != 1):
                misses.append((record.seq, offset, found))
        world.set(record, field, original)
    assert misses == [], misses[:5]
    assert world.problems() == []


@pytest.mark.parametrize("field", ["collected_at", "created_at", "effective_date"])
def test_every_character_change_in_a_date_field_is_pinpointed(world: World, field: str) -> None:
    """Each character of the stored timestamp text is covered by the record hash.

    (verify must hash the stored text: re-parsing it accepts '2026-11-29x09:00:00Z' and
    '09:00:00,000000Z' as the same instant, and raises on text it cannot parse.)
    """
    misses = []
    for record in world.records:
        original = world.raw(record, field)
        if original is None:
            continue
        for offset in range(len(original)):
            ch = original[offset]
            replacement = other_char(ch, "0123456789" if ch.isdigit() else "x ,")
            world.set(record, field, original[:offset] + replacement + original[offset + 1 :])
            try:
                found = world.problems()
            except Exception as error:  # a crash is a miss too: the CLI would print a traceback
                found = [(None, f"raised {type(error).__name__}: {error}")]
            if found != [(record.seq, HEADER_ALTERED)]:
                misses.append((record.seq, f"{original!r}[{offset}] -> {replacement!r}", found))
        world.set(record, field, original)
    assert misses == [], f"{len(misses)} undetected or crashing edits, e.g. {misses[:4]}"


@pytest.mark.parametrize("new_index", [-1, 1000])
def test_a_changed_chain_position_is_pinpointed(world: World, new_index: int) -> None:
    """Record #1 of Acme is moved to another chain position: verify names record #1.

    (Naming its successor instead, 'a record is missing', blames an intact record.)
    """
    moved = world.runs[1]
    world.set(moved, "chain_index", new_index)
    found = world.problems()
    assert [seq for seq, _ in found] == [moved.seq], found


def test_deleting_a_middle_or_first_record_is_pinpointed_at_the_gap(world: World) -> None:
    a0, a1, a2 = world.runs
    execute(world.store, "DELETE FROM evidence_records WHERE seq = :s", s=a1.seq)
    assert world.problems() == [(a2.seq, "chain position 2 follows 0: a record is missing")]
    execute(world.store, "DELETE FROM evidence_records WHERE seq = :s", s=a0.seq)
    assert world.problems() == [(a2.seq, "chain position 2 follows -1: a record is missing")]


def test_deleting_the_last_record_changes_the_chain_head(world: World) -> None:
    """Truncating a chain leaves a valid shorter chain: only the recorded head can tell."""
    site = world.attachment.site_key
    head_before = verify_store(world.store).heads[site]
    execute(world.store, "DELETE FROM evidence_records WHERE seq = :s", s=world.attachment.seq)
    report = verify_store(world.store)
    assert report.ok
    assert report.heads[site] != head_before
    assert head_before not in {r.record_hash for r in world.store.records()}


def test_swapping_two_records_chain_positions_is_pinpointed(world: World) -> None:
    a0, _, a2 = world.runs
    world.set(a0, "chain_index", -7)
    world.set(a2, "chain_index", 0)
    world.set(a0, "chain_index", 2)
    found = world.problems()
    assert len(found) == 1 and found[0][0] in {a0.seq, a2.seq}, found


def test_swapping_whole_rows_keeps_the_evidence_but_renumbers_it(world: World) -> None:
    """Exchanging two rows' seq numbers changes what ``show N`` shows but no evidence.

    (seq is a local row number outside the record hash: documented, not detected.)
    """
    a0, a1, _ = world.runs
    world.set(a0, "seq", -1)
    execute(world.store, "UPDATE evidence_records SET seq = :a WHERE seq = :b", a=a0.seq, b=a1.seq)
    execute(world.store, "UPDATE evidence_records SET seq = :a WHERE seq = -1", a=a1.seq)
    assert world.problems() == []
    assert world.store.get(str(a0.seq)).record_hash == a1.record_hash


def test_a_record_written_by_hand_after_the_guard_is_gone_is_detected(world: World) -> None:
    """Appending a forged record with a wrong hash (not through the store) is caught."""
    last = world.attachment
    columns = "site_key, chain_index, kind, created_at, collected_at, content_sha256, prev_hash,"
    execute(
        world.store,
        f"INSERT INTO evidence_records ({columns} record_hash, payload) VALUES (:site, 4, 'run',"
        " '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z', :c, :p, :h, '{}')",
        site=last.site_key,
        c=hashlib.sha256(b"{}").hexdigest(),
        p=last.record_hash,
        h="e" * 64,
    )
    found = world.problems()
    assert len(found) == 1 and found[0][1] == HEADER_ALTERED


# --- type confusion (SQLite stores any type in any column) ------------------------------------


@pytest.fixture
def sqlite_world(
    scans: Any, tmp_path: Path, unguarded: Callable[[EvidenceStore], None]
) -> Iterator[World]:
    with open_store(str(tmp_path / "typed.sqlite"), create=True) as store:
        built = build_world(store, scans, tmp_path)
        unguarded(store)
        yield built


@pytest.mark.parametrize(
    ("column", "expression"),
    [
        ("payload", "CAST(payload AS BLOB)"),
        ("chain_index", "'one'"),
        ("collected_at", "1795936000"),
        ("kind", "X'72756e'"),  # 'run' as a BLOB
    ],
)
def test_a_changed_column_type_is_reported_not_raised(
    sqlite_world: World, column: str, expression: str
) -> None:
    target = sqlite_world.runs[1]
    execute(
        sqlite_world.store,
        f"UPDATE evidence_records SET {column} = {expression} WHERE seq = :s",
        s=target.seq,
    )
    try:
        found = sqlite_world.problems()
    except StoreError:
        return  # a clean, documented refusal is acceptable
    assert target.seq in {seq for seq, _ in found}, found


# --- raw bytes of the SQLite file ---------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    records: dict[str, tuple[int, str, str, str | None]]  # record_hash -> seq, content, payload
    blobs: dict[str, str]
    keys: dict[str, str]


def snapshot(path: Path) -> Snapshot:
    """The evidence in a store file, read with plain sqlite3 (table scans, no indexes)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        records = {
            row[0]: (
                row[1],
                row[2],
                hashlib.sha256(row[3].encode()).hexdigest() if row[3] is not None else "",
                row[4],
            )
            for row in connection.execute(
                "SELECT record_hash, seq, content_sha256, payload, signature"
                " FROM evidence_records NOT INDEXED"
            )
        }
        blobs = {
            row[0]: hashlib.sha256(row[1]).hexdigest()
            for row in connection.execute("SELECT sha256, data FROM evidence_blobs NOT INDEXED")
        }
        keys = dict(connection.execute("SELECT key_id, public_key FROM evidence_keys NOT INDEXED"))
    finally:
        connection.close()
    return Snapshot(records, blobs, keys)


def targeted_offsets(path: Path) -> list[int]:
    """Bytes an attacker (or a bad disk) would hit: page headers, schema, alembic_version."""
    connection = sqlite3.connect(path)
    try:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        roots = dict(connection.execute("SELECT name, rootpage FROM sqlite_master WHERE rootpage"))
    finally:
        connection.close()
    data = path.read_bytes()
    offsets = list(range(0, 100, 9))  # the database header
    for page in range(1, pages + 1, max(1, pages // 40)):
        start = (page - 1) * page_size + (100 if page == 1 else 0)
        offsets += [start + page % 9]  # the b-tree page header (type, freeblock, cells...)
    version_page = (roots["alembic_version"] - 1) * page_size
    at = data.find(b"0001", version_page, version_page + page_size)
    while at != -1:
        offsets += range(at, at + 4)
        at = data.find(b"0001", at + 1, version_page + page_size)
    return offsets


def test_a_flipped_byte_anywhere_in_the_sqlite_file_is_reported_or_refused(
    scans: Any, tmp_path: Path
) -> None:
    from moodle_soc.cli.main import app

    template = tmp_path / "template.sqlite"
    with open_store(str(template), create=True) as store:
        world = build_world(store, scans, tmp_path)
        store.append(
            site_ref_for(scans.acme[0]),
            RecordKind.POPULATION,
            {"text": "ünïcode ✓ " * 30},
            collected_at=world.runs[0].collected_at,
        )
        count = len(store.records())
    assert not Path(f"{template}-wal").exists()  # checkpointed: the file is the whole store
    original = snapshot(template)
    size = template.stat().st_size
    offsets = sorted(set(spread(size, 150) + targeted_offsets(template)))
    runner = CliRunner()
    failures: list[tuple[str, str]] = []  # (kind of failure, detail)
    for number, offset in enumerate(offsets):
        mask = (0x01, 0x20, 0x80, 0xFF)[number % 4]
        trial = tmp_path / f"trial-{number % 2}"
        shutil.rmtree(trial, ignore_errors=True)
        trial.mkdir()
        copy = trial / "evidence.sqlite"
        data = bytearray(template.read_bytes())
        data[offset] ^= mask
        copy.write_bytes(bytes(data))
        result = runner.invoke(app, ["evidence", "verify", "--store", str(copy)])
        where = f"offset {offset} ^ {mask:#04x}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            error = result.exception
            message = str(error).splitlines()[0]
            failures.append((f"crash {type(error).__name__}: {message[:60]}", f"{where}: {error}"))
        elif result.exit_code in (7, 8):
            continue  # refused to open, or reported tampering
        elif result.exit_code != 0:
            failures.append((f"exit {result.exit_code}", f"{where}: {result.output[:150]}"))
        elif f"OK: {count} records" not in result.output:
            failures.append(("OK with fewer records", f"{where}: {result.output[:80]}"))
        else:
            try:
                now = snapshot(copy)
            except sqlite3.Error as error:
                failures.append(("OK, data unreadable", f"{where}: {error}"))
                continue
            if now != original:
                failures.append(("OK, evidence differs", where))
    kinds = Counter(kind for kind, _ in failures)
    summary = "\n".join(f"  {n} x {kind}" for kind, n in kinds.most_common())
    examples = "\n".join(detail[:220] for _, detail in failures[:6])
    assert failures == [], f"{len(failures)} of {len(offsets)} flips:\n{summary}\n{examples}"
