"""The period trend chart: inline SVG of each live run's readiness and failing checks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from moodle_soc.models.period import RunRef
from moodle_soc.reports.charts import period_trend_svg

SVG = "{http://www.w3.org/2000/svg}"


def _run(seq: int, day: int, score: float | None, failed: int) -> RunRef:
    moment = datetime(2026, 11, day, 9, tzinfo=UTC)
    return RunRef(seq=seq, record_hash=f"{seq:064x}", audit_time=moment, day=moment.date(),
                  failed_checks=failed, score=score)  # fmt: skip


def test_no_live_run_draws_no_chart() -> None:
    assert period_trend_svg([]) == ""


def test_one_line_per_series_with_a_point_and_tooltip_per_run() -> None:
    runs = [_run(1, 1, 40.0, 12), _run(2, 8, 55.5, 9), _run(3, 15, None, 7), _run(4, 22, 80, 3)]
    svg = ET.fromstring(str(period_trend_svg(runs)))
    assert svg.get("role") == "img"
    label = str(svg.get("aria-label"))
    assert label == "Trend over 4 live run(s): readiness 40.0% to 80.0%, failing checks 12 to 3."
    lines = svg.findall(f"{SVG}polyline")
    assert [len(str(line.get("points")).split()) for line in lines] == [3, 4]  # no score: no dot
    tips = [str(c.findtext(f"{SVG}title")) for c in svg.findall(f"{SVG}circle")]
    assert "Run #2, 2026-11-08 09:00 UTC: readiness 55.5%" in tips
    assert "Run #3, 2026-11-15 09:00 UTC: failing checks 7" in tips
    texts = [t.text for t in svg.findall(f"{SVG}text")]
    assert {"0%", "50%", "100%", "0", "12", "2026-11-01", "2026-11-22"} <= set(texts)


def test_higher_scores_and_more_failures_are_drawn_higher() -> None:
    runs = [_run(1, 1, 20.0, 1), _run(2, 2, 90.0, 10)]
    svg = ET.fromstring(str(period_trend_svg(runs)))
    score, failing = (
        [tuple(map(float, p.split(","))) for p in str(line.get("points")).split()]
        for line in svg.findall(f"{SVG}polyline")
    )
    assert score[1][1] < score[0][1] and failing[1][1] < failing[0][1]  # SVG y grows downwards
    assert date(2026, 11, 1) == runs[0].day
