"""Every connection the tool opens is read-only and time-limited, even as a superuser.

The proof is on the real servers: writes through ``site.db.connection`` fail with the server's
own read-only error and change nothing (counted through a separate admin connection), and a full
scan as a SELECT-only database user completes without a single permission error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from moodle_soc.site.db import STATEMENT_TIMEOUT_SECONDS
from moodle_soc.site.moodle import MoodleSite

from .conftest import Scans, readonly_user, restored
from .fixtures import FIXTURE_SITES, HARDENED, WEAK, FixtureSite, RestoredSite, describe

pytestmark = pytest.mark.integration

#: The server's own words for "this transaction is read-only".
READ_ONLY_ERROR = {
    "postgresql": re.compile(r"cannot execute \w+( \w+)? in a read-only transaction", re.I),
    "mariadb": re.compile(r"cannot execute statement in a read only transaction", re.I),
}
#: Words of a permission failure, in PostgreSQL's and MariaDB's messages.
PERMISSION_WORDS = re.compile(r"permission denied|command denied|access denied|privilege", re.I)

WRITES = {
    "insert": "INSERT INTO {p}config (name, value) VALUES ('msoc_probe', 'written')",
    "update": "UPDATE {p}config SET value = 'written' WHERE name = 'release'",
    "create_table": "CREATE TABLE {p}msoc_probe (id INTEGER)",
}


@pytest.fixture(params=[WEAK, HARDENED], ids=lambda fixture: fixture.server)
def server_site(request: pytest.FixtureRequest) -> RestoredSite:
    """A real fixture on each server: weak on PostgreSQL, hardened on MariaDB."""
    return restored(request, request.param)


@pytest.fixture
def moodle(server_site: RestoredSite) -> Iterator[MoodleSite]:
    """The tool's MoodleSite, connected as the server's administrator (who could write)."""
    site = server_site.open_site()
    try:
        yield site
    finally:
        site.db.close()


def _snapshot(site: RestoredSite) -> tuple[object, object, object]:
    pg = site.server.kind == "postgresql"
    return (
        site.scalar("SELECT COUNT(*) FROM {p}config"),
        site.scalar("SELECT value FROM {p}config WHERE name = 'release'"),
        site.scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = :t"
            f" AND table_schema = {'current_schema()' if pg else 'DATABASE()'}",
            t=site.prefix + "msoc_probe",
        ),
    )


@pytest.mark.parametrize("write", sorted(WRITES))
def test_writes_fail_with_the_servers_read_only_error(
    server_site: RestoredSite, write: str
) -> None:
    before = _snapshot(server_site)
    site = server_site.open_site()
    try:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            site.db.connection.exec_driver_sql(WRITES[write].replace("{p}", server_site.prefix))
    finally:
        site.db.close()
    message = str(caught.value.orig)
    assert READ_ONLY_ERROR[server_site.server.kind].search(message), message
    assert _snapshot(server_site) == before


def test_session_is_read_only_and_statements_are_time_limited(moodle: MoodleSite) -> None:
    connection = moodle.db.connection
    if moodle.db.backend == "postgresql":
        assert connection.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
        timeout = str(connection.exec_driver_sql("SHOW statement_timeout").scalar())
        assert _seconds(timeout) == STATEMENT_TIMEOUT_SECONDS, timeout
    else:
        read_only = connection.exec_driver_sql("SELECT @@session.tx_read_only").scalar()
        assert int(str(read_only)) == 1
        limit = connection.exec_driver_sql("SELECT @@session.max_statement_time").scalar()
        assert float(str(limit)) == STATEMENT_TIMEOUT_SECONDS, limit


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|min|h)?", text.strip())
    assert match, text
    scale = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, None: 0.001}[match[2]]
    return float(match[1]) * scale


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f"{f.key}-{f.server}")
def test_full_scan_as_a_select_only_user(
    request: pytest.FixtureRequest, scans: Scans, fixture: FixtureSite
) -> None:
    site = restored(request, fixture)
    user = readonly_user(request, site)
    scan = scans.cli(site, "ro-json", user)
    assert scan.done.returncode == 0, describe(scan.done)
    assert "Traceback" not in scan.done.stderr
    report = scan.json()
    errors = [f for f in report["findings"] if f["status"] == "error"]
    denied = [f for f in errors if PERMISSION_WORDS.search(f["reason"])]
    assert not denied, f"checks failed for lack of privileges as {user.name}: {denied}"
    # Nothing errs as the SELECT-only user that does not err as the administrator too.
    admin_errors = {c["id"] for c in scans.cli(site, "config-json", user).json()["checks"]
                    if c["status"] == "error"}  # fmt: skip
    extra = sorted({f["check_id"] for f in errors} - admin_errors)
    assert not extra, f"errors only as the SELECT-only user: {extra}"
    assert user.name in report["site"]["database"]
