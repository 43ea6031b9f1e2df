"""The log review page: a bar chart per daily count that is not all zero, inline SVG only."""

from __future__ import annotations

from datetime import date

from moodle_soc.api.logs import log_review
from moodle_soc.reports.logs import bar_chart, render_logs_html
from moodle_soc.synthetic.builder import SiteBuilder

D20 = 1795132800  # 2026-11-20 00:00 UTC


def test_the_page_draws_the_daily_counts_that_are_not_all_zero(
    builder: SiteBuilder, make_site
) -> None:
    for day in range(3):
        for _ in range(day + 1):
            builder.log("\\core\\event\\user_loggedin", timecreated=D20 + day * 86400, userid=2)

    page = render_logs_html(log_review(make_site(builder), date(2026, 11, 20), date(2026, 11, 22)))

    assert page.count("<svg") == 2  # all events and successful logins; nothing else happened
    assert 'aria-label="Successful logins: 6 in 3 day(s), at most 3 a day."' in page
    assert "<title>2026-11-22: 3</title>" in page and "<script" not in page


def test_a_chart_escapes_its_text() -> None:
    svg = str(bar_chart("<b>x</b>", ["2026-11-20"], [0]))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert 'height="0.0"' in svg  # an all-zero series draws flat bars, no division by zero
