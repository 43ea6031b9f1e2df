"""The per-site cursor of incremental re-runs: the grouped pass of a period (rows per UTC day
and event, with their id ranges) and the last log id it covered. A re-run of the same site and
period reads only the rows with a higher id, adds their groups to the kept ones and gives the
same review as a full run; everything else the review reads (failed logins, administrative
events, config_log) is small and read again.

The cursor is kept as a ``log_cursor`` record in the evidence store
(``evidence.periods.log_cursors``); the older ``--cursor FILE`` form keeps the same payload in a
local JSON file. Either way it also
keeps how many ids were present in its covered id range and the highest one, so rows deleted
below the cursor after it was kept are noticed with one query on the primary key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodle_soc.errors import BadInputError
from moodle_soc.site.log_review import DayCount

if TYPE_CHECKING:
    from moodle_soc.models.logs import IdGaps
    from moodle_soc.site.log_review import LogReviewQueries
    from moodle_soc.site.populations import Window

VERSION = 1
#: Said in every payload, because a cursor sits in the same chain as the sign-offs.
PURPOSE = "Work state of incremental log analysis; not evidence that the log was reviewed."


@dataclass
class Covered:
    """The ids the cursor counted on: ids present in ``first_id``..``last_id`` and the highest."""

    first_id: int
    last_id: int
    present: int
    max_id: int | None


@dataclass
class LogCursor:
    """What a review of ``wwwroot`` over ``start``..``end`` read: its groups, to ``last_id``."""

    wwwroot: str | None
    start: date
    end: date
    last_id: int | None = None
    groups: list[DayCount] = field(default_factory=list)
    rows_read: int = 0  # log rows the last run's grouped pass read
    covered: Covered | None = None  # set by ``check_covered`` before a cursor is kept
    resumed_from: int | None = None  # the kept last id this run started from (None: full run)

    notes: list[str] = field(default_factory=list)  # how this run read the log

    def read_days(self, queries: LogReviewQueries, window: Window) -> list[DayCount]:
        """The period's groups: the kept ones plus those of the rows after ``last_id``; all of
        them again when rows were deleted below the cursor since it was kept."""
        deleted = self.deleted_below(queries) if self.groups else None
        if deleted is not None:
            self.notes.append(f"The whole period was read: {deleted}.")
            self.groups, self.last_id = [], None
        self.resumed_from = self.last_id if self.groups else None
        fresh = queries.day_counts(window, self.last_id)
        self.rows_read = sum(g.rows for g in fresh)
        merged = {(g.day, g.eventname): g for g in self.groups}
        for g in fresh:
            old = merged.get((g.day, g.eventname))
            merged[(g.day, g.eventname)] = g if old is None else _add(old, g)
        self.groups = [merged[key] for key in sorted(merged)]
        self.last_id = max([g.last_id for g in self.groups], default=self.last_id)
        return list(self.groups)

    def record_covered(self, gaps: IdGaps) -> None:
        """Keep the ids present in the covered range (from the review's own count of gaps in
        the period's id range, which is this range), for the next run's ``deleted_below``."""
        if gaps.first_id is None or gaps.last_id is None:
            self.covered = None
            return
        present = gaps.last_id - gaps.first_id + 1 - gaps.missing
        self.covered = Covered(gaps.first_id, gaps.last_id, present, gaps.last_id)
        if self.resumed_from is not None:
            self.notes.append(
                f"Incremental run: the grouped pass read the {self.rows_read} log rows after id"
                f" {self.resumed_from}; the kept counts cover the rows before."
            )

    def deleted_below(self, queries: LogReviewQueries) -> str | None:
        """Why the kept groups cannot be trusted (rows deleted at or below the cursor since it
        was kept), or None. One COUNT/MAX over the primary key of the covered id range."""
        if self.covered is None:
            return None
        c = self.covered
        present, highest = queries.ids_in_range(c.first_id, c.last_id)
        if (present, highest) == (c.present, c.max_id):
            return None
        return (
            f"log rows were deleted at or below the cursor (ids {c.first_id} to {c.last_id}:"
            f" {c.present} present when it was kept, {present} now)"
        )

    def payload(self) -> dict[str, Any]:
        """The JSON a cursor is kept as: groups as rows of ``GROUP_FIELDS`` (compact)."""
        return {
            "version": VERSION,
            "purpose": PURPOSE,
            "wwwroot": self.wwwroot,
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "last_id": self.last_id,
            "rows_read": self.rows_read,
            "rows": sum(g.rows for g in self.groups),
            "covered": None if self.covered is None else vars(self.covered),
            "group_fields": list(GROUP_FIELDS),
            "groups": [[getattr(g, name) for name in GROUP_FIELDS] for g in self.groups],
        }


GROUP_FIELDS = ("day", "eventname", "rows", "acting_as", "first_id", "last_id")


def _add(a: DayCount, b: DayCount) -> DayCount:
    return DayCount(
        a.day,
        a.eventname,
        a.rows + b.rows,
        a.acting_as + b.acting_as,
        min(a.first_id, b.first_id),
        max(a.last_id, b.last_id),
    )


def kept_for(payload: Any) -> tuple[str | None, date, date]:
    """The site (wwwroot) and period a kept payload was made for. Raises on a damaged one."""
    if not isinstance(payload, dict) or payload.get("version") != VERSION:
        raise ValueError("not a log cursor of this version")
    period = payload["period"]
    return payload["wwwroot"], date.fromisoformat(period["from"]), date.fromisoformat(period["to"])


def from_payload(payload: Any) -> LogCursor:
    """A kept cursor (raises ValueError, KeyError or TypeError on a damaged payload)."""
    wwwroot, start, end = kept_for(payload)
    names = payload["group_fields"]
    groups = [DayCount(**dict(zip(names, row, strict=True))) for row in payload["groups"]]
    last_id = payload["last_id"]
    covered = payload.get("covered")
    return LogCursor(
        wwwroot,
        start,
        end,
        None if last_id is None else int(last_id),
        groups,
        covered=None if covered is None else Covered(**covered),
    )


def load_cursor(path: Path, wwwroot: str | None, start: date, end: date) -> LogCursor:
    """The cursor kept in ``path`` for this site and period; a fresh one (a full run) when the
    file does not exist or was kept for another site or period."""
    fresh = LogCursor(wwwroot, start, end)
    if not path.exists():
        return fresh
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if kept_for(data) != (wwwroot, start, end):
            return fresh
        return from_payload(data)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BadInputError(f"Cannot read the log cursor {path}: {error}") from None


def save_cursor(path: Path, cursor: LogCursor) -> None:
    try:
        path.write_text(json.dumps(cursor.payload(), indent=1) + "\n", encoding="utf-8")
    except OSError as error:
        raise BadInputError(f"Cannot write the log cursor {path}: {error}") from None
