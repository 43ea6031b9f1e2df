"""The per-site cursor of incremental re-runs: what a review made of the log rows up to the last
id it covered: the grouped pass (rows per UTC day and event, with their id ranges), the detail
stream's results (``logreview.stream``: failed logins per day and reason, lockout spans, the
administrative and role events, the burst and spraying detectors' state) and the gaps in the
covered id range. A re-run of the same site and period reads only the rows with a higher id,
adds them to what was kept and gives the same review as a full run; what else the review
reads (config_log, the few logins of privileged and inactive accounts) is small and read again.

The cursor is kept as a ``log_cursor`` record in the evidence store
(``evidence.periods.log_cursors``); the older ``--cursor FILE`` form keeps the same payload in a
local JSON file. Either way it also
keeps how many ids were present in its covered id range and the highest one, so rows deleted
below the cursor after it was kept are noticed with one query on the primary key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from moodle_soc.errors import BadInputError
from moodle_soc.logreview.rewindow import OutOfOrder
from moodle_soc.logreview.stream import StreamState
from moodle_soc.site.log_review import LOGIN_FAILED, MAX_GAPS, STANDARD_LOG, DayCount, IdGap
from moodle_soc.site.populations import Window

if TYPE_CHECKING:
    from moodle_soc.models.logs import IdGaps
    from moodle_soc.site.log_review import LogReviewQueries

VERSION = 2  # 2: the detail stream's results and the id gaps are kept too
#: Said in every payload, because a cursor sits in the same chain as the sign-offs.
PURPOSE = "Work state of incremental log analysis; not evidence that the log was reviewed."


@dataclass
class Covered:
    """The ids the cursor counted on: ids present in ``first_id``..``last_id`` and the highest,
    and the ids missing there (their total, and the first ``MAX_GAPS`` gaps)."""

    first_id: int
    last_id: int
    present: int
    max_id: int | None
    missing: int = 0
    gaps: list[list[int]] = field(default_factory=list)  # [after, before]


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
    stream: StreamState | None = None  # the detail stream's results up to ``last_id``
    kept_period: tuple[date, date] | None = None  # when kept for another (earlier) period
    verify: bool = True  # count the covered ids again before using the kept results

    notes: list[str] = field(default_factory=list)  # how this run read the log

    def read_days(
        self, queries: LogReviewQueries, window: Window, thresholds: tuple[int, ...]
    ) -> list[DayCount]:
        """The period's groups: the kept ones plus those of the rows after ``last_id``; all of
        them again when rows were deleted below the cursor since it was kept, or the policy's
        pattern thresholds changed (the kept detectors counted with the old ones), or failed
        logins were added dated before the newest day of those the cursor counted (the kept
        detectors forgot keys on the ground that none would come: ``detect.Horizon``)."""
        why = None
        newest = max((g.day for g in self.groups if g.eventname == LOGIN_FAILED), default=None)
        if self.groups and self.stream is not None and self.stream.thresholds != list(thresholds):
            why = "the policy's burst or spraying thresholds changed since the cursor was kept"
        elif self.groups and self.stream is None:
            why = "the cursor keeps no results of the failed logins and administrative events"
        elif self.groups and self.kept_period not in (None, (self.start, self.end)):
            why = self._move(queries, window)
        elif self.groups and self.verify:
            why = self.deleted_below(queries)
        if why is None and self.groups and not self.verify:
            self.notes.append(
                "The ids the cursor covered were not counted again (--no-verify-cursor): rows"
                " deleted below it since it was kept would still be counted."
            )
        if why is not None:
            self._forget(why)
        fresh = queries.day_counts(window, self.last_id)
        if self.groups and newest is not None:
            older = min((g.day for g in fresh if g.eventname == LOGIN_FAILED), default=newest)
            if older < newest:
                self._forget(
                    f"failed logins dated {_day(older)} were added after the cursor, which had"
                    f" counted failed logins up to {_day(newest)}"
                )
                fresh = queries.day_counts(window)
        self.resumed_from = self.last_id if self.groups else None
        self.rows_read = sum(g.rows for g in fresh)
        merged = {(g.day, g.eventname): g for g in self.groups}
        for g in fresh:
            old = merged.get((g.day, g.eventname))
            merged[(g.day, g.eventname)] = g if old is None else _add(old, g)
        self.groups = [merged[key] for key in sorted(merged)]
        self.last_id = max([g.last_id for g in self.groups], default=self.last_id)
        return list(self.groups)

    def _forget(self, why: str) -> None:
        """Start from nothing (a full run), saying why."""
        self.notes.append(f"The whole period was read: {why}.")
        self.groups, self.last_id, self.stream, self.covered = [], None, None, None

    def _move(self, queries: LogReviewQueries, window: Window) -> str | None:
        """Make the cursor kept for an earlier period (same or earlier start and end) one for
        ``window``: its groups and stream results from the new start on, the rows after its
        last id still to read; or why it cannot be (a full run)."""
        assert self.kept_period is not None and self.stream is not None
        old = Window.for_days(*self.kept_period)
        groups = [g for g in self.groups if g.day >= window.start]
        c, last_id = self.covered, self.last_id
        if not groups or c is None or last_id is None:
            return "the cursor kept for an earlier period holds no rows of this one"
        if sum(b - a - 1 for a, b in c.gaps) != c.missing:
            return "the cursor's id range has more gaps than it lists"
        first = min(g.first_id for g in groups)
        gaps = [[a, b] for a, b in c.gaps if a >= first]
        missing = sum(b - a - 1 for a, b in gaps)
        expected = (c.last_id - first + 1 - missing, c.max_id)
        found = _present(queries, first, c.last_id) if self.verify else expected
        if found != expected:
            return (
                f"log rows were deleted at or below the cursor (ids {first} to {c.last_id}:"
                f" {expected[0]} present when it was kept, {found[0]} now)"
            )
        if window.end > old.end:
            added = queries.rows_up_to(last_id, Window(old.end, window.end))
            if added:
                return f"{added} log rows at or below the cursor fall in the days added"
        try:
            self.stream.move_to(queries, old, window.start, last_id)
        except OutOfOrder as key:
            return (
                f"the failed logins of {key} before the cursor are not in the same order by"
                " time as by id, so they cannot be replayed from the new start"
            )
        self.groups = groups
        self.covered = Covered(first, c.last_id, expected[0], c.max_id, missing, gaps)
        start, end = self.kept_period
        self.notes.append(f"The cursor kept for {start} to {end} was moved to this period.")
        return None

    def id_gaps(
        self, queries: LogReviewQueries, first_id: int, last_id: int
    ) -> tuple[int, list[IdGap]]:
        """The ids missing in ``first_id``..``last_id``: those kept for the covered range (just
        checked by ``deleted_below``) and those after it, counted over the new ids only."""
        c = self.covered
        if self.resumed_from is None or c is None or c.first_id != first_id:
            return queries.id_gaps(first_id, last_id)
        kept = [IdGap(after, before) for after, before in c.gaps]
        if last_id <= c.last_id:
            return c.missing, kept
        missing, gaps = queries.id_gaps(c.last_id, last_id)
        return c.missing + missing, (kept + gaps)[:MAX_GAPS]

    def record_covered(self, gaps: IdGaps) -> None:
        """Keep the ids present in the covered range and its gaps (from the review's own count
        of gaps in the period's id range, which is this range), for the next run."""
        if gaps.first_id is None or gaps.last_id is None:
            self.covered = None
            return
        present = gaps.last_id - gaps.first_id + 1 - gaps.missing
        ranges = [[g.after, g.before] for g in gaps.ranges]
        self.covered = Covered(
            gaps.first_id, gaps.last_id, present, gaps.last_id, gaps.missing, ranges
        )
        if self.resumed_from is not None:
            self.notes.append(
                f"Incremental run: the grouped pass read the {self.rows_read} log rows after id"
                f" {self.resumed_from}; the kept counts cover the rows before."
            )

    def deleted_below(self, queries: LogReviewQueries) -> str | None:
        """Why the kept groups cannot be trusted (rows deleted at or below the cursor since it
        was kept), or None. One COUNT/MAX of the covered id range (``_present``)."""
        if self.covered is None:
            return None
        c = self.covered
        present, highest = _present(queries, c.first_id, c.last_id)
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
            "stream": None if self.stream is None else self.stream.payload(),
        }


def _present(queries: LogReviewQueries, first_id: int, last_id: int) -> tuple[int, int | None]:
    """How many ids are present in ``first_id``..``last_id``, and the highest: one aggregate
    over the primary key of the range; on MySQL/MariaDB, when few ids lie outside the range,
    all the log's rows less those below and above it instead.

    InnoDB counts a primary-key range by reading the clustered index, the rows themselves; a
    ``COUNT(*)`` of the whole table reads its smallest index instead and, at 10 million rows,
    costs about half as much (counting a range of a secondary index, e.g. ``timecreated``'s,
    saves only a fifth: the cost is per entry more than per page). Both count every id, in one
    statement (one snapshot): a row deleted from the range is missing from either count."""
    db = queries.db
    if db.backend not in ("mysql", "mariadb"):
        return queries.ids_in_range(first_id, last_id)
    log = db.table(STANDARD_LOG)
    [bounds] = db.fetch_all(
        sa.select(sa.func.min(log.c.id).label("low"), sa.func.max(log.c.id).label("high")),
        "logs: the lowest and highest id of the log",
    )
    if bounds["low"] is None:
        return 0, None
    outside = max(first_id - int(bounds["low"]), 0) + max(int(bounds["high"]) - last_id, 0)
    if outside * 4 > last_id - first_id + 1:  # the rows outside would cost more than saved
        return queries.ids_in_range(first_id, last_id)

    def rows(*where: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
        return sa.select(sa.func.count()).select_from(log).where(*where).scalar_subquery()

    top = sa.select(sa.func.max(log.c.id)).where(log.c.id.between(first_id, last_id))
    [row] = db.fetch_all(
        sa.select(
            (rows() - rows(log.c.id < first_id) - rows(log.c.id > last_id)).label("n"),
            top.scalar_subquery().label("top"),
        ),
        "logs: ids present in the cursor's id range (all the log's rows less those outside it)",
    )
    return int(row["n"] or 0), None if row["top"] is None else int(row["top"])


def _day(time: int) -> str:
    return datetime.fromtimestamp(time, UTC).date().isoformat()


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
    stream = payload.get("stream")
    return LogCursor(
        wwwroot,
        start,
        end,
        None if last_id is None else int(last_id),
        groups,
        covered=None if covered is None else Covered(**covered),
        stream=None if stream is None else StreamState.from_payload(stream),
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
