"""The per-site cursor of incremental re-runs: the grouped pass of a period (rows per UTC day
and event, with their id ranges) and the last log id it covered, kept in a local JSON file. A
re-run of the same site and period reads only the rows with a higher id, adds their groups to
the kept ones and gives the same review as a full run; everything else the review reads (failed
logins, administrative events, config_log) is small and read again."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from moodle_soc.errors import BadInputError
from moodle_soc.site.log_review import DayCount

if TYPE_CHECKING:
    from moodle_soc.site.log_review import LogReviewQueries
    from moodle_soc.site.populations import Window

VERSION = 1


@dataclass
class LogCursor:
    """What a review of ``wwwroot`` over ``start``..``end`` read: its groups, to ``last_id``."""

    wwwroot: str | None
    start: date
    end: date
    last_id: int | None = None
    groups: list[DayCount] = field(default_factory=list)
    rows_read: int = 0  # log rows the last run's grouped pass read

    def read_days(self, queries: LogReviewQueries, window: Window) -> list[DayCount]:
        """The period's groups: the kept ones plus those of the rows after ``last_id``."""
        fresh = queries.day_counts(window, self.last_id)
        self.rows_read = sum(g.rows for g in fresh)
        merged = {(g.day, g.eventname): g for g in self.groups}
        for g in fresh:
            old = merged.get((g.day, g.eventname))
            merged[(g.day, g.eventname)] = g if old is None else _add(old, g)
        self.groups = [merged[key] for key in sorted(merged)]
        self.last_id = max([g.last_id for g in self.groups], default=self.last_id)
        return list(self.groups)


def _add(a: DayCount, b: DayCount) -> DayCount:
    return DayCount(
        a.day,
        a.eventname,
        a.rows + b.rows,
        a.acting_as + b.acting_as,
        min(a.first_id, b.first_id),
        max(a.last_id, b.last_id),
    )


def load_cursor(path: Path, wwwroot: str | None, start: date, end: date) -> LogCursor:
    """The cursor kept in ``path`` for this site and period; a fresh one (a full run) when the
    file does not exist or was kept for another site or period."""
    fresh = LogCursor(wwwroot, start, end)
    if not path.exists():
        return fresh
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        kept = (data["version"], data["wwwroot"], data["start"], data["end"])
        if kept != (VERSION, wwwroot, start.isoformat(), end.isoformat()):
            return fresh
        groups = [DayCount(**g) for g in data["groups"]]
        last_id = data["last_id"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BadInputError(f"Cannot read the log cursor {path}: {error}") from None
    return LogCursor(wwwroot, start, end, None if last_id is None else int(last_id), groups)


def save_cursor(path: Path, cursor: LogCursor) -> None:
    data = {
        "version": VERSION,
        "wwwroot": cursor.wwwroot,
        "start": cursor.start.isoformat(),
        "end": cursor.end.isoformat(),
        "last_id": cursor.last_id,
        "rows_read": cursor.rows_read,
        "groups": [asdict(g) for g in cursor.groups],
    }
    try:
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    except OSError as error:
        raise BadInputError(f"Cannot write the log cursor {path}: {error}") from None
