"""Backup checks, one parametrized test each, on records named by their outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_soc.checks import backups as checks
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import get_check
from moodle_soc.policy import Policy
from moodle_soc.results import Status
from moodle_soc.synthetic.builder import SiteBuilder

PASS, FAIL, NA = Status.PASS, Status.FAIL, Status.NOT_APPLICABLE
NOW = 1795936000
DAY = 86400


def active(b: SiteBuilder, mode: int = 1) -> None:
    b.setting("backup_auto_active", mode, "backup")


def backed_up(b: SiteBuilder, shortname: str, status: str, days_ago: float) -> None:
    courseid, _ = b.course(shortname)
    end = NOW - int(days_ago * DAY)
    b.backup_course(courseid, laststatus=status, laststarttime=end - 60, lastendtime=end)


def every_day(b: SiteBuilder) -> None:
    b.setting("backup_auto_weekdays", "1111111", "backup")


ENABLE = "php admin/cli/cfg.php --component=backup --name=backup_auto_active --set=1"
EVERY_DAY = "php admin/cli/cfg.php --component=backup --name=backup_auto_weekdays --set=1111111"
ENABLED: dict[str, tuple[Callable[[SiteBuilder], Any], Status, str]] = {
    "backups_disabled": (every_day, FAIL, "is 0: automated course backups are disabled."),
    "backups_disabled_without_days": (
        lambda b: None,
        FAIL,
        "is 0: automated course backups are disabled; backup/backup_auto_weekdays has no day"
        " ticked, so tick the days too or enabling schedules nothing.",
    ),
    "backups_enabled": (
        lambda b: (active(b), every_day(b)),
        PASS,
        "is 1: automated course backups are enabled.",
    ),
    "backups_enabled_without_days": (
        active,
        FAIL,
        "are enabled; backup/backup_auto_weekdays has no day ticked",
    ),
    "backups_manual_cli": (
        lambda b: active(b, 2),
        PASS,
        "is 2: automated course backups are manual (CLI only).",
    ),
}


@pytest.mark.parametrize("record", ENABLED)
def test_automated_backups_enabled(builder, make_site, record):
    build, status, says = ENABLED[record]
    build(builder)
    (result,) = checks.automated_backups_enabled(ScanContext(make_site(builder), Policy()))
    assert (result.status, result.resource) == (status, "setting:backup/backup_auto_active")
    assert says in result.reason
    if "without_days" in record:  # enabling alone would schedule nothing
        assert result.fix_command == f"{ENABLE} && {EVERY_DAY}"
    else:
        assert result.fix_command is None  # the check's own command applies


def test_automated_backups_enabled_is_moodle_core_backups_inverted():
    spec = get_check("backups.automated_backups_enabled")
    assert spec.moodle_check == "core_backups" and "inverted" in (spec.function.__doc__ or "")


SUCCEEDING: dict[str, tuple[Callable[[SiteBuilder], Any], list[tuple[Status, str, str]]]] = {
    "backups_disabled": (
        lambda b: backed_up(b, "C1", "0", 1),
        [(NA, "site", "see backups.automated_backups_enabled.")],
    ),
    "never_ran": (active, [(FAIL, "site", "enabled (backup_auto_active 1) but have never run")]),
    "recent_success": (
        lambda b: (active(b), backed_up(b, "C1", "1", 1), backed_up(b, "C2", "3", 9)),
        [(PASS, "site", "2 courses: 1 ok, 1 skipped; the newest successful backup finished")],
    ),
    "failing_course": (
        lambda b: (active(b), backed_up(b, "C1", "1", 1), backed_up(b, "BAD101", "0", 2)),
        [
            (
                FAIL,
                "course:3",
                "course BAD101 ended with status error (0) at 2026-11-27 07:06 UTC.",
            ),
            (PASS, "site", "1 error, 1 ok"),
        ],
    ),
    "unfinished_and_warning": (
        lambda b: (active(b, 2), backed_up(b, "U1", "2", 1), backed_up(b, "W1", "4", 1)),
        [
            (FAIL, "course:2", "course U1 ended with status unfinished (2)"),
            (FAIL, "course:3", "course W1 ended with status warning (4)"),
            (FAIL, "site", "no course has ever been backed up successfully"),
        ],
    ),
    "stale_success": (
        lambda b: (active(b), backed_up(b, "C1", "1", 8)),
        [(FAIL, "site", "(8.0 days ago); 1 course(s) were last backed up successfully")],
    ),
    "one_fresh_one_stale": (
        lambda b: (active(b), backed_up(b, "C1", "1", 1), backed_up(b, "C2", "1", 30)),
        [(FAIL, "site", "more than 7 days ago (C2)")],
    ),
}


@pytest.mark.parametrize("record", SUCCEEDING)
def test_course_backups_succeeding(builder, make_site, record):
    build, expected = SUCCEEDING[record]
    build(builder)
    results = list(checks.course_backups_succeeding(ScanContext(make_site(builder), Policy())))
    assert [(r.status, r.resource) for r in results] == [(s, res) for s, res, _ in expected]
    for result, (_, _, says) in zip(results, expected, strict=True):
        assert says in result.reason, result.reason
