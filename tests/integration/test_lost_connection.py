"""A connection the server drops in the middle of a scan ends the scan: exit 3, one clear
sentence, nothing stored. Never ordinary ``error`` findings stored as a normal run, never a
traceback. The server really kills the scan's session (pg_terminate_backend, KILL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from moodle_soc.api.scan import judge_site
from moodle_soc.errors import CannotConnectError, ExitCode
from moodle_soc.evidence.store.store import open_store

from .conftest import restored
from .fixtures import HARDENED, WEAK, FixtureSite, RestoredSite


def _kill(site: RestoredSite, session: int) -> None:
    sql = (
        "SELECT pg_terminate_backend(:id)"
        if site.server.kind == "postgresql"
        else "KILL CONNECTION :id"
    )
    with site.admin.connect() as connection:
        connection.execute(sa.text(sql), {"id": session})


def _session_id(db: sa.Connection) -> int:
    query = (
        "SELECT pg_backend_pid()" if db.dialect.name == "postgresql" else "SELECT CONNECTION_ID()"
    )
    return int(db.execute(sa.text(query)).scalar_one())


@pytest.mark.parametrize("fixture", [WEAK, HARDENED], ids=lambda f: f.key)
@pytest.mark.parametrize("after", [0, 7, 40])
def test_a_connection_lost_mid_scan_ends_it_with_exit_3_and_stores_nothing(
    request: pytest.FixtureRequest, fixture: FixtureSite, after: int, tmp_path: Path
) -> None:
    site_copy = restored(request, fixture)
    location = str(tmp_path / "evidence.sqlite")
    with site_copy.open_site() as site, open_store(location, create=True) as store:
        session = _session_id(site.db.connection)
        shown = site.db.display_url

        def progress(done: int, total: int, check_id: str) -> None:
            if done == after:
                _kill(site_copy, session)

        with pytest.raises(CannotConnectError) as caught:
            judge_site(site, store=store, progress=progress)
        assert store.records() == []
    message = caught.value.message
    assert caught.value.exit_code == ExitCode.CANNOT_CONNECT
    # One statement of what happened, said once (no "Cannot connect", no "lost … lost").
    assert message.startswith(f"The connection to {shown} was lost (")
    assert message.endswith(", so what was being read is incomplete and nothing was stored.")
    assert message.count("lost") == 1 and "Cannot connect" not in message
    assert "\n" not in message
