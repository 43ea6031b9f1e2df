"""The dashboard's tables: added to a store written before them by migration 0002 (its evidence
untouched), and its audit log append-only at the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from moodle_soc.evidence.store.dashboard import append_audit, audit_entries
from moodle_soc.evidence.store.engine import MIGRATIONS, engine_for, writing
from moodle_soc.evidence.store.store import open_store
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import RecordKind, SiteRef

SITE = SiteRef(key="dash-site", name="Dash")
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _at_revision_0001(location: str) -> None:
    """A store as the version before the dashboard wrote it: schema 0001, one record."""
    engine = engine_for(location)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with writing(engine).begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
    finally:
        engine.dispose()


def test_a_store_from_before_the_dashboard_gains_its_tables_and_keeps_its_evidence(
    store_location: str,
) -> None:
    _at_revision_0001(store_location)
    with open_store(store_location) as store:  # migrated to 0002 on opening
        store.append(SITE, RecordKind.RUN, {"n": 1}, collected_at=T0)
        names = set(sa.inspect(store.engine).get_table_names())
        with store.engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert version.scalars().all() == ["0002"]
        assert {"web_users", "web_sessions", "web_audit", "evidence_records"} <= names
        assert verify_store(store).ok


def test_the_dashboard_audit_log_refuses_edits_and_deletes(store_location: str) -> None:
    with open_store(store_location, create=True) as store:
        append_audit(store, at=T0, username="ann", action="login", target="", detail="",
                     client="127.0.0.1")  # fmt: skip
        for sql in ("UPDATE web_audit SET username = 'bob'", "DELETE FROM web_audit"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):  # noqa: SIM117
                with store.engine.begin() as connection:
                    connection.exec_driver_sql(sql)
        assert [(e.username, e.action) for e in audit_entries(store)] == [("ann", "login")]
