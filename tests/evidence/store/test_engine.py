"""Opening a store: the schema is migrated only when its revision differs from the newest this
version ships, a store from a newer version is refused, and a store closes once and for good."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from moodle_soc.evidence.store.engine import (
    Revisions,
    engine_for,
    prepare,
    shipped_revisions,
)
from moodle_soc.evidence.store.store import EvidenceStore, StoreError, open_store
from moodle_soc.models.records import RecordKind, SiteRef

SITE = SiteRef(key="engine-site", name="Engine")
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def execute(store: EvidenceStore, sql: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(sql))


def test_the_shipped_head_revision_is_read_from_the_scripts(tmp_path: Path) -> None:
    assert shipped_revisions() == Revisions(head="0002", known=frozenset({"0001", "0002"}))
    chain = tmp_path / "chain"
    chain.mkdir()
    (chain / "0001_first.py").write_text('"""Revision ID: 0001"""\nrevision = "0001"\n')
    (chain / "0002_next.py").write_text(
        "revision: str = '0002'\ndown_revision: str | None = '0001'\n"
    )
    (chain / "README").write_text('revision = "not a script"\n')
    assert shipped_revisions(chain) == Revisions(head="0002", known=frozenset({"0001", "0002"}))
    forked = tmp_path / "forked"
    forked.mkdir()
    for name, down in (("0001", "None"), ("0002", '"0001"'), ("0003", '"0001"')):
        (forked / f"{name}.py").write_text(f'revision = "{name}"\ndown_revision = {down}\n')
    with pytest.raises(RuntimeError, match="exactly one head"):
        shipped_revisions(forked)


def test_the_schema_is_migrated_only_when_its_revision_differs(store_location: str) -> None:
    engine = engine_for(store_location)
    try:
        with pytest.raises(StoreError, match="No evidence store"):
            prepare(engine, store_location, create=False)
        assert prepare(engine, store_location, create=True)  # a new store: created
        assert not prepare(engine, store_location, create=False)  # at the head: nothing to do
        newer = Revisions(head="0003", known=frozenset({"0001", "0002", "0003"}))
        assert prepare(engine, store_location, create=False, shipped=newer)  # upgraded
    finally:
        engine.dispose()


def test_opening_an_up_to_date_store_does_not_import_alembic(store_location: str) -> None:
    with open_store(store_location, create=True) as store:
        store.append(SITE, RecordKind.RUN, {"n": 1}, collected_at=T0)
    probe = (
        "import sys\n"
        "from moodle_soc.evidence.store.store import open_store\n"
        "with open_store(sys.argv[1]) as store:\n"
        "    assert len(store.records()) == 1\n"
        "assert 'alembic' not in sys.modules, 'Alembic was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, store_location], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_a_store_written_by_a_newer_version_is_refused(store_location: str) -> None:
    with open_store(store_location, create=True) as store:
        store.append(SITE, RecordKind.RUN, {"n": 1}, collected_at=T0)
        execute(store, "UPDATE alembic_version SET version_num = '0099'")
    for create in (False, True):
        with pytest.raises(StoreError, match=r"revision 0099.*newest is 0002.*newer moodle-soc"):
            open_store(store_location, create=create)
    engine = engine_for(store_location)
    try:
        with engine.connect() as connection:  # refused, and left exactly as it was
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert version.scalars().all() == ["0099"]
    finally:
        engine.dispose()


def test_close_is_idempotent_and_a_closed_store_refuses_use(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "evidence.sqlite"), create=True) as store:
        store.append(SITE, RecordKind.RUN, {"n": 1}, collected_at=T0)
        assert not store.closed
    assert store.closed
    store.close()  # again: nothing happens
    with pytest.raises(StoreError, match="is closed"):
        store.records()
    with pytest.raises(StoreError, match="is closed"):
        store.append(SITE, RecordKind.RUN, {"n": 2}, collected_at=T0)
    assert store.display.endswith("evidence.sqlite")  # still says which store it was


@pytest.mark.parametrize(
    "location",
    [
        "postgresql://auditor:S3cret-Pw-9981@db:notaport/evidence",
        "postgresql://auditor:S3cret-Pw-9981@[::1/e",
    ],
)
def test_a_malformed_url_is_a_clean_error_without_the_password(location: str) -> None:
    with pytest.raises(StoreError, match="not a valid database URL") as caught:
        open_store(location)
    assert "S3cret-Pw-9981" not in caught.value.message
    assert "auditor:***@" in caught.value.message


def _open_new_store(path: str, start: Any, errors: Any) -> None:
    start.wait()
    try:
        with open_store(path, create=True) as store:
            store.records()
    except Exception as exc:  # reported to the parent, which asserts there are none
        errors.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_store_together_all_open_it(tmp_path: Path) -> None:
    """A fleet's first sites open the same new store at once; SQLite refused the second
    process's switch to WAL ("database is locked") at once, in 36 of 60 such pairs."""
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for attempt in range(12):
        path = str(tmp_path / f"e{attempt}.sqlite")
        start = context.Barrier(3)
        openers = [
            context.Process(target=_open_new_store, args=(path, start, errors)) for _ in range(3)
        ]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(timeout=120)
        assert [opener.exitcode for opener in openers] == [0, 0, 0]
        with open_store(path) as store:
            assert store.records() == []
    assert errors.empty(), errors.get()
