"""The audit-log review on the real fixtures, against independent SQL over the same databases:
failed logins by reason, configuration changes and role churn (weak, PostgreSQL), serialized
``other`` values and the store switched off (legacy, PostgreSQL), lockouts (hardened, MariaDB).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from moodle_soc.api.logs import incremental_log_review, log_review
from moodle_soc.evidence.store.store import open_store
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.logs import LogReview
from moodle_soc.site.connect import open_site, spec_from_url
from moodle_soc.synthetic.builder import SiteBuilder

from .conftest import restored
from .fixtures import (
    FIXTURE_SITES,
    PASSWORD_ENV,
    FixtureSite,
    RestoredSite,
    Server,
    new_tag,
    run_cli,
)

pytestmark = pytest.mark.integration
PERIOD = (date(2026, 10, 1), date(2026, 11, 29))
FAILED = "\\core\\event\\user_login_failed"
# Independent of the tool's decoder: the reason code read from either format with a pattern.
REASON = re.compile(r'"reason"(?::|;i:)(\d+)')
POST_INSTALL = """
SELECT COUNT(*) FROM {p}config_log
WHERE id >= (SELECT MIN(id) FROM {p}config_log
             WHERE userid <> 0 AND oldvalue IS NOT NULL AND oldvalue <> '')
"""
START, END = 1790812800, 1795996800  # 2026-10-01 and 2026-11-30 00:00 UTC
IN_PERIOD = f"timecreated >= {START} AND timecreated < {END}"
EVENTS = (
    f"SELECT eventname, COUNT(*) AS n FROM {{p}}logstore_standard_log WHERE {IN_PERIOD}"
    " GROUP BY eventname"
)


def _review(site: RestoredSite) -> LogReview:
    with site.open_site() as moodle:
        return log_review(moodle, *PERIOD)


def _reasons(site: RestoredSite) -> Counter[str]:
    rows = site.rows(
        f"SELECT other FROM {{p}}logstore_standard_log WHERE eventname = :name AND {IN_PERIOD}",
        name=FAILED,
    )
    found = Counter[str]()
    for row in rows:
        match = REASON.search(str(row["other"]))
        found[match.group(1) if match else "unknown"] += 1
    return found


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_counts_match_independent_sql(request: pytest.FixtureRequest, fixture: FixtureSite) -> None:
    site = restored(request, fixture)
    review = _review(site)

    events = {str(r["eventname"]): int(r["n"]) for r in site.rows(EVENTS)}
    assert review.events == dict(sorted(events.items()))
    assert review.authentication.failed_logins.by_reason == dict(sorted(_reasons(site).items()))
    assert review.authentication.failed_logins.total == events[FAILED]
    assert review.authentication.successful_logins == events["\\core\\event\\user_loggedin"]
    churn = sum(
        events.get(f"\\core\\event\\{name}", 0) for name in ("role_assigned", "role_unassigned")
    )
    assert review.privileged.role_assignments.total == churn
    assert review.privileged.role_changes.total == events.get(
        "\\core\\event\\capability_assigned", 0
    )
    assert review.integrity.malformed_other == 0
    assert sum(day.events for day in review.daily) == sum(events.values())
    assert review.queries and all(q["sha256"] for q in review.queries)


def test_weak_site_failures_and_changes(weak_db: RestoredSite) -> None:
    review = _review(weak_db)

    assert review.authentication.failed_logins.by_reason == {"1": 27, "2": 19, "3": 74}
    assert review.privileged.config_changes.total == weak_db.scalar(POST_INSTALL)
    spraying = {s.ip for s in review.authentication.spraying}
    assert "203.0.113.15" in spraying
    assert [a.username for a in review.authentication.suspended_attempts] == ["suspended_user"]
    assert review.authentication.suspended_attempts[0].attempts == 19


def test_legacy_site_decodes_serialized_values_and_sees_the_store_switched_off(
    legacy_db: RestoredSite,
) -> None:
    review = _review(legacy_db)

    assert review.authentication.failed_logins.by_reason == {"2": 9, "3": 83}
    assert review.integrity.malformed_other == 0
    assert not review.integrity.store_enabled_now
    [off] = review.integrity.store_disabled
    assert off.start is not None and off.end is None and off.by_id == 2


def test_hardened_site_lockouts_are_found(hardened_db: RestoredSite) -> None:
    review = _review(hardened_db)

    assert review.authentication.failed_logins.by_reason == {"1": 7, "2": 6, "3": 32, "4": 1}
    assert [lock.attempts for lock in review.authentication.lockouts] == [1]
    assert review.integrity.store_enabled_now and not review.integrity.store_disabled


def test_cli_json_on_mariadb(hardened_db: RestoredSite, tmp_path: Path) -> None:
    config = hardened_db.write_config_php(tmp_path)
    result = run_cli(
        "logs", "--config", str(config), "--as-of", "2026-11-29T12:00:00Z",
        "--period", "2026-10-01..2026-11-29", "--format", "json", cwd=tmp_path,
        env={PASSWORD_ENV: ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["period"] == {"from": "2026-10-01", "to": "2026-11-29"}
    assert document["authentication"]["failed_logins"]["by_reason"]["4"] == 1
    assert {"config_changes", "role_changes", "loginas_sessions"} <= set(document["privileged"])
    assert {"days_without_events", "id_gaps", "store_disabled"} <= set(document["integrity"])


# --- a synthetic log with every pattern planted, on SQLite, PostgreSQL and MariaDB --------------

DAY = 86400
D20 = 1795132800  # 2026-11-20 00:00 UTC
E = "\\core\\event\\"
PLANTED_PERIOD = (date(2026, 11, 20), date(2026, 11, 28))


def planted() -> SiteBuilder:
    """A week and a bit of log: a burst on one account, a spraying IP, a lockout, a silent day
    (the 24th), three deleted ids, an administrator's new IP, a "log in as" session and the
    standard log store switched off for a day."""
    b = SiteBuilder()
    alice, bob = b.user("alice"), b.user("bob")
    b.log(E + "user_loggedin", timecreated=D20 - 10 * DAY, userid=2, ip="10.0.0.1")
    for day in range(9):
        if day != 4:
            b.log(E + "user_loggedin", timecreated=D20 + day * DAY + 3600, userid=alice,
                  ip="192.0.2.10")  # fmt: skip
    at = D20 + DAY + 7200  # the 21st: six wrong passwords for alice in ten minutes
    for n in range(6):
        b.log(E + "user_login_failed", timecreated=at + n * 100, userid=alice,
              ip=f"198.51.100.{n}", other={"username": "alice", "reason": 3})  # fmt: skip
    at = D20 + 2 * DAY  # the 22nd: one IP, twelve usernames, two hours
    for n in range(12):
        b.log(E + "user_login_failed", timecreated=at + n * 660, ip="192.0.2.66",
              other={"username": f"guess{n}", "reason": 1}, other_format="php")  # fmt: skip
    b.log(E + "user_login_failed", timecreated=D20 + 3 * DAY, userid=bob, ip="192.0.2.20",
          other={"username": "bob", "reason": 4})  # fmt: skip
    b.reserve_ids("logstore_standard_log", 3)  # deleted rows
    b.log(E + "user_loggedin", timecreated=D20 + 3 * DAY + 60, userid=2, ip="10.0.0.1")
    b.log(E + "user_loggedin", timecreated=D20 + 5 * DAY, userid=2, ip="10.0.0.99")
    b.log(E + "user_loggedinas", timecreated=D20 + 5 * DAY + 60, userid=2, relateduserid=bob,
          ip="10.0.0.99")  # fmt: skip
    b.log(E + "course_viewed", timecreated=D20 + 5 * DAY + 120, userid=bob, realuserid=2)
    b.config_log("enabled_stores", "", "logstore_standard", plugin="tool_log",
                 timemodified=D20 + 6 * DAY)  # fmt: skip
    b.config_log("enabled_stores", "logstore_standard", "", plugin="tool_log",
                 timemodified=D20 + 7 * DAY)  # fmt: skip
    return b


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def planted_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _served(request, tmp_path, planted())


def _served(request: pytest.FixtureRequest, tmp_path: Path, builder: SiteBuilder) -> Iterator[str]:
    """``builder``'s site on the engine ``request.param`` names, as a URL (dropped after)."""
    if request.param == "sqlite":
        path = tmp_path / "planted.sqlite"
        builder.sqlite_file(path).dispose()
        yield f"sqlite:///{path}"
        return
    server: Server = request.getfixturevalue(
        "postgres" if request.param == "postgresql" else "mariadb"
    )
    name = f"msoc_logs_{new_tag()}"
    server.create_database(name)
    try:
        engine = server.admin_engine(name, autocommit=False)
        try:
            builder.write(engine)
        finally:
            engine.dispose()
        yield server.url(name)
    finally:
        server.drop_database(name)


def test_planted_patterns_are_found_on_every_engine(planted_url: str) -> None:
    audit = datetime.fromtimestamp(1795936000, UTC)
    with open_site(spec_from_url(planted_url, "mdl_", ""), audit_time=audit) as site:
        review = log_review(site, *PLANTED_PERIOD)

    auth, integrity = review.authentication, review.integrity
    assert auth.failed_logins.by_reason == {"1": 12, "3": 6, "4": 1}
    assert [(b.by, b.key, b.failures) for b in auth.bursts] == [
        ("account", "alice", 6),
        ("ip", "192.0.2.66", 12),
    ]
    [spray] = auth.spraying
    assert (spray.ip, spray.usernames, spray.failures) == ("192.0.2.66", 12, 12)
    assert [(lock.username, lock.attempts) for lock in auth.lockouts] == [("bob", 1)]
    assert [(s.username, s.ip) for s in auth.new_admin_sources] == [("admin", "10.0.0.99")]
    assert integrity.days_without_events == [date(2026, 11, 24)]
    assert integrity.id_gaps.missing == 3 and len(integrity.id_gaps.ranges) == 1
    [off] = integrity.store_disabled
    assert (off.start, off.end) == (
        datetime(2026, 11, 26, tzinfo=UTC),
        datetime(2026, 11, 27, tzinfo=UTC),
    )
    assert review.privileged.loginas_sessions.total == 1
    assert review.privileged.acting_as_rows == 1
    assert integrity.malformed_other == 0


@pytest.mark.parametrize("rolled", [False, True], ids=["same-period", "rolled-a-day"])
def test_incremental_rerun_equals_a_full_run(
    planted_url: str, tmp_path: Path, rolled: bool
) -> None:
    """A re-run from the cursor kept in the evidence store, after rows were added, reads only
    those rows and gives the same review as a full run over the same period; or, rolled a
    day (the period one day later at both ends), as a full run over the rolled period (the
    burst and spraying of the 21st and 22nd span neither boundary: the 20th drops out)."""
    import sqlalchemy as sa

    audit = datetime.fromtimestamp(1795936000, UTC)
    spec = spec_from_url(planted_url, "mdl_", "")
    with open_store(str(tmp_path / "evidence.sqlite"), create=True) as store:
        with open_site(spec, audit_time=audit) as site:
            first = incremental_log_review(site, *PLANTED_PERIOD, store=store)
        engine = sa.create_engine(re.sub(r"^(mariadb|mysql)://", "mysql+pymysql://", planted_url))
        try:
            log = sa.Table("mdl_logstore_standard_log", sa.MetaData(), autoload_with=engine)
            columns = [c for c in log.c if c.name != "id"]
            with engine.begin() as conn:
                last = conn.execute(sa.select(sa.func.max(log.c.id))).scalar_one()
                for shift in (DAY // 2, DAY // 2 + 60):  # two rows the day after the last one
                    copied = [
                        (log.c.timecreated + shift).label("t") if c.name == "timecreated" else c
                        for c in columns
                    ]
                    conn.execute(
                        log.insert().from_select(
                            [c.name for c in columns], sa.select(*copied).where(log.c.id == last)
                        )
                    )
        finally:
            engine.dispose()
        period = (date(2026, 11, 21), date(2026, 11, 29)) if rolled else PLANTED_PERIOD
        with open_site(spec, audit_time=audit) as site:
            again = incremental_log_review(site, *period, store=store)
        with open_site(spec, audit_time=audit) as site:
            full = log_review(site, *period)
        assert verify_store(store).ok

    def same(review: LogReview) -> dict[str, object]:
        return review.model_dump(mode="json", exclude={"queries"})

    assert same(again.review) == same(full)
    total = sum(d.events for d in full.daily)
    # The grouped pass of the re-run read the two new rows only, not the whole period again.
    dropped = 1 if rolled else 0  # the 20th's one row (alice's login)
    assert (first.rows_read - dropped, again.rows_read) == (total - 2, 2)
    assert again.notes[0].startswith("The cursor kept for" if rolled else "Incremental run")
    assert again.resumed_from == first.review.integrity.id_gaps.last_id
    assert full.integrity.id_gaps.last_id == again.resumed_from + 2


def skewed() -> tuple[SiteBuilder, int]:
    """``planted`` and then a row written ten minutes before the period began with a later id
    (a web server's clock behind), and a login after it: the period's id range holds a row
    outside its days. Returns the skewed row's id."""
    b = planted()
    row = b.log(E + "course_viewed", timecreated=D20 - 600, userid=2)
    b.log(E + "user_loggedin", timecreated=D20 + 8 * DAY + 7200, userid=2, ip="10.0.0.1")
    return b, row


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def skewed_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, int]]:
    builder, row = skewed()
    for url in _served(request, tmp_path, builder):
        yield url, row


def test_rows_deleted_below_the_cursor_make_a_full_run_on_every_engine(
    skewed_url: tuple[str, int], tmp_path: Path
) -> None:
    """Any row deleted from the id range a cursor covered, inside the period's days or not,
    makes the next run a full one. PostgreSQL and SQLite count the range over the primary key;
    MySQL/MariaDB count all the log's rows less those outside the range (InnoDB would read the
    rows themselves for a primary-key range; a whole-table count reads its smallest index)."""
    import sqlalchemy as sa

    url, row = skewed_url
    audit = datetime.fromtimestamp(1795936000, UTC)
    spec = spec_from_url(url, "mdl_", "")
    mysql = url.startswith(("mariadb", "mysql"))
    with open_store(str(tmp_path / "evidence.sqlite"), create=True) as store:
        with open_site(spec, audit_time=audit) as site:
            first = incremental_log_review(site, *PLANTED_PERIOD, store=store)
            again = incremental_log_review(site, *PLANTED_PERIOD, store=store)
        kept = store.payload(first.record)["covered"]
        engine = sa.create_engine(re.sub(r"^(mariadb|mysql)://", "mysql+pymysql://", url))
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DELETE FROM mdl_logstore_standard_log WHERE id = {row}"))
        finally:
            engine.dispose()
        with open_site(spec, audit_time=audit) as site:
            after = incremental_log_review(site, *PLANTED_PERIOD, store=store)
            full = log_review(site, *PLANTED_PERIOD)

    assert kept["first_id"] < row < kept["last_id"]
    assert again.resumed_from == first.review.integrity.id_gaps.last_id
    [check] = [q for q in again.review.queries if "ids present in the cursor" in q["purpose"]]
    assert check["rows"] == 1
    assert check["purpose"] == (
        "logs: ids present in the cursor's id range"
        + (" (all the log's rows less those outside it)" if mysql else "")
    )
    if mysql:  # one id lies below the range (the administrator's login ten days before it)
        ids = kept["first_id"], kept["last_id"]
        assert list(check["params"].values()) == [*ids, *ids]
        assert check["sql"].startswith(
            "SELECT ((SELECT count(*) AS count_1 FROM mdl_logstore_standard_log) - (SELECT"
        )
    present = kept["present"]
    assert after.resumed_from is None
    assert after.notes[0] == (
        "The whole period was read: log rows were deleted at or below the cursor (ids"
        f" {kept['first_id']} to {kept['last_id']}: {present} present when it was kept,"
        f" {present - 1} now)."
    )
    assert after.review.model_dump(exclude={"queries"}) == full.model_dump(exclude={"queries"})
    assert full.integrity.id_gaps.missing == first.review.integrity.id_gaps.missing + 1
