"""Operations: cron runs and its tasks succeed, as Moodle's own tool_task status checks judge.

Each check follows Moodle's logic exactly; Moodle's warning/error/critical is our fail and
its ok/info our pass. Thresholds are Moodle's ``$CFG`` values (normally set in config.php).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from moodle_soc.checks.registry import check
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext

MINUTE = 60
HOUR = 3600
DAY = 86400
TASKS_PAGE = "Site administration > Server > Tasks"


def _duration(seconds: int) -> str:
    """``5 minutes``; exact seconds are added under a day when rounding hid them."""
    seconds = max(0, seconds)
    for size, unit in ((DAY, "day"), (HOUR, "hour"), (MINUTE, "minute")):
        if seconds >= size:
            amount = round(seconds / size, 1)
            shown = int(amount) if amount == int(amount) else amount
            text = f"{shown} {unit}{'' if shown == 1 else 's'}"
            exact = seconds < DAY and seconds % size
            return f"{text} ({seconds} s)" if exact else text
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@check(
    "operations.cron_running",
    severity=Severity.HIGH,
    title="Cron runs at the expected frequency",
    remediation=(
        "Run admin/cli/cron.php from the system scheduler every minute; Site administration >"
        f" Server > Tasks > Task processing and {TASKS_PAGE} > Running tasks show its state."
    ),
    moodle_check="tool_task_cronrunning",
)
def cron_running(scan: ScanContext) -> Iterator[Result]:
    """Without cron, log cleanup, backups, notifications and security tasks silently stop."""
    beat = scan.site.tasks.cron_heartbeat()
    expected = scan.site.settings.int("expectedcronfrequency", default=MINUTE)
    observed = {
        "tool_task/lastcronstart": beat.lastcronstart,
        "tool_task/lastcroninterval": beat.lastcroninterval,
        "max_task_scheduled_lastruntime": beat.last_task_run,
        "expectedcronfrequency": expected,
    }
    if beat.lastcronstart is None:
        # Moodle reads only lastcronstart: tasks run one by one (admin/cli/scheduled_task.php)
        # leave a lastruntime but no heartbeat, and Moodle still reports cron as never run.
        ran = (
            f"; a scheduled task last ran at {_when(beat.last_task_run)}, not from cron"
            if beat.last_task_run
            else ""
        )
        yield Result.failed(
            f"Cron has never run on this site (tool_task/lastcronstart is not set){ran}; it"
            f" should run every {_duration(expected)}.",
            observed=observed,
            severity=Severity.HIGH,
        )
        return
    delta = scan.site.now - beat.lastcronstart
    observed["seconds_since_last_start"] = delta
    started = f"tool_task/lastcronstart {_when(beat.lastcronstart)}"
    if delta > expected + MINUTE:
        yield Result.failed(
            f"Cron last started {_duration(delta)} ago ({started}); it should run every"
            f" {_duration(expected)}.",
            observed=observed,
            severity=Severity.HIGH if delta > DAY else Severity.MEDIUM,
        )
        return
    interval = beat.lastcroninterval or 0
    # Moodle 4.2+ adds a minute of slack to the interval too (earlier releases compared the
    # interval with the bare expected frequency); we follow the current rule.
    if interval > expected + MINUTE:
        yield Result.failed(
            f"Cron runs infrequently: the last interval between runs (tool_task/lastcroninterval)"
            f" was {_duration(interval)}; it should run every {_duration(expected)}.",
            observed=observed,
            severity=Severity.MEDIUM,
        )
        return
    yield Result.passed(
        f"Cron last started {_duration(delta)} ago ({started}); it is expected every"
        f" {_duration(expected)}.",
        observed=observed,
    )


@check(
    "operations.scheduled_tasks_not_failing",
    severity=Severity.MEDIUM,
    title="Scheduled and ad hoc tasks are not failing repeatedly",
    remediation=f"{TASKS_PAGE} > Task logs: read the failing task's output, fix the cause, then"
    f" clear its fail delay in {TASKS_PAGE} > Scheduled tasks.",
    moodle_check="tool_task_maxfaildelay",
)
def scheduled_tasks_not_failing(scan: ScanContext) -> Iterator[Result]:
    """A task that keeps failing means its control (cleanup, backup, sync) is not operating."""
    # Both lists come worst first, and the (bounded) ad hoc list always holds its worst task.
    failing = scan.site.tasks.failing_scheduled() + scan.site.tasks.failing_adhoc()
    worst = max((task.faildelay for task in failing), default=0)
    # Moodle: any failure is info; a fail delay over 5 minutes a warning, over 4 hours an error.
    for task in failing:
        label = (
            f"Ad hoc task {task.id} ({task.classname})"
            if task.kind == "adhoc"
            else f"Scheduled task {task.classname}"
        )
        persistent = task.faildelay > 5 * MINUTE
        verdict = "repeated failures" if persistent else "an intermittent failure"
        yield Result.pass_if(
            not persistent,
            f"{label} has a fail delay of {_duration(task.faildelay)} ({verdict}).",
            resource=f"task:{task.classname}",
            observed={"kind": task.kind, "classname": task.classname, "faildelay": task.faildelay},
            severity=Severity.HIGH if task.faildelay > 4 * HOUR else None,
        )
    if not failing:
        yield Result.passed("No enabled scheduled task or ad hoc task is failing.")
        return
    names = ", ".join(task.classname for task in failing[:10])
    yield Result.pass_if(
        worst <= 5 * MINUTE,
        f"{len(failing)} task(s) are failing ({names}); the largest fail delay is"
        f" {_duration(worst)}, and Moodle warns above 5 minutes.",
        observed={"failing": len(failing), "max_faildelay": worst},
        severity=Severity.HIGH if worst > 4 * HOUR else None,
    )


@check(
    "operations.adhoc_queue_healthy",
    severity=Severity.MEDIUM,
    title="The ad hoc task queue is processed promptly",
    remediation=f"Make sure cron runs and keeps up ({TASKS_PAGE} > Ad hoc tasks shows the queue).",
    moodle_check="tool_task_adhocqueue",
)
def adhoc_queue_healthy(scan: ScanContext) -> Iterator[Result]:
    """A stale ad hoc queue delays backups, deletions and privacy requests that wait in it."""
    queue = scan.site.tasks.adhoc_queue()
    warn = scan.site.settings.int("adhoctaskagewarn", default=10 * MINUTE)
    error = scan.site.settings.int("adhoctaskageerror", default=4 * HOUR)
    age = queue.age(scan.site.now)
    observed = {
        "count": queue.count,
        "max_age_seconds": age,
        "adhoctaskagewarn": warn,
        "adhoctaskageerror": error,
    }
    if queue.count == 0:
        yield Result.passed("The ad hoc task queue is empty.", observed=observed)
        return
    oldest = (
        f"its oldest task has been due for {_duration(age)}"
        if age > 0
        else "no task is overdue yet"
    )
    yield Result.pass_if(
        age <= warn,
        f"The ad hoc task queue holds {queue.count} task(s); {oldest} (Moodle warns after"
        f" {_duration(warn)} and errs after {_duration(error)}).",
        observed=observed,
        severity=Severity.HIGH if age > error else None,
    )


@check(
    "operations.no_long_running_tasks",
    severity=Severity.MEDIUM,
    title="No task has been running for too long",
    remediation=f"{TASKS_PAGE} > Running tasks: find why the task hangs (its log and the cron"
    " host and process shown there), then stop it and fix the cause.",
    moodle_check="tool_task_longrunningtasks",
)
def no_long_running_tasks(scan: ScanContext) -> Iterator[Result]:
    """A hung task blocks its own next runs and often holds locks other tasks need."""
    if not scan.site.tasks.tracks_running_tasks:
        yield Result.not_applicable(
            f"The task tables of this site ({scan.site.version.describe()}) do not record running"
            " tasks (no timestarted column)."
        )
        return
    warn = scan.site.settings.int("taskruntimewarn", default=12 * HOUR)
    error = scan.site.settings.int("taskruntimeerror", default=24 * HOUR)
    note = (
        ""
        if scan.site.version.has("long_running_task_check")
        else " (Moodle releases before 4.3 have no such status check; the task tables still tell)"
    )
    slow = [t for t in scan.site.tasks.running_tasks() if t.runtime(scan.site.now) > warn]
    for task in slow:
        runtime = task.runtime(scan.site.now)
        host = f" on {task.hostname}" if task.hostname else ""
        pid = f" (pid {task.pid})" if task.pid else ""
        yield Result.failed(
            f"The {task.kind} task {task.classname} has been running for {_duration(runtime)}"
            f" since {_when(task.timestarted)}{host}{pid}; Moodle warns after"
            f" {_duration(warn)}{note}.",
            resource=f"task:{task.classname}",
            observed={
                "kind": task.kind,
                "classname": task.classname,
                "timestarted": task.timestarted,
                "hostname": task.hostname,
                "pid": task.pid,
                "runtime_seconds": runtime,
            },
            severity=Severity.HIGH if runtime > error else None,
        )
    if not slow:
        yield Result.passed(
            f"No task has been running for longer than {_duration(warn)}{note}.",
            observed={"taskruntimewarn": warn, "taskruntimeerror": error},
        )
