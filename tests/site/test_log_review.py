"""The review's queries push aggregation down: one grouped pass for every count, keyset pages
for detail rows, the primary key for id gaps; nothing loads the log."""

from __future__ import annotations

from datetime import date

from moodle_soc.site.log_review import LogReviewQueries
from moodle_soc.site.populations import Window
from moodle_soc.synthetic.builder import SiteBuilder

E = "\\core\\event\\"
D20 = 1795132800  # 2026-11-20 00:00 UTC
WEEK = Window.for_days(date(2026, 11, 20), date(2026, 11, 26))


def test_day_counts_are_one_grouped_query(builder: SiteBuilder, make_site) -> None:
    for n in range(3):
        builder.log(E + "user_loggedin", timecreated=D20 + n * 3600, userid=2)
    builder.log(E + "course_viewed", timecreated=D20 + 86400 + 5, userid=2, realuserid=3)
    builder.log(E + "user_loggedin", timecreated=D20 - 1, userid=2)  # before the week
    site = make_site(builder)
    before = site.query_count

    days = LogReviewQueries(site).day_counts(WEEK)

    assert [(d.day, d.eventname, d.rows, d.acting_as) for d in days] == [
        (D20, E + "user_loggedin", 3, 0),
        (D20 + 86400, E + "course_viewed", 1, 1),
    ]
    [query] = site.db.records[before:]
    assert "group by" in query.sql.lower() and query.purpose.startswith("logs: ")


def test_id_gaps_are_counted_exactly_and_located(builder: SiteBuilder, make_site) -> None:
    first = builder.log(E + "user_loggedin", timecreated=D20, userid=2)
    builder.reserve_ids("logstore_standard_log", 2)
    builder.log(E + "user_loggedin", timecreated=D20 + 1, userid=2)
    builder.reserve_ids("logstore_standard_log", 1)
    last = builder.log(E + "user_loggedin", timecreated=D20 + 2, userid=2)

    missing, gaps = LogReviewQueries(make_site(builder)).id_gaps(first, last)

    assert missing == 3
    assert [(g.after, g.before, g.missing) for g in gaps] == [
        (first, first + 3, 2),
        (first + 3, last, 1),
    ]


def test_no_gap_needs_only_the_count(builder: SiteBuilder, make_site) -> None:
    first = builder.log(E + "user_loggedin", timecreated=D20, userid=2)
    last = builder.log(E + "user_loggedin", timecreated=D20 + 1, userid=2)
    site = make_site(builder)
    before = site.query_count

    assert LogReviewQueries(site).id_gaps(first, last) == (0, [])
    assert site.query_count == before + 1


def test_failed_logins_stream_in_keyset_pages(builder: SiteBuilder, make_site) -> None:
    for n in range(12):
        builder.log(E + "user_login_failed", timecreated=D20 + n, ip="192.0.2.1",
                    other={"username": f"u{n}", "reason": 3})  # fmt: skip
    site = make_site(builder)
    queries = LogReviewQueries(site, chunk_size=5)

    days = queries.day_counts(WEEK)
    ids = (days[0].first_id, days[-1].last_id)
    before = site.query_count
    found = [(f.username, f.reason) for f in queries.failed_logins(WEEK, ids)]

    assert found == [(f"u{n}", 3) for n in range(12)]
    pages = site.db.records[before:]
    assert len(pages) == 3 and all("limit" in p.sql.lower() for p in pages)
    assert "id >" in pages[1].sql.lower()
