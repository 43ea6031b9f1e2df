"""Concurrent writers into one store: different sites, and several writers on the same site.

Writers are separate processes (as concurrent ``moodle-soc scan`` runs are). They all load and
connect first, then start appending together on a signal. Afterwards every record is present
exactly once, each chain is gap-free and verifies, and no chain forks.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from moodle_soc.evidence.store.store import EvidenceStore, open_store
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import SiteRef

WORKER = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from moodle_soc.evidence.store.store import open_store
from moodle_soc.models.records import SiteRef

location, site_key, count, worker, go, open_late = sys.argv[1:7]
store = None if open_late == "1" else open_store(location, create=True)
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.002)
try:
    with store or open_store(location, create=True) as opened:
        for i in range(int(count)):
            opened.append(SiteRef(site_key, site_key), "run", {"worker": worker, "i": i},
                          collected_at=datetime.now(UTC))
except Exception as error:
    print(f"FAILED {type(error).__name__}: {error}", flush=True)
    sys.exit(1)
print("done", flush=True)
"""


def run_writers(
    tmp_path: Path,
    location: str,
    plan: list[tuple[str, int]],
    *,
    open_late: bool = False,
    after_go: Callable[[], None] | None = None,
) -> list[str]:
    """Start one process per (site, appends) in ``plan``; returns each one's failure, if any."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / f"go-{time.monotonic_ns()}"
    late = "1" if open_late else "0"
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), location, site, str(count), str(n), str(go), late],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, (site, count) in enumerate(plan)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", process.stderr
    go.touch()
    if after_go is not None:
        after_go()
    failures = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        if process.returncode != 0:
            failures.append((out + err).strip()[-400:])
    return failures


def check_chains(store: EvidenceStore, plan: list[tuple[str, int]]) -> None:
    report = verify_store(store)
    assert report.ok, [p.describe() for p in report.problems]
    expected: Counter[str] = Counter()
    for site, count in plan:
        expected[site] += count
    assert report.records == sum(expected.values())
    for site, total in expected.items():
        chain = store.records(site_key=site)
        assert [r.chain_index for r in chain] == list(range(total))  # no gap, no duplicate
        assert len({r.prev_hash for r in chain}) == total  # no fork: one successor each
        written: Counter[tuple[str, int]] = Counter()
        for record in chain:
            payload = store.payload(record)
            written[(payload["worker"], payload["i"])] += 1
        wanted = {
            (str(worker), i)
            for worker, (planned, count) in enumerate(plan)
            if planned == site
            for i in range(count)
        }
        assert set(written) == wanted and set(written.values()) == {1}


DIFFERENT_SITES = [("site-a", 8), ("site-b", 8), ("site-c", 8), ("site-d", 8)]
# Four scans of one site finishing together, while two other sites are scanned too.
SAME_SITE = [("shared", 10)] * 4 + [("site-e", 8), ("site-f", 8)]


@pytest.mark.parametrize("plan", [DIFFERENT_SITES, SAME_SITE], ids=["different-sites", "same-site"])
def test_concurrent_writers_into_one_store(
    store_location: str, tmp_path: Path, plan: list[tuple[str, int]]
) -> None:
    with open_store(store_location, create=True):
        pass  # created and migrated before the writers start
    failures = run_writers(tmp_path, store_location, plan)
    assert failures == []  # e.g. not "too much contention" after 5 lost races in a row
    with open_store(store_location, create=True) as store:
        check_chains(store, plan)


@contextmanager
def first_migration_held(location: str) -> Iterator[Callable[[int], None]]:
    """Hold the new store's first schema change open, so all writers start it together.

    Yields ``release(writers)``: wait until that many writers are waiting, then let go.
    """
    if "://" not in location:
        connection = sqlite3.connect(location, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")  # as the store's first connection does
        connection.execute("BEGIN IMMEDIATE")

        def release_sqlite(_writers: int) -> None:
            time.sleep(1.0)
            connection.execute("ROLLBACK")

        try:
            yield release_sqlite
        finally:
            connection.close()
        return
    engine = sa.create_engine(location.replace("postgresql:", "postgresql+psycopg:"))
    holder = engine.connect()
    holder.exec_driver_sql(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,"
        " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )

    def release_postgresql(writers: int) -> None:
        deadline = time.monotonic() + 30
        # (autocommit: pg_stat_activity is a snapshot taken once per transaction)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            while time.monotonic() < deadline:
                waiting = watcher.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                ).scalar_one()
                if waiting >= writers:
                    break
                time.sleep(0.05)
        holder.rollback()

    try:
        yield release_postgresql
    finally:
        holder.close()
        engine.dispose()


def test_concurrent_first_use_of_a_new_store(store_location: str, tmp_path: Path) -> None:
    """Several scans starting at once against a store nobody has opened yet (fresh install):
    all of them create-or-find the schema, none fails with 'already exists'."""
    plan = [(f"first-{n}", 2) for n in range(4)]
    if "://" not in store_location:
        Path(store_location).parent.mkdir(parents=True, exist_ok=True)
    with first_migration_held(store_location) as release:
        failures = run_writers(
            tmp_path, store_location, plan, open_late=True, after_go=lambda: release(len(plan))
        )
    assert failures == []
    with open_store(store_location, create=True) as store:
        check_chains(store, plan)


def test_readers_are_not_blocked_by_a_writer(tmp_path: Path) -> None:
    """WAL lets ``evidence list``/``verify`` read while a long append holds the write lock.

    (store.py: "WAL keeps readers working during a write"; but every connection, readers
    included, starts with BEGIN IMMEDIATE, which waits for the writer to finish.)
    """
    location = str(tmp_path / "evidence.sqlite")
    with open_store(location, create=True) as store:
        store.append(SiteRef("s", "S"), "run", {}, collected_at=datetime.now(UTC))
    holding = threading.Event()

    def writer() -> None:
        connection = sqlite3.connect(location, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")  # as the store's first connection does
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO evidence_sites VALUES ('x', 'x', NULL)")
        holding.set()
        time.sleep(1.5)
        connection.execute("ROLLBACK")
        connection.close()

    thread = threading.Thread(target=writer)
    with open_store(location) as store:
        thread.start()
        try:
            holding.wait(10)
            started = time.monotonic()
            records = store.records()
            report = verify_store(store)  # one read transaction over every page
            waited = time.monotonic() - started
        finally:
            thread.join()
    assert len(records) == 1 and report.ok and report.records == 1
    assert waited < 0.5, f"a read waited {waited:.2f} s for an unrelated write transaction"
