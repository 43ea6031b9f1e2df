"""The standard log store (``logstore_standard_log``): aggregates only, never a full scan.

The table holds millions of rows on a real site. Every query here is either a MIN/MAX on the
indexed ``timecreated`` column or a count bounded by time, so it stays cheap at any size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from moodle_soc.site.cache import once_per_site

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

STANDARD_LOG = "logstore_standard_log"


@dataclass(frozen=True)
class LogBounds:
    """The time span the standard log covers; both None when it holds no rows."""

    oldest: int | None
    newest: int | None

    @property
    def empty(self) -> bool:
        return self.oldest is None

    @property
    def oldest_iso(self) -> str | None:
        return _iso(self.oldest)

    @property
    def newest_iso(self) -> str | None:
        return _iso(self.newest)

    def days_covered(self, now: int) -> float | None:
        """Days from the oldest row to ``now``: how far back an auditor can look."""
        return None if self.oldest is None else round((now - self.oldest) / 86400, 1)


def _iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


class Logs:
    def __init__(self, site: MoodleSite) -> None:
        self._site = site
        self._db = site.db

    @property
    def has_standard_log(self) -> bool:
        return self._db.has_table(STANDARD_LOG)

    @once_per_site
    def standard_log_bounds(self) -> LogBounds:
        """MIN and MAX of ``timecreated``: both answered from its index, whatever the size."""
        log = self._db.table(STANDARD_LOG)
        row = self._db.fetch_one(
            sa.select(
                sa.func.min(log.c.timecreated).label("oldest"),
                sa.func.max(log.c.timecreated).label("newest"),
            ),
            "logs: oldest and newest standard log row",
        )
        if row is None or row["oldest"] is None:
            return LogBounds(None, None)
        return LogBounds(int(row["oldest"]), int(row["newest"]))

    def count_events(self, eventnames: Iterable[str], since: int) -> dict[str, int]:
        """Rows per event name since ``since`` (bounded by time; names as Moodle stores them,
        with a leading backslash). Every requested name is present in the answer, 0 if unseen."""
        names = sorted(set(eventnames))
        counts = dict.fromkeys(names, 0)
        if not names:
            return counts
        log = self._db.table(STANDARD_LOG)
        rows = self._db.fetch_all(
            sa.select(log.c.eventname, sa.func.count().label("n"))
            .where(log.c.timecreated >= since, log.c.eventname.in_(names))
            .group_by(log.c.eventname),
            "logs: event counts since a time",
        )
        for row in rows:
            counts[str(row["eventname"])] = int(row["n"])
        return counts

    def count_since(self, since: int) -> int:
        """All standard log rows written since ``since`` (a bounded count)."""
        log = self._db.table(STANDARD_LOG)
        value = self._db.scalar(
            sa.select(sa.func.count()).select_from(log).where(log.c.timecreated >= since),
            "logs: rows written since a time",
        )
        return int(value or 0)
