"""A simulated SOC 2 Type II week on the real hardened fixture (MariaDB).

A throwaway copy of the fixture is scanned through the CLI once a day for seven days (``--as-of``
day 1 to day 7) into a temporary evidence store. Between scans an administrator connection
keeps cron's heartbeat fresh and logs an event a day (the site keeps running), breaks account
lockout on day 3 (``lockoutthreshold`` 0, logged in config_log as Moodle would) and restores it
on day 5. The period report must say exactly that; ``evidence diff`` must show the change as new
and fixed; and the populations over the fixture's history must match direct SQL counts,
reproducibly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from moodle_soc.evidence.periods.populations import Population, build_populations, rows_sha256
from moodle_soc.evidence.periods.timeline import period_report
from moodle_soc.evidence.store.store import open_store
from moodle_soc.models.period import PeriodReport
from moodle_soc.models.records import StoredRecord
from moodle_soc.reports.period import render_period_html
from moodle_soc.site.secrets import MASK

from .fixtures import (
    HARDENED,
    PASSWORD_ENV,
    ReadOnlyUser,
    RestoredSite,
    describe,
    new_tag,
    restore_fixture,
    run_cli,
)

pytestmark = pytest.mark.integration

LOCKOUT = "authentication.account_lockout_enabled"
DAYS = 7
BROKEN, FIXED = 3, 5
HISTORY = (date(2026, 8, 1), date(2026, 12, 31))  # the fixture's whole history and the week


@dataclass
class Week:
    site: RestoredSite
    store: Path
    days: list[date]
    runs: list[StoredRecord]  # one per day, in order
    report: PeriodReport  # with a tolerance that accepts the backdated runs as live
    default: PeriodReport  # with the default tolerance: every run is reconstructed


def _admin(site: RestoredSite, sql: str, **params: object) -> None:
    with site.admin.connect() as connection:  # autocommit
        connection.execute(sa.text(sql.replace("{p}", site.prefix)), params)


def _set_lockout(site: RestoredSite, value: str, old: str, when: int) -> None:
    """Change lockoutthreshold the way the admin settings page does: config and config_log."""
    _admin(site, "UPDATE {p}config SET value = :v WHERE name = 'lockoutthreshold'", v=value)
    _admin(
        site,
        "INSERT INTO {p}config_log (userid, timemodified, plugin, name, value, oldvalue)"
        " VALUES (2, :t, NULL, 'lockoutthreshold', :v, :o)",
        t=when,
        v=value,
        o=old,
    )


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Week]:
    site = restore_fixture(HARDENED, new_tag())  # our own copy: this test writes to it
    try:
        work = tmp_path_factory.mktemp("type2")
        store = work / "evidence.sqlite"
        config = site.write_config_php(work)
        original = str(site.scalar("SELECT value FROM {p}config WHERE name = 'lockoutthreshold'"))
        assert original not in ("", "0"), "the hardened fixture should lock accounts out"
        days = []
        for n in range(1, DAYS + 1):
            moment = HARDENED.audit_time + timedelta(days=n - 1)
            now = int(moment.timestamp())
            _admin(site, "UPDATE {p}config_plugins SET value = :v WHERE plugin = 'tool_task'"
                   " AND name = 'lastcronstart'", v=str(now - 60))  # fmt: skip
            _admin(site, "INSERT INTO {p}logstore_standard_log (eventname, component, action,"
                   " target, crud, edulevel, contextid, contextlevel, contextinstanceid, userid,"
                   " courseid, anonymous, other, timecreated, origin, ip) VALUES"
                   " ('\\core\\event\\dashboard_viewed', 'core', 'viewed', 'dashboard', 'r',"
                   " 0, 1, 10, 0, 2, 0, 0, 'null', :t, 'web', '203.0.113.1')",
                   t=now - 120)  # fmt: skip
            if n == BROKEN:
                _set_lockout(site, "0", original, now - 3600)
            if n == FIXED:
                _set_lockout(site, original, "0", now - 3600)
            done = run_cli("scan", "--config", config, "--as-of", moment.isoformat(), "--store",
                           store, "--format", "json", "--quiet", cwd=work,
                           env={PASSWORD_ENV: ""})  # fmt: skip
            assert done.returncode == 0, describe(done)
            days.append(moment.date())
        evidence = open_store(str(store), create=True)
        runs = evidence.records(kind="run")
        assert [r.collected_at.date() for r in runs] == days
        # The week was scanned today with --as-of: a reconstruction. Only a tolerance wider
        # than the time since lets the report treat the runs as monitoring.
        lenient = int((datetime.now(UTC) - HARDENED.audit_time).total_seconds() // 3600) + 48
        key = runs[0].site_key
        report = period_report(evidence, key, days[0], days[-1], max_recording_delay_hours=lenient)
        default = period_report(evidence, key, days[0], days[-1])
        evidence.close()
        yield Week(site, store, days, runs, report, default)
    finally:
        site.drop()


def _control(report: PeriodReport, check_id: str) -> Any:
    return next(c for c in report.controls if c.check_id == check_id)


def test_the_period_report_says_lockout_failed_on_days_3_and_4_and_was_fixed_on_day_5(
    week: Week,
) -> None:
    report, day = week.report, week.days
    lockout = _control(report, LOCKOUT)
    assert lockout.exception and LOCKOUT in report.exceptions
    assert lockout.exception_days == [day[BROKEN - 1], day[FIXED - 2]]
    assert (lockout.first_failure, lockout.fixed_on) == (day[BROKEN - 1], day[FIXED - 1])
    assert (lockout.days_pass, lockout.days_fail, lockout.days_unknown) == (5, 2, 0)
    assert not lockout.still_failing and not lockout.operated_throughout
    assert report.days == report.days_scanned == DAYS and report.monitoring_gaps == []
    (history,) = [f for f in report.findings if f.check_id == LOCKOUT]
    assert history.first_seen_run == week.runs[BROKEN - 1].seq
    assert history.resolved_run == week.runs[FIXED - 1].seq
    assert "lockoutthreshold is 0" in history.reason


def test_backdated_runs_are_reconstructed_and_never_count_as_monitored_days(week: Week) -> None:
    default = week.default
    assert default.days_scanned == 0 and default.runs == [] and default.findings == []
    assert [r.seq for r in default.reconstructed_runs] == [r.seq for r in week.runs]
    assert all(r.reconstructed and r.recorded_at for r in default.reconstructed_runs)
    assert default.reconstructed_days == week.days
    assert [(g.start, g.days) for g in default.monitoring_gaps] == [(week.days[0], DAYS)]
    lockout = _control(default, LOCKOUT)
    assert lockout.days_unknown == DAYS and not lockout.exception
    assert [c.reconstructed_runs for c in lockout.timeline] == [1] * DAYS
    html = render_period_html(default)
    assert "0 / 7</b>days monitored live" in html and "Reconstructed runs" in html


def test_every_other_control_kept_its_day_1_verdict_all_week(week: Week) -> None:
    passing = 0
    for control in week.report.controls:
        if control.check_id == LOCKOUT:
            continue
        statuses = {cell.status for cell in control.timeline}
        assert len(statuses) == 1, f"{control.check_id} changed during the week: {control.timeline}"
        if statuses == {"pass"}:
            passing += 1
            assert control.operated_throughout and not control.exception
        if statuses == {"fail"}:  # failing before the week began: an exception every day
            assert control.exception_days == week.days and control.still_failing
    assert passing >= 20  # the hardened site passes most controls


def test_the_html_report_shows_the_failed_days(week: Week) -> None:
    html = render_period_html(week.report)
    first, last = week.days[BROKEN - 1].isoformat(), week.days[FIXED - 2].isoformat()
    assert f'title="{first} to {last}: fail">F</span>' in html  # one segment, days 3 to 4
    assert f"{first} to {last} (2 days)" in html
    assert html.index(LOCKOUT) < html.index('id="timeline"')  # named among the exceptions


def _diff(week: Week, before: int, after: int) -> dict[str, Any]:
    runs = [str(week.runs[n - 1].seq) for n in (before, after)]
    done = run_cli("evidence", "diff", *runs, "--store", week.store, "--format", "json",
                   cwd=week.store.parent)  # fmt: skip
    assert done.returncode == 0, describe(done)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_evidence_diff_shows_the_failure_as_new_then_fixed(week: Week) -> None:
    broke, fixed = _diff(week, BROKEN - 1, BROKEN), _diff(week, FIXED - 1, FIXED)
    assert [c["check_id"] for c in broke["new"]] == [LOCKOUT] and broke["fixed"] == []
    assert [c["check_id"] for c in fixed["fixed"]] == [LOCKOUT] and fixed["new"] == []
    assert _diff(week, BROKEN, FIXED - 1) == {"new": [], "fixed": [], "changed": []}


# --- populations over the fixture's history, as a SELECT-only user ------------------------------


@pytest.fixture(scope="module")
def populations(week: Week, mariadb_readonly: ReadOnlyUser) -> list[dict[str, Population]]:
    mariadb_readonly.grant(week.site.database)
    built = []
    for _ in range(2):
        site = week.site.open_site(user=mariadb_readonly.name, password=mariadb_readonly.password)
        try:
            built.append({p.name: p for p in build_populations(site, *HISTORY)})
        finally:
            site.db.close()
    return built


def _bounds() -> dict[str, int]:
    start = datetime.combine(HISTORY[0], datetime.min.time(), UTC)
    end = datetime.combine(HISTORY[1] + timedelta(days=1), datetime.min.time(), UTC)
    return {"s": int(start.timestamp()), "e": int(end.timestamp())}


def test_config_changes_match_config_log(week: Week, populations: list[Any]) -> None:
    population = populations[0]["config_changes"]
    expected = week.site.scalar(
        "SELECT COUNT(*) FROM {p}config_log WHERE timemodified >= :s AND timemodified < :e",
        **_bounds(),
    )
    assert population.row_count == len(population.rows) == expected > 0
    ours = [r for r in population.rows if r["name"] == "lockoutthreshold"][-2:]
    original = ours[0]["oldvalue"]  # the week's own change and fix, with who made them
    assert [(r["oldvalue"], r["value"], r["actor"]) for r in ours] == [
        (original, "0", "admin"),
        ("0", original, "admin"),
    ]
    for row in population.rows:
        if row["masked"]:
            assert row["value"] in (MASK, "", None) and row["oldvalue"] in (MASK, "", None)


def test_privileged_role_changes_match_the_log_and_siteadmins(
    week: Week, populations: list[Any]
) -> None:
    population = populations[0]["privileged_role_changes"]
    events = week.site.scalar(
        "SELECT COUNT(*) FROM {p}logstore_standard_log l WHERE l.eventname IN (:a, :u)"
        " AND l.timecreated >= :s AND l.timecreated < :e AND (l.contextlevel IN (10, 40)"
        " OR l.objectid IN (SELECT rc.roleid FROM {p}role_capabilities rc"
        " JOIN {p}capabilities c ON c.name = rc.capability JOIN {p}context x ON x.id = rc.contextid"
        " WHERE x.contextlevel = 10 AND rc.permission = 1 AND (c.riskbitmask & 3) <> 0))",
        a="\\core\\event\\role_assigned",
        u="\\core\\event\\role_unassigned",
        **_bounds(),
    )
    admins = week.site.rows(
        "SELECT value, oldvalue FROM {p}config_log WHERE name = 'siteadmins'"
        " AND timemodified >= :s AND timemodified < :e",
        **_bounds(),
    )
    ids = [
        {int(i) for i in str(v or "").split(",") if i.strip()} for r in admins for v in r.values()
    ]
    moves = sum(len(new ^ old) for new, old in zip(ids[::2], ids[1::2], strict=True))
    assert population.row_count == int(str(events)) + moves
    assert int(str(events)) > 0
    assert all(r["role"] for r in population.rows)


def test_populations_are_reproducible(populations: list[dict[str, Population]]) -> None:
    first, again = populations
    for name, population in first.items():
        assert population.sha256 == again[name].sha256 == rows_sha256(population.rows), name
        assert population.query_sql and population.row_count == again[name].row_count
    assert first["webservice_tokens"].row_count >= 1
