"""Tasks reads the cron heartbeat, failing, queued and running tasks as Moodle's checks do."""

from __future__ import annotations

from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000


def test_heartbeat_of_a_fresh_install(builder, make_site):
    beat = make_site(builder).tasks.cron_heartbeat()
    assert beat.lastcronstart == NOW - 60 and beat.lastcroninterval == 60
    assert beat.last_task_run == NOW - 300 and not beat.never_ran


def test_heartbeat_falls_back_to_the_newest_task_run(builder, make_site):
    builder.setting("lastcronstart", "", "tool_task")
    beat = make_site(builder).tasks.cron_heartbeat()
    assert beat.lastcronstart is None and beat.last_start == NOW - 300


def test_failing_scheduled_tasks_skip_disabled_ones(builder, make_site):
    builder.scheduled_task("\\core\\task\\a_task", faildelay=600)
    builder.scheduled_task("\\core\\task\\b_task", faildelay=60)
    builder.scheduled_task("\\core\\task\\off_task", faildelay=86400, disabled=1)
    builder.adhoc_task("\\core\\task\\adhoc", nextruntime=NOW, faildelay=7200)
    tasks = make_site(builder).tasks

    assert [(t.classname, t.faildelay) for t in tasks.failing_scheduled()] == [
        ("\\core\\task\\a_task", 600),
        ("\\core\\task\\b_task", 60),
    ]
    assert tasks.failing_adhoc_max_faildelay() == 7200
    assert [(t.kind, t.id) for t in tasks.failing_adhoc()] == [("adhoc", 1)]


def test_adhoc_queue_size_and_age(builder, make_site):
    builder.adhoc_task("\\core\\task\\one", nextruntime=NOW - 900)
    builder.adhoc_task("\\core\\task\\two", nextruntime=NOW + 60)
    site = make_site(builder)

    queue = site.tasks.adhoc_queue()

    assert (queue.count, queue.age(site.now)) == (2, 900)


def test_empty_adhoc_queue_has_no_age(builder, make_site):
    queue = make_site(builder).tasks.adhoc_queue()
    assert (queue.count, queue.oldest_nextruntime, queue.age(NOW)) == (0, None, 0)


def test_running_tasks_from_both_tables_oldest_first(builder, make_site):
    builder.scheduled_task("\\core\\task\\slow_task", timestarted=NOW - 100)
    builder.adhoc_task("\\core\\task\\adhoc", nextruntime=NOW - 500, timestarted=NOW - 400)
    builder.adhoc_task("\\core\\task\\zero", nextruntime=NOW, timestarted=0)
    site = make_site(builder)

    running = site.tasks.running_tasks()

    assert [(t.kind, t.classname, t.runtime(site.now)) for t in running] == [
        ("adhoc", "\\core\\task\\adhoc", 400),
        ("scheduled", "\\core\\task\\slow_task", 100),
    ]


def test_running_tasks_are_feature_detected(make_site):
    site = make_site(SiteBuilder(release="3.9"))
    assert not site.tasks.tracks_running_tasks and site.tasks.running_tasks() == []
