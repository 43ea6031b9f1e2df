"""Logs answers from aggregates on the indexed timecreated column, never a full scan."""

from __future__ import annotations

NOW = 1795936000
LOGIN = "\\core\\event\\user_loggedin"
FAILED = "\\core\\event\\user_login_failed"


def test_bounds_of_an_empty_log_are_none(builder, make_site):
    bounds = make_site(builder).logs.standard_log_bounds()
    assert bounds.empty and bounds.oldest_iso is None and bounds.days_covered(NOW) is None


def test_bounds_give_oldest_and_newest_rows(builder, make_site):
    for days in (400, 3, 1):
        builder.log(LOGIN, timecreated=NOW - days * 86400, userid=2)
    site = make_site(builder)

    bounds = site.logs.standard_log_bounds()

    assert (bounds.oldest, bounds.newest) == (NOW - 400 * 86400, NOW - 86400)
    assert bounds.days_covered(site.now) == 400.0
    assert bounds.oldest_iso is not None and bounds.oldest_iso.startswith("2025-10-25")
    assert (
        "min(" in site.db.records[-1].sql.lower() and "where" not in site.db.records[-1].sql.lower()
    )


def test_event_counts_are_bounded_by_time_and_name(builder, make_site):
    builder.log(LOGIN, timecreated=NOW - 10, userid=2)
    builder.log(LOGIN, timecreated=NOW - 100 * 86400, userid=2)
    builder.log(FAILED, timecreated=NOW - 20)
    builder.log("\\core\\event\\course_viewed", timecreated=NOW - 5)
    site = make_site(builder)

    counts = site.logs.count_events([LOGIN, FAILED, "\\core\\event\\user_deleted"], NOW - 86400)

    assert counts == {LOGIN: 1, FAILED: 1, "\\core\\event\\user_deleted": 0}
    assert site.logs.count_since(NOW - 86400) == 3
    assert site.logs.count_events([], NOW) == {}
