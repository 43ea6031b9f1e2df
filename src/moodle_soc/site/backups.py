"""Automated course backups: what ``backup_courses`` says about the last run of each course.

``laststatus`` is a one-character string holding ``backup_cron_automated_helper``'s constants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

STATUS_WORDS = {
    "0": "error",
    "1": "ok",
    "2": "unfinished",
    "3": "skipped",
    "4": "warning",
    "5": "not yet run",
    "6": "queued",
}
OK = "1"
FAILING = ("0", "2", "4")  # error, unfinished, warning


def status_word(laststatus: str) -> str:
    return STATUS_WORDS.get(laststatus, f"unknown status {laststatus!r}")


@dataclass(frozen=True)
class BackupSummary:
    """Courses per last automated backup status, and the newest successful finish."""

    by_status: dict[str, int] = field(default_factory=dict)
    last_success_end: int | None = None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def failing(self) -> int:
        return sum(self.by_status.get(code, 0) for code in FAILING)

    def distribution(self) -> dict[str, int]:
        """Counts keyed by status word, in Moodle's constant order."""
        return {status_word(code): n for code, n in sorted(self.by_status.items())}


@dataclass(frozen=True)
class CourseBackup:
    courseid: int
    shortname: str | None
    laststatus: str
    laststarttime: int
    lastendtime: int

    @property
    def status_word(self) -> str:
        return status_word(self.laststatus)


class Backups:
    def __init__(self, site: MoodleSite) -> None:
        self._site = site
        self._db = site.db

    def course_status_summary(self) -> BackupSummary:
        backups = self._db.table("backup_courses")
        rows = self._db.fetch_all(
            sa.select(
                backups.c.laststatus,
                sa.func.count().label("n"),
                sa.func.max(backups.c.lastendtime).label("lastend"),
            ).group_by(backups.c.laststatus),
            "backups: courses per last automated backup status",
        )
        by_status: dict[str, int] = {}
        last_success: int | None = None
        for row in rows:
            code = str(row["laststatus"]).strip()
            by_status[code] = by_status.get(code, 0) + int(row["n"])
            if code == OK and row["lastend"]:
                last_success = int(row["lastend"])
        return BackupSummary(by_status, last_success)

    def _courses(
        self,
        backups: sa.TableClause,
        condition: sa.ColumnElement[bool],
        limit: int,
        purpose: str,
    ) -> list[CourseBackup]:
        # ``backups`` must be the very table object ``condition`` was built on: db.table()
        # returns a new construct per call, and two of them would be joined as two tables.
        course = self._db.table("course")
        rows = self._db.fetch_all(
            sa.select(
                backups.c.courseid,
                course.c.shortname,
                backups.c.laststatus,
                backups.c.laststarttime,
                backups.c.lastendtime,
            )
            .select_from(backups.outerjoin(course, course.c.id == backups.c.courseid))
            .where(condition)
            .order_by(backups.c.courseid)
            .limit(limit),
            purpose,
        )
        return [
            CourseBackup(
                courseid=int(row["courseid"]),
                shortname=row["shortname"],
                laststatus=str(row["laststatus"]).strip(),
                laststarttime=int(row["laststarttime"] or 0),
                lastendtime=int(row["lastendtime"] or 0),
            )
            for row in rows
        ]

    def failing_courses(self, limit: int = 100) -> list[CourseBackup]:
        """Courses whose last automated backup ended in error, unfinished or with warnings."""
        backups = self._db.table("backup_courses")
        return self._courses(
            backups,
            backups.c.laststatus.in_(FAILING),
            limit,
            "backups: courses whose last automated backup failed",
        )

    def stale_courses(self, before: int, limit: int = 100) -> list[CourseBackup]:
        """Courses whose last successful automated backup finished before ``before``."""
        backups = self._db.table("backup_courses")
        return self._courses(
            backups,
            sa.and_(backups.c.laststatus == OK, backups.c.lastendtime < before),
            limit,
            "backups: courses whose last successful backup is old",
        )
