"""One Jinja environment and one PDF renderer for every page; templates never trust data."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from moodle_soc.evidence.periods.timeline import RunView, build_period_report
from moodle_soc.models.period import DayStatus, PeriodReport
from moodle_soc.models.records import SiteRef
from moodle_soc.reports.pdf import html_to_pdf
from moodle_soc.reports.period import render_period_html
from moodle_soc.reports.templating import environment, timeline_segments

SRC = Path(__file__).resolve().parents[2] / "src" / "moodle_soc"
TEMPLATES = SRC / "reports" / "templates"
HOSTILE = "<script>alert(1)</script>\x1b[2J"
START = date(2026, 3, 1)


def test_the_environment_is_shared_and_autoescapes() -> None:
    env = environment()

    assert environment() is env
    assert env.from_string("{{ x }}").render(x=HOSTILE).startswith("&lt;script&gt;")


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.j2")))
def test_every_template_loads_through_it(name: str) -> None:
    assert environment().get_template(name).name == name


def test_no_other_module_builds_a_jinja_environment_or_imports_weasyprint() -> None:
    builds, prints = [], []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bEnvironment\(", text):
            builds.append(path.relative_to(SRC).as_posix())
        if re.search(r"^\s*(from|import) weasyprint", text, re.MULTILINE):
            prints.append(path.relative_to(SRC).as_posix())

    assert builds == ["reports/templating.py"]
    assert prints == ["reports/pdf.py"]


def _report(site_name: str = HOSTILE) -> PeriodReport:
    def run(seq: int, day: int, verdict: DayStatus) -> RunView:
        moment = datetime.combine(START + timedelta(days=day), datetime.min.time(), UTC)
        meta = {"a.check_ok": ("A check", "a", "high")}
        return RunView(seq, f"{seq:064x}", moment, {"a.check_ok": verdict}, {}, meta)

    site = SiteRef(key="k" * 40, name=site_name, wwwroot="https://moodle.example.edu")
    runs = [run(1, 0, "pass"), run(2, 1, "pass"), run(3, 2, "fail"), run(4, 3, "pass")]
    end = START + timedelta(days=4)
    return build_period_report(
        site, runs, START, end, generated_at=datetime(2026, 3, 6, tzinfo=UTC)
    )


def test_the_period_page_renders_the_model_escaped() -> None:
    html = render_period_html(_report())

    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'title="2026-03-03 to 2026-03-03: fail">F</span>' in html


def test_a_timeline_becomes_one_segment_per_change_of_status() -> None:
    (control,) = _report().controls

    segments = timeline_segments(control.timeline)

    assert [(s["status"], s["days"], s["width"]) for s in segments] == [
        ("pass", 2, 40.0), ("fail", 1, 20.0), ("pass", 1, 20.0), ("unknown", 1, 20.0),
    ]  # fmt: skip


PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_the_pdf_is_deterministic_and_loads_only_inline_data(tmp_path: Path) -> None:
    local = tmp_path / "pixel.png"
    local.write_bytes(PIXEL)
    inline = "data:image/png;base64," + base64.b64encode(PIXEL).decode()

    def page(src: str) -> str:
        return f'<html><body><p>Period report</p><img src="{src}" width="9"></body></html>'

    outside, embedded = html_to_pdf(page(local.as_uri())), html_to_pdf(page(inline))

    assert outside.startswith(b"%PDF") and outside == html_to_pdf(page(local.as_uri()))
    assert b"/Image" not in outside and b"/Image" in embedded


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("lastaccess", 1795936000, "2026-11-29 07:06 UTC (1795936000)"),
        ("timemodified", 1795936000, "2026-11-29 07:06 UTC (1795936000)"),
        ("validuntil", 1795936000, "2026-11-29 07:06 UTC (1795936000)"),
        ("lastaccess", 0, "0"),  # never: not a date
        ("count", 1795936000, "1795936000"),  # not a time-like key
        ("timeout", True, "true"),
    ],
)
def test_observed_moodle_times_are_shown_as_dates_with_the_raw_value(
    key: str, value: object, shown: str
) -> None:
    from moodle_soc.reports.templating import observed_values

    (row,) = observed_values({key: value})
    assert row.text == shown
