"""Cron and task health: the data behind Moodle's tool_task status checks.

The running-task columns (``timestarted``, ``hostname``, ``pid``) came with the 3.10/3.11
work and are feature-detected; the cron heartbeat lives in ``config_plugins`` (tool_task).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

TaskKind = Literal["scheduled", "adhoc"]


@dataclass(frozen=True)
class CronHeartbeat:
    """When cron last started, as Moodle records it, with the task-table fallback."""

    lastcronstart: int | None
    lastcroninterval: int | None
    last_task_run: int | None  # MAX(task_scheduled.lastruntime)

    @property
    def last_start(self) -> int | None:
        """``lastcronstart``, else the newest scheduled-task run (sites that predate it)."""
        return self.lastcronstart or self.last_task_run or None

    @property
    def never_ran(self) -> bool:
        return self.last_start is None


@dataclass(frozen=True)
class FailingTask:
    kind: TaskKind
    classname: str
    faildelay: int
    id: int


@dataclass(frozen=True)
class AdhocQueue:
    count: int
    oldest_nextruntime: int | None

    def age(self, now: int) -> int:
        """Moodle's ``MAX(now - nextruntime)``; 0 for an empty queue."""
        return 0 if self.oldest_nextruntime is None else now - self.oldest_nextruntime


@dataclass(frozen=True)
class RunningTask:
    kind: TaskKind
    id: int
    classname: str
    timestarted: int
    hostname: str | None
    pid: int | None

    def runtime(self, now: int) -> int:
        return now - self.timestarted


def _positive(value: Any) -> int | None:
    number = int(value) if value not in (None, "") else 0
    return number if number > 0 else None


class Tasks:
    def __init__(self, site: MoodleSite) -> None:
        self._site = site
        self._db = site.db

    def cron_heartbeat(self) -> CronHeartbeat:
        settings = self._site.settings
        scheduled = self._db.table("task_scheduled")
        newest = self._db.scalar(
            sa.select(sa.func.max(scheduled.c.lastruntime)),
            "tasks: newest scheduled task run (cron heartbeat fallback)",
        )
        return CronHeartbeat(
            lastcronstart=_positive(settings.int("lastcronstart", "tool_task")),
            lastcroninterval=_positive(settings.int("lastcroninterval", "tool_task")),
            last_task_run=_positive(newest),
        )

    def failing_scheduled(self) -> list[FailingTask]:
        """Enabled scheduled tasks with a fail delay, worst first."""
        scheduled = self._db.table("task_scheduled")
        rows = self._db.fetch_all(
            sa.select(scheduled.c.id, scheduled.c.classname, scheduled.c.faildelay)
            .where(scheduled.c.disabled == 0, scheduled.c.faildelay > 0)
            .order_by(scheduled.c.faildelay.desc(), scheduled.c.classname),
            "tasks: enabled scheduled tasks that are failing",
        )
        return [
            FailingTask("scheduled", str(row["classname"]), int(row["faildelay"]), int(row["id"]))
            for row in rows
        ]

    def failing_adhoc(self, limit: int = 100) -> list[FailingTask]:
        """Ad hoc tasks with a fail delay, worst first (bounded: the queue can be huge)."""
        adhoc = self._db.table("task_adhoc")
        rows = self._db.fetch_all(
            sa.select(adhoc.c.id, adhoc.c.classname, adhoc.c.faildelay)
            .where(adhoc.c.faildelay > 0)
            .order_by(adhoc.c.faildelay.desc(), adhoc.c.id)
            .limit(limit),
            "tasks: failing ad hoc tasks",
        )
        return [
            FailingTask("adhoc", str(row["classname"]), int(row["faildelay"]), int(row["id"]))
            for row in rows
        ]

    def failing_adhoc_max_faildelay(self) -> int:
        adhoc = self._db.table("task_adhoc")
        value = self._db.scalar(
            sa.select(sa.func.max(adhoc.c.faildelay)).where(adhoc.c.faildelay > 0),
            "tasks: largest ad hoc task fail delay",
        )
        return int(value or 0)

    def adhoc_queue(self) -> AdhocQueue:
        adhoc = self._db.table("task_adhoc")
        row = self._db.fetch_one(
            sa.select(sa.func.count().label("n"), sa.func.min(adhoc.c.nextruntime).label("oldest")),
            "tasks: ad hoc queue size and oldest due time",
        )
        count = int(row["n"] or 0) if row else 0
        oldest = row["oldest"] if row and count else None
        return AdhocQueue(count, None if oldest is None else int(oldest))

    @property
    def tracks_running_tasks(self) -> bool:
        """Whether this schema records running tasks (``timestarted``, 3.10/3.11 and later)."""
        return self._db.has_column("task_scheduled", "timestarted") and self._db.has_column(
            "task_adhoc", "timestarted"
        )

    def running_tasks(self) -> list[RunningTask]:
        """Scheduled and ad hoc tasks currently marked as running, longest first."""
        if not self.tracks_running_tasks:
            return []
        found: list[RunningTask] = []
        kinds: tuple[TaskKind, ...] = ("scheduled", "adhoc")
        for kind in kinds:
            table = self._db.table(f"task_{kind}")
            rows = self._db.fetch_all(
                sa.select(
                    table.c.id,
                    table.c.classname,
                    table.c.timestarted,
                    table.c.hostname,
                    table.c.pid,
                ).where(table.c.timestarted.is_not(None), table.c.timestarted > 0),
                f"tasks: running {kind} tasks",
            )
            found += [
                RunningTask(
                    kind,
                    int(row["id"]),
                    str(row["classname"]),
                    int(row["timestarted"]),
                    row["hostname"] or None,
                    _positive(row["pid"]),
                )
                for row in rows
            ]
        return sorted(found, key=lambda task: (task.timestarted, task.classname))
