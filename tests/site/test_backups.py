"""Backups summarises backup_courses by status and lists failing and stale courses."""

from __future__ import annotations

NOW = 1795936000
DAY = 86400


def _courses(builder):
    ids = {}
    for name, status, end in (
        ("OK1", "1", NOW - DAY),
        ("OK2", "1", NOW - 20 * DAY),
        ("BAD", "0", NOW - 2 * DAY),
        ("HALF", "2", NOW - 3 * DAY),
        ("WARN", "4", NOW - 4 * DAY),
        ("SKIP", "3", NOW - 5 * DAY),
    ):
        ids[name], _context = builder.course(name)
        builder.backup_course(ids[name], laststatus=status, laststarttime=end - 60, lastendtime=end)
    return ids


def test_summary_counts_statuses_and_newest_success(builder, make_site):
    _courses(builder)
    summary = make_site(builder).backups.course_status_summary()

    assert summary.by_status == {"0": 1, "1": 2, "2": 1, "3": 1, "4": 1}
    assert (summary.total, summary.failing, summary.last_success_end) == (6, 3, NOW - DAY)
    assert summary.distribution() == {
        "error": 1,
        "ok": 2,
        "unfinished": 1,
        "skipped": 1,
        "warning": 1,
    }


def test_summary_of_no_rows_is_empty(builder, make_site):
    summary = make_site(builder).backups.course_status_summary()
    assert (summary.total, summary.last_success_end) == (0, None)


def test_failing_courses_are_error_unfinished_or_warning_and_bounded(builder, make_site):
    ids = _courses(builder)
    backups = make_site(builder).backups

    failing = backups.failing_courses()

    assert [(c.shortname, c.status_word) for c in failing] == [
        ("BAD", "error"),
        ("HALF", "unfinished"),
        ("WARN", "warning"),
    ]
    assert failing[0].courseid == ids["BAD"]
    assert len(backups.failing_courses(limit=2)) == 2


def test_stale_courses_are_successful_but_old(builder, make_site):
    _courses(builder)
    stale = make_site(builder).backups.stale_courses(NOW - 7 * DAY)
    assert [c.shortname for c in stale] == ["OK2"]
