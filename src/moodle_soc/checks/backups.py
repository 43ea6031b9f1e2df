"""Backups: automated course backups are switched on, run, and succeed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from moodle_soc.checks.registry import SettingFix, check
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext
    from moodle_soc.site.moodle import MoodleSite

AUTO_MODES = {0: "disabled", 1: "enabled", 2: "manual (CLI only)"}
BACKUP_PAGE = "Site administration > Courses > Backups > Automated backup setup"
STALE_SAMPLE = 50
FAILING_LIMIT = 100


def _when(timestamp: int) -> str:
    if not timestamp:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _mode(site: MoodleSite) -> int:
    return site.settings.int("backup_auto_active", "backup")


ENABLE_BACKUPS = SettingFix("backup_auto_active", "1", "backup").command
EVERY_DAY = SettingFix("backup_auto_weekdays", "1111111", "backup").command


@check(
    "backups.automated_backups_enabled",
    severity=Severity.HIGH,
    title="Automated course backups are enabled",
    remediation=f"{BACKUP_PAGE}: set 'Active' to Enabled (or Manual when an external scheduler"
    " runs admin/cli/automated_backups.php).",
    moodle_check="core_backups",
    fix=SettingFix("backup_auto_active", "1", "backup"),
)
def automated_backups_enabled(scan: ScanContext) -> Iterator[Result]:
    """Without automated backups a lost or corrupted course cannot be restored.

    Moodle's performance check core_backups warns when automated backups are ON (they load
    cron); for compliance the verdict is inverted: we pass when they are enabled or manual.
    """
    mode = _mode(scan.site)
    word = AUTO_MODES.get(mode, f"an unknown mode {mode}")
    weekdays = scan.site.settings.get("backup_auto_weekdays", "backup") or ""
    # Enabled with no weekday ticked (Moodle's default 0000000), the schedule never runs.
    no_day = "1" not in weekdays
    days = (
        "; backup/backup_auto_weekdays has no day ticked, so tick the days too or enabling"
        " schedules nothing"
        if no_day and mode != 2
        else ""
    )
    result = Result.pass_if(
        mode == 2 or (mode == 1 and not no_day),
        f"Setting backup/backup_auto_active is {mode}: automated course backups are {word}{days}.",
        resource="setting:backup/backup_auto_active",
        observed={
            "backup/backup_auto_active": mode,
            "backup/backup_auto_storage": scan.site.settings.get("backup_auto_storage", "backup"),
            "backup/backup_auto_destination": scan.site.settings.get(
                "backup_auto_destination", "backup"
            ),
            "backup/backup_auto_weekdays": weekdays,
        },
    )
    if no_day and mode != 2:
        command = f"{ENABLE_BACKUPS} && {EVERY_DAY}"
        yield result.with_fix(command=command)
    else:
        yield result


@check(
    "backups.course_backups_succeeding",
    severity=Severity.HIGH,
    title="Automated course backups succeed and are recent",
    remediation=(
        "Site administration > Reports > Backups: read the log of each failing course, fix the"
        f" cause, and confirm a recent successful run; check the schedule in {BACKUP_PAGE}."
    ),
    requires_tables=("backup_courses",),
)
def course_backups_succeeding(scan: ScanContext) -> Iterator[Result]:
    """A backup that is enabled but failing gives false comfort: nothing could be restored."""
    mode = _mode(scan.site)
    if mode not in (1, 2):
        yield Result.not_applicable(
            f"Automated backups are {AUTO_MODES.get(mode, str(mode))} (backup_auto_active"
            f" {mode}), so there are no runs to judge; see backups.automated_backups_enabled.",
            observed={"backup/backup_auto_active": mode},
        )
        return
    summary = scan.site.backups.course_status_summary()
    if summary.total == 0:
        yield Result.failed(
            f"Automated backups are enabled (backup_auto_active {mode}) but have never run:"
            " the backup_courses table has no rows.",
            observed={"backup/backup_auto_active": mode, "courses": 0},
        )
        return
    for course in scan.site.backups.failing_courses(FAILING_LIMIT):
        name = course.shortname or f"(deleted course {course.courseid})"
        yield Result.failed(
            f"The last automated backup of course {name} ended with status"
            f" {course.status_word} ({course.laststatus}) at {_when(course.lastendtime)}.",
            resource=f"course:{course.courseid}",
            observed={
                "courseid": course.courseid,
                "shortname": course.shortname,
                "laststatus": course.laststatus,
                "laststarttime": course.laststarttime,
                "lastendtime": course.lastendtime,
            },
        )
    max_age = scan.policy.max_backup_age_days
    newest = summary.last_success_end
    # Every course must be recent, not just the newest one: one fresh backup must not hide
    # thousands of stale ones.
    stale = scan.site.backups.stale_courses(scan.site.days_ago(max_age), STALE_SAMPLE)
    recent = newest is not None and newest >= scan.site.days_ago(max_age) and not stale
    counts = ", ".join(f"{n} {word}" for word, n in summary.distribution().items())
    unlisted = max(0, summary.failing - FAILING_LIMIT)
    more = f" ({unlisted} more failing courses are not listed)" if unlisted else ""
    if newest is None:
        finding = "no course has ever been backed up successfully"
    else:
        age = round((scan.site.now - newest) / 86400, 1)
        finding = f"the newest successful backup finished {_when(newest)} ({age} days ago)"
    if stale:
        names = ", ".join(c.shortname or f"course {c.courseid}" for c in stale[:5])
        plus = "" if len(stale) < STALE_SAMPLE else " or more"
        finding += (
            f"; {len(stale)}{plus} course(s) were last backed up successfully more than"
            f" {max_age} days ago ({names})"
        )
    yield Result.pass_if(
        recent,
        f"Automated backups of {summary.total} courses: {counts}{more}; {finding}; the policy"
        f" requires one within {max_age} days.",
        observed={
            "laststatus": summary.distribution(),
            "failing": summary.failing,
            "last_success_lastendtime": newest,
            "stale_courses": [c.courseid for c in stale],
            "max_backup_age_days": max_age,
        },
    )
