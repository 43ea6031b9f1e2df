"""Operations checks follow Moodle's tool_task status checks; records named by outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_soc.checks import operations as checks
from moodle_soc.checks.context import ScanContext
from moodle_soc.policy import Policy
from moodle_soc.results import Severity, Status
from moodle_soc.synthetic.builder import SiteBuilder

PASS, FAIL, NA = Status.PASS, Status.FAIL, Status.NOT_APPLICABLE
HIGH, MED = Severity.HIGH, Severity.MEDIUM
NOW = 1795936000
HOUR = 3600
DAY = 86400
Expected = list[tuple[Status, Severity | None, str, str]]
Case = tuple[Callable[[SiteBuilder], Any], Expected]


def judge(check: Any, builder: SiteBuilder, make_site: Any, case: Case, config_php: str = ""):
    build, expected = case
    other = build(builder)  # a record may build a site of another release instead
    site_builder = other if isinstance(other, SiteBuilder) else builder
    site = make_site(site_builder, config_php=config_php or None)
    results = list(check(ScanContext(site, Policy())))
    assert [(r.status, r.severity, r.resource) for r in results] == [
        (status, severity, resource) for status, severity, resource, _ in expected
    ]
    for result, (*_, says) in zip(results, expected, strict=True):
        assert says in result.reason, result.reason


def cron(last: int | str, interval: int | str = 60) -> Callable[[SiteBuilder], None]:
    def build(b: SiteBuilder) -> None:
        b.setting("lastcronstart", last, "tool_task")
        b.setting("lastcroninterval", interval, "tool_task")

    return build


CRON: dict[str, Case] = {
    "cron_healthy": (lambda b: None, [(PASS, None, "site", "Cron last started 1 minute ago")]),
    "cron_never_ran": (
        cron(""),
        [(FAIL, HIGH, "site", "Cron has never run on this site (tool_task/lastcronstart is not")],
    ),
    "cron_late_by_minutes": (
        cron(NOW - 121),
        [(FAIL, MED, "site", "Cron last started 2 minutes (121 s) ago")],
    ),
    "cron_on_time_at_the_limit": (cron(NOW - 120), [(PASS, None, "site", "2 minutes ago")]),
    "cron_stopped_for_days": (
        cron(NOW - 3 * DAY),
        [(FAIL, HIGH, "site", "Cron last started 3 days ago")],
    ),
    "cron_infrequent": (
        cron(NOW - 30, interval=600),
        [(FAIL, MED, "site", "Cron runs infrequently: the last interval between runs")],
    ),
}


@pytest.mark.parametrize("record", CRON)
def test_cron_running(builder, make_site, record):
    judge(checks.cron_running, builder, make_site, CRON[record])


def test_cron_expected_frequency_comes_from_config_php(builder, make_site):
    case: Case = (cron(NOW - 600), [(PASS, None, "site", "expected every 15 minutes")])
    php = "<?php $CFG = new stdClass(); $CFG->expectedcronfrequency = 900;"
    judge(checks.cron_running, builder, make_site, case, config_php=php)


FAILING: dict[str, Case] = {
    "no_failing_tasks": (lambda b: None, [(PASS, None, "site", "No enabled scheduled task")]),
    "intermittent_failure": (
        lambda b: b.scheduled_task("\\core\\task\\a_task", faildelay=60),
        [
            (PASS, None, "task:\\core\\task\\a_task", "fail delay of 1 minute (an intermittent"),
            (PASS, None, "site", "1 task(s) are failing (\\core\\task\\a_task)"),
        ],
    ),
    "disabled_failing_task": (
        lambda b: b.scheduled_task("\\core\\task\\a_task", faildelay=DAY, disabled=1),
        [(PASS, None, "site", "No enabled scheduled task")],
    ),
    "repeatedly_failing_task": (
        lambda b: b.scheduled_task("\\core\\task\\a_task", faildelay=600),
        [
            (FAIL, None, "task:\\core\\task\\a_task", "10 minutes (repeated failures)."),
            (FAIL, None, "site", "the largest fail delay is 10 minutes"),
        ],
    ),
    "failing_for_hours": (
        lambda b: (
            b.scheduled_task("\\core\\task\\b_task", faildelay=60),
            b.adhoc_task("\\core\\task\\adhoc_task", nextruntime=NOW, faildelay=5 * HOUR),
        ),
        [
            (PASS, None, "task:\\core\\task\\b_task", "Scheduled task \\core\\task\\b_task"),
            (FAIL, HIGH, "task:\\core\\task\\adhoc_task", "Ad hoc task 1 (\\core\\task\\adhoc"),
            (FAIL, HIGH, "site", "2 task(s) are failing"),
        ],
    ),
}


@pytest.mark.parametrize("record", FAILING)
def test_scheduled_tasks_not_failing(builder, make_site, record):
    judge(checks.scheduled_tasks_not_failing, builder, make_site, FAILING[record])


QUEUE: dict[str, Case] = {
    "empty_queue": (lambda b: None, [(PASS, None, "site", "The ad hoc task queue is empty.")]),
    "queue_due_soon": (
        lambda b: b.adhoc_task("\\core\\task\\a", nextruntime=NOW + 60),
        [(PASS, None, "site", "holds 1 task(s); no task is overdue yet")],
    ),
    "queue_within_warning": (
        lambda b: b.adhoc_task("\\core\\task\\a", nextruntime=NOW - 600),
        [(PASS, None, "site", "due for 10 minutes (Moodle warns after 10 minutes")],
    ),
    "stale_queue": (
        lambda b: b.adhoc_task("\\core\\task\\a", nextruntime=NOW - 601),
        [(FAIL, None, "site", "due for 10 minutes (601 s)")],
    ),
    "queue_stuck_for_hours": (
        lambda b: b.adhoc_task("\\core\\task\\a", nextruntime=NOW - 5 * HOUR),
        [(FAIL, HIGH, "site", "due for 5 hours")],
    ),
}


@pytest.mark.parametrize("record", QUEUE)
def test_adhoc_queue_healthy(builder, make_site, record):
    judge(checks.adhoc_queue_healthy, builder, make_site, QUEUE[record])


LONG: dict[str, Case] = {
    "nothing_running": (lambda b: None, [(PASS, None, "site", "No task has been running")]),
    "task_running_briefly": (
        lambda b: b.scheduled_task("\\core\\task\\a_task", timestarted=NOW - HOUR),
        [(PASS, None, "site", "longer than 12 hours.")],
    ),
    "long_running_task": (
        lambda b: b.scheduled_task("\\core\\task\\a_task", timestarted=NOW - 13 * HOUR),
        [(FAIL, None, "task:\\core\\task\\a_task", "has been running for 13 hours since")],
    ),
    "hung_adhoc_task": (
        lambda b: b.adhoc_task(
            "\\core\\task\\b", nextruntime=NOW - 2 * DAY, timestarted=NOW - 2 * DAY
        ),
        [(FAIL, HIGH, "task:\\core\\task\\b", "The adhoc task \\core\\task\\b has been running")],
    ),
    "legacy_site_long_running_task": (
        lambda b: (
            site := SiteBuilder(release="4.1"),
            site.scheduled_task("\\core\\task\\a", timestarted=NOW - 13 * HOUR),
        )[0],
        [(FAIL, None, "task:\\core\\task\\a", "Moodle releases before 4.3 have no such status")],
    ),
    "site_without_running_task_columns": (
        lambda b: SiteBuilder(release="3.9"),
        [(NA, None, "site", "do not record running tasks (no timestarted column).")],
    ),
}


@pytest.mark.parametrize("record", LONG)
def test_no_long_running_tasks(builder, make_site, record):
    judge(checks.no_long_running_tasks, builder, make_site, LONG[record])
