"""Logging checks, one parametrized test each, on records named by their outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from moodle_soc.checks import logging as checks
from moodle_soc.checks.context import OnRecord, ScanContext
from moodle_soc.models.period import LogReviewSummary
from moodle_soc.policy import Policy
from moodle_soc.results import Status
from moodle_soc.synthetic.builder import SiteBuilder

PASS, FAIL = Status.PASS, Status.FAIL
NOW = 1795936000
DAY = 86400
Case = tuple[Callable[[SiteBuilder], Any], Status, str]


def old_logs(b: SiteBuilder) -> None:
    b.log("\\core\\event\\user_loggedin", timecreated=NOW - 500 * DAY, userid=2)


STORES: dict[str, Case] = {
    "standard_store_enabled": (lambda b: None, PASS, "(logstore_standard) includes"),
    "stores_disabled": (
        lambda b: b.setting("enabled_stores", "", "tool_log"),
        FAIL,
        "Setting tool_log/enabled_stores (none) does not include the standard log store.",
    ),
    "only_database_store": (
        lambda b: b.setting("enabled_stores", "logstore_database", "tool_log"),
        FAIL,
        "(logstore_database) does not include",
    ),
}


@pytest.mark.parametrize("record", STORES)
def test_standard_log_enabled(builder, make_site, record):
    build, status, says = STORES[record]
    build(builder)
    (result,) = checks.standard_log_enabled(ScanContext(make_site(builder), Policy()))
    assert (result.status, result.resource) == (status, "setting:tool_log/enabled_stores")
    assert says in result.reason


RETENTION: dict[str, Case] = {
    "logs_kept_forever": (
        old_logs,
        PASS,
        "retention is 'never delete' (logstore_standard/loglifetime 0); the policy requires 365"
        " days; the oldest row is from 2025-07-17 (500.0 days ago).",
    ),
    "kept_a_year": (
        lambda b: b.setting("loglifetime", 365, "logstore_standard"),
        PASS,
        "retention is 365 days (logstore_standard/loglifetime 365); the policy requires 365 days;"
        " the standard log is empty.",
    ),
    "kept_30_days": (
        lambda b: b.setting("loglifetime", 30, "logstore_standard"),
        FAIL,
        "retention is 30 days",
    ),
    "standard_store_disabled": (
        lambda b: (b.setting("enabled_stores", "", "tool_log"), old_logs(b)),
        FAIL,
        "The standard log store is disabled (tool_log/enabled_stores is empty), so no events",
    ),
}


@pytest.mark.parametrize("record", RETENTION)
def test_retention_covers_audit_window(builder, make_site, record):
    build, status, says = RETENTION[record]
    build(builder)
    (result,) = checks.retention_covers_audit_window(ScanContext(make_site(builder), Policy()))
    assert (result.status, result.resource) == (status, "setting:logstore_standard/loglifetime")
    assert says in result.reason
    assert "oldest_log" in result.observed and "logstore_standard/loglifetime" in result.observed


# --- the audit-log review checks ----------------------------------------------------------------

MANUAL = Status.MANUAL
LOGIN = "\\core\\event\\user_loggedin"
FAILED = "\\core\\event\\user_login_failed"
AUDIT = datetime.fromtimestamp(NOW, UTC)  # 2026-11-29 07:06:40 UTC; window 2026-10-30..11-29


def every_day(b: SiteBuilder, *, skip: int | None = None) -> None:
    for day in range(31):
        if day != skip:
            b.log(LOGIN, timecreated=NOW - day * DAY, userid=2, ip="10.0.0.1")


def burst(b: SiteBuilder) -> None:
    every_day(b)
    alice = b.user("alice")
    for n in range(5):
        b.log(FAILED, timecreated=NOW - 2 * DAY + n * 60, ip=f"198.51.100.{n}", userid=alice,
              other={"username": "alice", "reason": 3})  # fmt: skip


def signed(start: date, end: date, at: datetime) -> LogReviewSummary:
    return LogReviewSummary(
        record_seq=7, record_hash="ab" * 32, start=start, end=end, reviewer="sam",
        signed_at=at, statement="Reviewed.", review_sha256="cd" * 32, figures={},
    )  # fmt: skip


def on_record(*reviews: LogReviewSummary) -> OnRecord:
    return OnRecord(store="test", log_reviews=reviews)


COVERING = signed(date(2026, 10, 30), date(2026, 11, 29), AUDIT)
OLD = signed(date(2026, 9, 1), date(2026, 9, 30), datetime(2026, 10, 1, tzinfo=UTC))


def _run(check: Any, builder: SiteBuilder, make_site: Any, record: OnRecord | None) -> list[Any]:
    return list(check(ScanContext(make_site(builder), Policy(), on_record=record)))


def test_store_enabled_throughout_passes_when_never_turned_off(builder, make_site):
    (result,) = _run(checks.standard_log_enabled_throughout, builder, make_site, None)
    assert result.status is PASS
    assert result.reason == (
        "The standard log store was enabled throughout the review window 2026-10-30 to"
        " 2026-11-29 (no change of tool_log/enabled_stores turned it off)."
    )


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ([(NOW - 5 * DAY, ""), (NOW - 4 * DAY, "logstore_standard")],
         "disabled from 2026-11-24 07:06 UTC to 2026-11-25 07:06 UTC (turned off by user 2)"),
        ([(NOW - 90 * DAY, "logstore_database")],
         "disabled from before the window to the end of the window"),
    ],
)  # fmt: skip
def test_store_turned_off_in_the_window_fails(builder, make_site, changes, says):
    old = "logstore_standard"
    for when, value in changes:
        builder.config_log("enabled_stores", value, old, plugin="tool_log", timemodified=when)
        old = value
    (result,) = _run(checks.standard_log_enabled_throughout, builder, make_site, None)
    assert result.status is FAIL and says in result.reason


@pytest.mark.parametrize(
    ("build", "status", "says"),
    [
        (every_day, PASS, "has events on every day of the review window 2026-10-30 to"
                          " 2026-11-29 (31 logins)."),
        (lambda b: every_day(b, skip=3), FAIL, "no event at all on 1 day(s) of the review"
                                               " window 2026-10-30 to 2026-11-29: 2026-11-26."),
        (lambda b: None, MANUAL, "Nobody logged in during the review window"),
    ],
    ids=["logged_every_day", "one_silent_day", "unused_site"],
)  # fmt: skip
def test_no_days_without_events(builder, make_site, build, status, says):
    build(builder)
    (result,) = _run(checks.no_days_without_events, builder, make_site, None)
    assert result.status is status and says in result.reason


@pytest.mark.parametrize(
    ("build", "record", "status", "says"),
    [
        (every_day, None, PASS, "No brute-force burst or password spraying"),
        (burst, None, MANUAL, "needs a review; No evidence store is attached"),
        (burst, on_record(), FAIL, "is not covered by any signed-off log review."),
        (burst, on_record(OLD), FAIL, "is not covered by any signed-off log review."),
        (burst, on_record(COVERING), PASS, "is covered by a signed-off log review."),
    ],
    ids=["no_pattern", "no_store", "never_reviewed", "reviewed_before", "reviewed"],
)
def test_login_patterns_reviewed(builder, make_site, build, record, status, says):
    build(builder)
    results = _run(checks.login_patterns_reviewed, builder, make_site, record)
    assert [r.status for r in results] == [status]
    assert says in results[0].reason
    if build is burst:
        assert results[0].reason.startswith(
            "The burst of 5 failed logins (account alice, 2026-11-27 07:06 to 2026-11-27 07:10 UTC)"
        )


def new_admin_ip(b: SiteBuilder) -> None:
    b.log(LOGIN, timecreated=NOW - 100 * DAY, userid=2, ip="10.0.0.1")
    b.log(LOGIN, timecreated=NOW - DAY, userid=2, ip="203.0.113.9")


@pytest.mark.parametrize(
    ("build", "record", "status"),
    [
        (lambda b: b.log(LOGIN, timecreated=NOW - 100 * DAY, userid=2, ip="10.0.0.1"), None,
         PASS),
        (new_admin_ip, None, MANUAL),
        (new_admin_ip, on_record(OLD), FAIL),
        (new_admin_ip, on_record(COVERING), PASS),
    ],
    ids=["known_ip_only", "no_store", "not_acknowledged", "acknowledged"],
)  # fmt: skip
def test_admin_new_ips_acknowledged(builder, make_site, build, record, status):
    build(builder)
    results = _run(checks.admin_new_ips_acknowledged, builder, make_site, record)
    assert [r.status for r in results] == [status]
    if build is new_admin_ip:
        assert results[0].resource == "user:2:ip:203.0.113.9"
        assert results[0].reason.startswith(
            "Administrator admin first logged in from 203.0.113.9 on 2026-11-28"
        )


@pytest.mark.parametrize(
    ("record", "status", "says"),
    [
        (None, MANUAL, "No evidence store is attached"),
        (on_record(), MANUAL, "No signed-off log review of"),
        (on_record(COVERING), PASS, "(2026-10-30 to 2026-11-29) was signed off by sam on"
                                    " 2026-11-29, 0 day(s) before the audit time; the policy"
                                    " requires one every 31 days."),
        (on_record(OLD), FAIL, "59 day(s) before the audit time"),
        (on_record(signed(date(2026, 12, 1), date(2026, 12, 2), AUDIT + timedelta(days=3))),
         MANUAL, "No signed-off log review of"),
    ],
    ids=["no_store", "none_on_record", "recent", "stale", "signed_after_the_audit_time"],
)  # fmt: skip
def test_logs_reviewed_within_cadence(builder, make_site, record, status, says):
    (result,) = _run(checks.logs_reviewed_within_cadence, builder, make_site, record)
    assert result.status is status and says in result.reason


def test_days_before_the_oldest_row_are_not_silent_days(builder, make_site):
    for day in range(10):  # the log starts ten days before the audit
        builder.log(LOGIN, timecreated=NOW - day * DAY, userid=2, ip="10.0.0.1")
    (result,) = _run(checks.no_days_without_events, builder, make_site, None)
    assert result.status is PASS and result.observed["oldest_row"] == "2026-11-20T07:06:40+00:00"
