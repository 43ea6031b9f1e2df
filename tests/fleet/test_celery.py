"""Celery end to end: Redis and RabbitMQ brokers, retries, redelivery after a killed worker,
duplicate deliveries, and a broker restart. Skipped without the servers (failed under CI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from moodle_soc.api import open_evidence_store
from moodle_soc.fleet.celery_app import collect, enqueue, make_app
from moodle_soc.fleet.inventory import parse_fleet
from moodle_soc.synthetic.builder import SiteBuilder

from .conftest import MakeSite
from .workers import CLI, celery_worker, pool_children

AS_OF = datetime.fromtimestamp(1795936000, UTC)
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_fleet_scan_on_celery_workers(
    broker: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_site: MakeSite
) -> None:
    url = request.getfixturevalue("redis_url" if broker == "redis" else "rabbit_url")
    sites = tmp_path / "sites.yaml"
    sites.write_text(
        f"sites:\n  - {{name: one, db: '{sqlite_site(1)}', client: acme}}\n"
        f"  - {{name: two, db: '{sqlite_site(2)}', client: acme}}\n"
        "  - {name: down, db: 'postgresql://nobody@127.0.0.1:1/x'}\n"
    )
    store = str(tmp_path / "shared.sqlite")
    with celery_worker(url, store, tmp_path / "worker.log", concurrency=2):
        done = subprocess.run(
            [str(CLI), "fleet", "scan", "--sites", str(sites), "--celery", "--broker", url,
             "--retries", "2", "--retry-delay", "0.2", "--wait-timeout", "180", "-q"],
            capture_output=True, text=True, check=False, timeout=300,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["one", "findings"], ["two", "findings"], ["down", "error"],
    ]  # fmt: skip
    assert "Cannot connect" in lines[2]
    assert (tmp_path / "worker.log").read_text().count("retry: Retry in") == 2  # then gave up
    with open_evidence_store(store) as evidence:
        assert len(evidence.records(kind="run")) == 2


def test_a_duplicate_delivery_stores_nothing_twice(
    redis_url: str, tmp_path: Path, sqlite_site: MakeSite
) -> None:
    fleet = parse_fleet(f"sites:\n  - {{name: one, db: '{sqlite_site(3)}'}}\n")
    store = str(tmp_path / "shared.sqlite")
    with celery_worker(redis_url, store, tmp_path / "worker.log", concurrency=2):
        app = make_app(redis_url)
        twice = enqueue(app, fleet.sites, AS_OF) + enqueue(app, fleet.sites, AS_OF)
        outcomes = collect(twice, [*fleet.sites, *fleet.sites], AS_OF, timeout=120)
    assert sorted(o.stored for o in outcomes) == [False, True]
    assert outcomes[0].record_seq == outcomes[1].record_seq
    with open_evidence_store(store) as evidence:
        assert len(evidence.records(kind="run")) == 1


def _waiting(database: str) -> set[int]:
    """The server pids of the scans waiting on a lock in ``database``."""
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        pids = connection.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'moodle-soc' AND wait_event_type = 'Lock'"
            )
        ).scalars()
        found = {int(pid) for pid in pids}
    engine.dispose()
    return found


def _until(condition, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.3)


def test_a_killed_worker_task_is_redone_and_stored_once(
    redis_url: str, pg_database: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(pg_database)
    SiteBuilder(seed=31, wwwroot="https://pg31.example.test").write(engine)
    site_url = pg_database.replace("postgresql+psycopg://", "postgresql://")
    fleet = parse_fleet(f"sites:\n  - {{name: pg, db: '{site_url}', statement_timeout: 120}}\n")
    holder = engine.connect()
    holder.execute(sa.text("LOCK TABLE mdl_config IN ACCESS EXCLUSIVE MODE"))
    store = str(tmp_path / "shared.sqlite")
    try:
        with celery_worker(redis_url, store, tmp_path / "worker.log") as worker:
            app = make_app(redis_url)
            results = enqueue(app, fleet.sites, AS_OF)
            _until(lambda: len(_waiting(pg_database)) == 1)  # the scan is mid-task
            killed = _waiting(pg_database)
            children = pool_children(worker.pid)
            assert len(children) == 1
            os.kill(children[0], signal.SIGKILL)
            # The task is requeued and a new pool process takes it up again. The killed scan's
            # server session may still wait on the lock (the server notices a dead client only
            # when it next talks to it), so wait for a session that was not there before.
            _until(lambda: pool_children(worker.pid) not in ([], children))
            _until(lambda: bool(_waiting(pg_database) - killed))
            holder.rollback()  # let the redone scan through
            outcome = collect(results, fleet.sites, AS_OF, timeout=120)[0]
    finally:
        holder.close()
        engine.dispose()
    assert outcome.scanned and outcome.stored, outcome
    assert "signal 9" in (tmp_path / "worker.log").read_text()
    with open_evidence_store(store) as evidence:
        assert len(evidence.records(kind="run")) == 1


def _redis_up() -> bool:
    return subprocess.run(["redis-cli", "ping"], capture_output=True, check=False).returncode == 0


def test_the_worker_survives_a_broker_restart(
    redis_url: str, tmp_path: Path, sqlite_site: MakeSite
) -> None:
    fleet = parse_fleet(
        f"sites:\n  - {{name: before, db: '{sqlite_site(4)}'}}\n"
        f"  - {{name: after, db: '{sqlite_site(5)}'}}\n"
    )
    before, after = fleet.sites
    store = str(tmp_path / "shared.sqlite")
    with celery_worker(redis_url, store, tmp_path / "worker.log") as worker:
        first = collect(enqueue(make_app(redis_url), [before], AS_OF), [before], AS_OF, timeout=90)
        assert first[0].scanned
        try:
            subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True, check=False)
            _until(lambda: not _redis_up(), timeout=30)
            time.sleep(2)  # the worker notices the broker is gone
        finally:
            subprocess.run(REDIS_START, capture_output=True, check=False)
            _until(_redis_up, timeout=30)
        assert worker.poll() is None  # still running, reconnecting
        second = collect(enqueue(make_app(redis_url), [after], AS_OF), [after], AS_OF, timeout=120)
    assert second[0].scanned, second[0]
    with open_evidence_store(store) as evidence:
        assert len(evidence.records(kind="run")) == 2
