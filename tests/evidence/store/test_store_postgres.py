"""The store on the local PostgreSQL server: Alembic schema, guards, the CLI against a URL.

(The SQLite-and-PostgreSQL tests elsewhere in tests/evidence cover appending, verifying,
signatures, mutations and concurrency on both; this file holds what is PostgreSQL-only.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from moodle_soc.evidence.store import schema as schema_module
from moodle_soc.evidence.store.store import EvidenceStore, open_store
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import SiteRef

Cli = Callable[..., subprocess.CompletedProcess[str]]
SITE = SiteRef(key="pg-site", name="PG")
T0 = datetime(2026, 11, 29, 9, tzinfo=UTC)


@pytest.fixture
def pg_store(pg_store_url: str) -> Iterator[EvidenceStore]:
    with open_store(pg_store_url, create=True) as store:
        yield store


@pytest.mark.integration
def test_alembic_creates_the_schema_and_the_guard(pg_store: EvidenceStore) -> None:
    with pg_store.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        triggers = connection.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'evidence_records'::regclass"
            " AND NOT tgisinternal ORDER BY tgname"
        ).all()
    migrations = Path(schema_module.__file__).parent / "migrations" / "versions"
    assert version == [(max(p.name[:4] for p in migrations.glob("0*.py")),)]  # the newest
    assert triggers == [("evidence_records_guard",), ("evidence_records_no_truncate",)]
    assert pg_store.engine.dialect.name == "postgresql"
    assert pg_store.engine.dialect.driver == "psycopg"


@pytest.mark.integration
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE evidence_records SET collected_at = '2020-01-01T00:00:00.000000Z'",
        "DELETE FROM evidence_records",
        "TRUNCATE evidence_records",
    ],
)
def test_the_server_refuses_to_edit_delete_or_truncate_records(
    pg_store: EvidenceStore, statement: str
) -> None:
    """TRUNCATE does not fire row triggers: it needs a BEFORE TRUNCATE statement trigger."""
    pg_store.append(SITE, "run", {"n": 1}, collected_at=T0)
    with (
        pytest.raises(sa.exc.DBAPIError, match="append-only"),
        pg_store.engine.begin() as connection,
    ):
        connection.exec_driver_sql(statement)
    assert len(pg_store.records()) == 1


@pytest.mark.integration
def test_a_large_unicode_payload_round_trips(pg_store: EvidenceStore) -> None:
    payload = {"rows": [{"name": f"Zoë Ångström {n} ✓", "n": n, "x": n / 7} for n in range(40_000)]}
    record = pg_store.append(SITE, "population", payload, collected_at=T0)
    assert pg_store.payload(record) == payload
    assert verify_store(pg_store).ok


@pytest.mark.integration
def test_scan_and_verify_through_the_cli_with_a_url(
    acme_site_db: Path, pg_store_url: str, cli: Cli
) -> None:
    # The password is ignored by the local server (trust) but must never be printed.
    url = pg_store_url.replace("postgres@", "postgres:S3cret-Pw-4417@")
    done = cli(
        "scan", "--db", f"sqlite:///{acme_site_db}", "--wwwroot", "https://acme.example.test",
        "--as-of", "2026-11-29T09:00:00Z", "--format", "json", "-o", "r.json", "--store", url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Stored run as evidence record 1" in done.stderr
    assert "S3cret-Pw-4417" not in done.stderr + done.stdout
    verified = cli("evidence", "verify", env={"MOODLE_SOC_STORE": url})
    assert verified.returncode == 0, verified.stderr
    assert "OK: 1 records in 1 chain(s) verified" in verified.stdout
    assert "S3cret-Pw-4417" not in verified.stdout + verified.stderr
    with open_store(pg_store_url, create=True) as store:
        with store.engine.connect() as connection:
            text = connection.exec_driver_sql(
                "SELECT string_agg(payload, '') FROM evidence_records"
            ).scalar_one()
        assert "S3cret-Pw-4417" not in text


def test_pg_tests_fail_rather_than_skip_under_ci_when_the_server_is_unreachable(
    tmp_path: Path,
) -> None:
    """With CI=true an unreachable server is a failure; without it, a skip."""
    conftest = Path(__file__).parents[1] / "conftest.py"
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import pytest\n\n"
        "@pytest.mark.integration\n"
        "def test_needs_postgresql(pg_store_url):\n"
        "    pass\n"
    )
    (tmp_path / "conftest.py").write_text(
        conftest.read_text().replace("127.0.0.1:5432", "127.0.0.1:1")
    )
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)]
    base += ["--rootdir", str(tmp_path), "-o", "addopts=", "-o", "markers=integration"]
    environment = {k: v for k, v in os.environ.items() if k != "CI"}
    skipped = subprocess.run(base, env=environment, capture_output=True, text=True, cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout
    failed = subprocess.run(
        base, env={**environment, "CI": "true"}, capture_output=True, text=True, cwd=tmp_path
    )
    assert failed.returncode != 0
    assert "CI=true: PostgreSQL at 127.0.0.1:1 is unreachable" in failed.stdout
