"""A PostgreSQL site whose queries hang: the statement timeout ends the query, the wall-clock
limit ends the worker, and the other sites are scanned all the same."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from moodle_soc.fleet.inventory import parse_fleet
from moodle_soc.fleet.local import run_local
from moodle_soc.fleet.scanning import scan_fleet_site
from moodle_soc.synthetic.builder import SiteBuilder

from .conftest import MakeSite

AS_OF = datetime.fromtimestamp(1795936000, UTC)


@pytest.fixture
def pg_site(pg_database: str) -> str:
    """A small synthetic site in its own PostgreSQL database; its ``db`` URL."""
    engine = sa.create_engine(pg_database)
    SiteBuilder(seed=21, wwwroot="https://pg.example.test").write(engine)
    engine.dispose()
    return pg_database.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def config_locked(pg_site: str) -> Iterator[str]:
    """``pg_site`` while the test holds a lock every read of its config table waits on."""
    engine = sa.create_engine(pg_site.replace("postgresql://", "postgresql+psycopg://"))
    connection = engine.connect()
    connection.execute(sa.text("LOCK TABLE mdl_config IN ACCESS EXCLUSIVE MODE"))
    try:
        yield pg_site
    finally:
        connection.rollback()
        connection.close()
        engine.dispose()


def test_the_statement_timeout_ends_a_waiting_query(config_locked: str, tmp_path: Path) -> None:
    fleet = parse_fleet(
        f"sites:\n  - {{name: slow, db: '{config_locked}', statement_timeout: 1}}\n"
    )
    outcome = scan_fleet_site(fleet.sites[0], store=str(tmp_path / "e.sqlite"), as_of=AS_OF)
    assert outcome.status == "error" and outcome.error_kind == "query"
    assert "statement timeout" in outcome.reason
    assert outcome.duration_s < 30


def test_a_hung_site_is_killed_and_the_others_are_scanned(
    config_locked: str, tmp_path: Path, sqlite_site: MakeSite
) -> None:
    fleet = parse_fleet(
        f"sites:\n  - {{name: hung, db: '{config_locked}', timeout: 3, statement_timeout: 90}}\n"
        f"  - {{name: fine, db: '{sqlite_site(5)}'}}\n"
    )
    hung, fine = run_local(fleet.sites, store=str(tmp_path / "e.sqlite"), as_of=AS_OF, workers=2)
    assert hung.error_kind == "timeout" and "worker process was killed" in hung.reason
    assert fine.scanned
