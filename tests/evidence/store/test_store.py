"""The store itself: opening and migrating, appending and reading back, the append-only guard.

Every test runs on SQLite and (marked ``integration``) on a throwaway PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from moodle_soc.evidence.store import schema as schema_module
from moodle_soc.evidence.store.canonical import canonical_bytes, sha256_hex
from moodle_soc.evidence.store.store import (
    STORE_ENV,
    EvidenceStore,
    StoreError,
    default_location,
    open_store,
)
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import GENESIS, RecordKind, SiteRef

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SITE_A = SiteRef(
    key="a" * 32 + "lms.example.edu", name="Example LMS", wwwroot="https://lms.example.edu"
)
SITE_B = SiteRef(key="b" * 32 + "moodle.test", name="Other", wwwroot=None)
TABLES = {"evidence_records", "evidence_blobs", "evidence_sites", "evidence_keys"}


def alembic_revision(store: EvidenceStore) -> list[str]:
    with store.engine.connect() as connection:
        return [
            row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        ]


def execute(store: EvidenceStore, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(sql), params)


# --- opening -----------------------------------------------------------------------------------


#: The newest migration's revision (each file is named by its revision).
NEWEST = sorted(
    p.name[:4]
    for p in (Path(schema_module.__file__).parent / "migrations" / "versions").glob("0*.py")
)[-1]


def test_open_creates_the_schema_at_the_newest_revision(store_location: str) -> None:
    with open_store(store_location, create=True) as store:
        assert set(sa.inspect(store.engine).get_table_names()) >= TABLES
        assert alembic_revision(store) == [NEWEST]
        store.append(SITE_A, "run", {"n": 1}, collected_at=T0)
    # Reopening migrates nothing and loses nothing.
    with open_store(store_location, create=True) as again:
        assert alembic_revision(again) == [NEWEST]
        assert [r.chain_index for r in again.records()] == [0]
        assert verify_store(again).ok


def test_sqlite_store_is_created_with_its_directories(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "evidence.sqlite"
    with open_store(str(path), create=True):
        pass
    assert path.is_file()


def test_default_location_is_the_environment_then_the_user_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import platformdirs

    monkeypatch.setenv(STORE_ENV, str(tmp_path / "x.sqlite"))
    assert default_location() == str(tmp_path / "x.sqlite")
    monkeypatch.delenv(STORE_ENV)
    expected = Path(platformdirs.user_data_dir("moodle-soc")) / "evidence.sqlite"
    assert default_location() == str(expected)


def test_open_without_a_location_uses_the_environment(tmp_path: Path) -> None:
    # tests/conftest.py points MOODLE_SOC_STORE at a temporary file for every test.
    with open_store(create=True) as store:
        assert store.location == default_location()
        store.append(SITE_A, "run", {}, collected_at=T0)
    assert Path(default_location()).is_file()


@pytest.mark.parametrize(
    "location",
    ["mysql://root@127.0.0.1/evidence", "oracle://u@h/db", "mssql+pymssql://u@h/db"],
)
def test_only_sqlite_and_postgresql_are_stores(location: str) -> None:
    with pytest.raises(StoreError, match="SQLite or PostgreSQL"):
        open_store(location, create=True)


def test_a_file_that_is_not_a_database_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError, match="Cannot open the evidence store"):
        open_store(str(path), create=True)


def test_an_unreachable_postgresql_store_is_a_clean_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://auditor:S3cret-Pw-9981@127.0.0.1:1/evidence", create=True)
    assert "S3cret-Pw-9981" not in caught.value.message
    assert "127.0.0.1" in caught.value.message


# --- appending and reading back -------------------------------------------------------------


def test_append_returns_exactly_what_is_stored(store: EvidenceStore) -> None:
    first = store.append(SITE_A, "run", {"n": 1}, collected_at=T0)
    other = store.append(SITE_B, "run", {"n": 2}, collected_at=T0)
    second = store.append(
        SITE_A,
        "attachment",
        {"n": 3},
        collected_at=T0 + timedelta(days=1),
        effective_date=date(2026, 1, 31),
    )
    assert (first.chain_index, other.chain_index, second.chain_index) == (0, 0, 1)
    assert first.prev_hash == GENESIS and other.prev_hash == GENESIS
    assert second.prev_hash == first.record_hash
    assert second.effective_date == date(2026, 1, 31)
    for record in (first, other, second):
        assert store.get(str(record.seq)) == record
        assert store.get(record.record_hash[:12]) == record
        assert store.get(record.record_hash.upper()) == record
    assert store.records(site_key=SITE_A.key) == [first, second]
    assert store.records(site_key=SITE_B.key) == [other]
    assert store.payload(second) == {"n": 3}
    assert store.payload_text(first) == canonical_bytes({"n": 1}).decode()
    assert first.content_sha256 == sha256_hex(b'{"n":1}')
    assert store.head(SITE_A.key) == second.record_hash
    assert store.head("no-such-site") == GENESIS


def test_collected_at_in_any_timezone_is_stored_as_the_same_instant(store: EvidenceStore) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 7, 1, 23, 30, 15, 123456, tzinfo=ZoneInfo("Pacific/Auckland"))
    record = store.append(SITE_A, "run", {}, collected_at=local)
    assert record.collected_at == local
    assert record.collected_at.utcoffset() == timedelta(0)
    assert store.get(str(record.seq)).collected_at == local


@pytest.mark.parametrize("ref", ["999", "abcdef0123", "12ab", "not-a-ref", "", "640390391381"])
def test_get_rejects_unknown_or_malformed_references(store: EvidenceStore, ref: str) -> None:
    """640390391381 is too big for a record number: it is looked up as a hash prefix (it used
    to overflow PostgreSQL's integer column)."""
    store.append(SITE_A, "run", {}, collected_at=T0)
    with pytest.raises(StoreError, match=r"is neither|matches no record"):
        store.get(ref)


def test_a_hash_prefix_of_digits_only_finds_its_record(store: EvidenceStore) -> None:
    for n in range(400):
        record = store.append(SITE_A, "run", {"n": n}, collected_at=T0)
        prefix = record.record_hash[:6]
        if prefix.isdigit() and int(prefix) > 400:  # not also a record number here
            break
    else:
        pytest.fail("no record hash began with 6 decimal digits")
    assert store.get(prefix) == record


def test_sites_and_find_site(store: EvidenceStore) -> None:
    store.append(SITE_A, "run", {}, collected_at=T0)
    store.append(SITE_B, "run", {}, collected_at=T0)
    store.append(SITE_A, "run", {}, collected_at=T0)  # the site is listed once
    assert store.sites() == [SITE_A, SITE_B]
    assert store.find_site("aaaaaaaa") == SITE_A
    assert store.find_site("example lms") == SITE_A
    assert store.find_site("HTTPS://LMS.EXAMPLE.EDU/") == SITE_A
    assert store.find_site(SITE_B.key) == SITE_B
    with pytest.raises(StoreError, match="matches no site"):
        store.find_site("https://elsewhere.example")
    twin = SiteRef(key="c" * 32 + "lms.example.edu", name="Example LMS")
    store.append(twin, "run", {}, collected_at=T0)
    with pytest.raises(StoreError, match="matches several sites"):
        store.find_site("Example LMS")


def test_records_filter_by_kind_and_period(store: EvidenceStore) -> None:
    days = [
        store.append(SITE_A, "run", {"d": d}, collected_at=T0 + timedelta(days=d)) for d in range(5)
    ]
    note = store.append(SITE_A, "attachment", {}, collected_at=T0 + timedelta(days=2))
    assert store.records(kind="attachment") == [note]
    assert store.records(kind="run") == days
    window = store.records(
        kind="run", collected_from=T0 + timedelta(days=1), collected_to=T0 + timedelta(days=3)
    )
    assert window == days[1:4]  # both ends inclusive


@pytest.mark.parametrize("page", [1, 2, 3, 1000])
def test_iter_records_pages_in_append_order(store: EvidenceStore, page: int) -> None:
    sites = [SITE_B if n % 3 == 0 else SITE_A for n in range(7)]
    appended = [
        store.append(site, RecordKind.RUN, {"n": n}, collected_at=T0 + timedelta(days=n))
        for n, site in enumerate(sites)
    ]
    assert list(store.iter_records(page=page)) == appended  # one site after another: seq order
    for site in (SITE_A, SITE_B):
        chain = list(store.iter_records(site_key=site.key, page=page))
        assert chain == store.records(site_key=site.key)  # within a site: chain order
        assert store.head(site.key) == chain[-1].record_hash
    window = store.iter_records(
        collected_from=T0 + timedelta(days=2), collected_to=T0 + timedelta(days=4), page=page
    )
    assert list(window) == appended[2:5]
    assert list(store.iter_records(kind=RecordKind.ATTACHMENT, page=page)) == []


def test_iter_records_wants_a_positive_page(store: EvidenceStore) -> None:
    with pytest.raises(ValueError, match="page must be at least 1"):
        next(store.iter_records(page=0))


def test_blobs_are_stored_once_by_hash(store: EvidenceStore) -> None:
    data = bytes(range(256)) * 10
    digest = store.put_blob(data)
    assert digest == sha256_hex(data)
    assert store.put_blob(data) == digest
    assert store.get_blob(digest) == data
    assert store.get_blob("0" * 64) is None
    with store.engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT COUNT(*) FROM evidence_blobs").scalar()
    assert count == 1


def test_the_store_display_never_shows_a_password(tmp_path: Path) -> None:
    from moodle_soc.evidence.store.engine import engine_for

    url = "postgresql://auditor:S3cret-Pw-9981@db.example:5432/evidence"
    with EvidenceStore(engine_for(url), url) as store:
        assert "S3cret-Pw-9981" not in store.display
        assert "db.example" in store.display


# --- append-only, at the database ---------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE evidence_records SET kind = 'edited' WHERE seq = :seq",
        "UPDATE evidence_records SET payload = '{}' WHERE seq = :seq",
        "UPDATE evidence_records SET payload = NULL WHERE seq = :seq",  # not naming a seal
        "UPDATE evidence_records SET record_hash = prev_hash, payload = NULL,"
        " pruned_by = 'x' WHERE seq = :seq",
        "DELETE FROM evidence_records WHERE seq = :seq",
        "DELETE FROM evidence_records",
    ],
)
def test_the_database_refuses_edits_and_deletes(store: EvidenceStore, statement: str) -> None:
    record = store.append(SITE_A, "run", {"keep": True}, collected_at=T0)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        execute(store, statement, seq=record.seq)
    assert store.records() == [record]
    assert store.payload(record) == {"keep": True}
    assert verify_store(store).ok


def test_the_guard_permits_only_retention_clearing_and_verify_wants_its_seal(
    store: EvidenceStore,
) -> None:
    kept = store.append(SITE_A, "run", {"n": 1}, collected_at=T0)
    cleared = store.append(SITE_A, "run", {"n": 2}, collected_at=T0)
    # Clearing a payload with no seal accounting for it: the guard allows it, verify flags it.
    execute(
        store, "UPDATE evidence_records SET payload = NULL, pruned_by = :x WHERE seq = :seq",
        x="f" * 64, seq=cleared.seq,
    )  # fmt: skip
    report = verify_store(store)
    assert [(p.seq, p.message) for p in report.problems] == [
        (cleared.seq, "payload is missing and no retention seal accounts for it")
    ]
    # The same clearing, named by a later seal record of the chain that lists that record.
    seal = store.append(
        SITE_A,
        "retention_seal",
        {
            "cleared_content": [cleared.content_sha256],
            "cleared_records": [{"seq": cleared.seq, "record_hash": cleared.record_hash}],
        },
        collected_at=T0,
    )
    execute(
        store, "UPDATE evidence_records SET pruned_by = :seal WHERE seq = :seq",
        seal=seal.record_hash, seq=cleared.seq,
    )  # fmt: skip
    assert verify_store(store).ok
    assert store.payload(store.get(str(cleared.seq))) is None
    assert store.payload(kept) == {"n": 1}


def test_a_guard_permitted_clearing_cannot_smuggle_in_a_header_change(
    store: EvidenceStore,
) -> None:
    record = store.append(SITE_A, "run", {"n": 1}, collected_at=T0)
    seal = store.append(
        SITE_A, "retention_seal", {"cleared_content": [record.content_sha256]}, collected_at=T0
    )
    execute(
        store,
        "UPDATE evidence_records SET payload = NULL, pruned_by = :seal, kind = 'policy'"
        " WHERE seq = :seq",
        seal=seal.record_hash, seq=record.seq,
    )  # fmt: skip
    report = verify_store(store)
    assert [(p.seq, p.message) for p in report.problems] == [
        (record.seq, "header was altered (record hash does not match its fields)")
    ]


def test_verify_names_every_damaged_chain_once(
    store: EvidenceStore, unguarded: Callable[[EvidenceStore], None]
) -> None:
    a = [store.append(SITE_A, "run", {"i": i}, collected_at=T0) for i in range(3)]
    b = [store.append(SITE_B, "run", {"i": i}, collected_at=T0) for i in range(3)]
    unguarded(store)
    execute(
        store, "UPDATE evidence_records SET payload = :p WHERE seq IN (:x, :y, :z)",
        p='{"i":9}', x=a[1].seq, y=a[2].seq, z=b[2].seq,
    )  # fmt: skip
    report = verify_store(store)
    assert sorted(p.seq for p in report.problems if p.seq is not None) == [a[1].seq, b[2].seq]
    assert report.records == 6 and report.chains == 2
    only_b = verify_store(store, SITE_B.key)
    assert [p.seq for p in only_b.problems] == [b[2].seq]
    assert only_b.records == 3


# --- two clocks: the audit time a record judges, and when the store recorded it -------------

RECORDED = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_the_store_records_its_own_clock_beside_the_audit_time(store: EvidenceStore) -> None:
    store.clock = lambda: RECORDED
    audit = RECORDED - timedelta(hours=6)
    record = store.append(SiteRef("clock-a", "A"), RecordKind.RUN, {}, collected_at=audit)
    assert (record.collected_at, record.recorded_at) == (audit, RECORDED)
    (stored,) = store.records(site_key="clock-a")
    assert stored.created_at == RECORDED and not stored.reconstructed()  # exactly at 6 h: live


@pytest.mark.parametrize(
    ("delay", "tolerance", "reconstructed"),
    [
        (timedelta(minutes=1), 6, False),
        (timedelta(hours=6), 6, False),
        (timedelta(hours=6, seconds=1), 6, True),
        (timedelta(days=8), 6, True),
        (timedelta(days=8), 24 * 9, False),
        (timedelta(seconds=1), 0, True),
    ],
)
def test_a_record_is_reconstructed_when_recorded_later_than_the_tolerance(
    store: EvidenceStore, delay: timedelta, tolerance: int, reconstructed: bool
) -> None:
    store.clock = lambda: RECORDED
    site = SiteRef(f"clock-{delay.total_seconds()}-{tolerance}", "B")
    record = store.append(site, RecordKind.RUN, {}, collected_at=RECORDED - delay)
    assert record.reconstructed(tolerance) is reconstructed


@pytest.mark.parametrize(
    ("ahead", "refused"),
    [(timedelta(minutes=5), False), (timedelta(minutes=5, seconds=1), True),
     (timedelta(days=30), True)],
)  # fmt: skip
def test_a_record_dated_after_its_recording_time_is_refused(
    store: EvidenceStore, ahead: timedelta, refused: bool
) -> None:
    store.clock = lambda: RECORDED
    site = SiteRef(f"future-{ahead.total_seconds()}", "C")
    if not refused:  # clock skew between the scanning machine and the store is tolerated
        store.append(site, RecordKind.RUN, {}, collected_at=RECORDED + ahead)
        return
    with pytest.raises(StoreError, match="after the time it is recorded") as caught:
        store.append(site, RecordKind.RUN, {}, collected_at=RECORDED + ahead)
    assert "evidence cannot describe the future" in str(caught.value)
    assert store.records(site_key=site.key) == []


def test_without_a_site_named_the_store_s_only_site_is_meant(store: EvidenceStore) -> None:
    with pytest.raises(StoreError, match=r"holds no site yet"):
        store.find_site(None)
    store.append(SITE_A, "run", {}, collected_at=T0)
    assert store.find_site(None) == SITE_A
    assert store.find_site("  ") == SITE_A
    store.append(SITE_B, "run", {}, collected_at=T0)
    with pytest.raises(StoreError) as raised:
        store.find_site(None)
    assert "holds 2 sites; give --site: Example LMS (aaaaaaaaaaaa, https://lms.example.edu)," in (
        raised.value.message
    )
    assert raised.value.message.endswith("Other (bbbbbbbbbbbb).")


def test_a_wwwroot_is_matched_as_typed_with_or_without_its_scheme(store: EvidenceStore) -> None:
    store.append(SITE_A, "run", {}, collected_at=T0)
    store.append(SITE_B, "run", {}, collected_at=T0)
    for typed in (
        "lms.example.edu",
        "LMS.example.edu/",
        "https://lms.example.edu",
        "http://lms.example.edu/",
    ):
        assert store.find_site(typed) == SITE_A, typed
    with pytest.raises(
        StoreError, match=r"'lms.example' matches no site in .*; sites: Example LMS"
    ):
        store.find_site("lms.example")
