"""The period report's PDF reads well: every page carries the document header (site, period,
generated at, tool version) and its page number; a long table's header repeats and no row is
split across pages; the trend chart is drawn."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest

from moodle_soc import __version__
from moodle_soc.evidence.periods.timeline import RunView, build_period_report
from moodle_soc.models.records import SiteRef
from moodle_soc.reports.pdf import html_to_pdf
from moodle_soc.reports.period import render_period_html

START = date(2026, 11, 1)
CHECKS = [f"area{n // 10}.control_number_{n:02d}_is_configured_safely" for n in range(60)]


def _report():  # type: ignore[no-untyped-def]
    runs = []
    for day in range(14):
        moment = datetime(2026, 11, 1, 9, tzinfo=UTC) + timedelta(days=day)
        verdicts = {c: ("fail" if (n + day) % 3 == 0 else "pass") for n, c in enumerate(CHECKS)}
        failing = {
            (c, "site"): ("high", f"{c} failed.") for c, v in verdicts.items() if v == "fail"
        }
        meta = {c: (f"Control {n} title that is long enough to wrap", c.split(".")[0], "high")
                for n, c in enumerate(CHECKS)}  # fmt: skip
        runs.append(RunView(day + 1, f"{day + 1:064x}", moment, verdicts, failing, meta,
                            recorded_at=moment, score=50.0 + day))  # fmt: skip
    site = SiteRef("k" * 32, "Acme Academy")
    generated = datetime(2026, 12, 1, tzinfo=UTC)
    return build_period_report(
        site, runs, START, START + timedelta(days=13), generated_at=generated
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    if shutil.which("pdftotext") is None:
        message = "pdftotext (poppler-utils, installed by scripts/setup) is missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    pdf = tmp_path_factory.mktemp("pdf") / "period.pdf"
    pdf.write_bytes(html_to_pdf(render_period_html(_report())))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    return [page for page in text.split("\f") if page.strip()]


def test_every_page_has_the_document_header_and_its_number(pages: list[str]) -> None:
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        flat = " ".join(page.split())
        assert "SOC 2 Type II period report · Acme Academy · 2026-11-01 to 2026-11-14" in flat
        assert f"moodle-soc {__version__}" in flat and "generated 2026-12-01 00:00 UTC" in flat
        assert f"Page {number} of {len(pages)}" in flat


def test_a_long_table_repeats_its_header_and_keeps_rows_whole(pages: list[str]) -> None:
    exceptions = [p for p in pages if "control_number_" in p and "Fixed on" in p]
    assert len(exceptions) >= 2  # the exceptions table runs over pages, its header on each
    assert all(re.search(r"Control\s+Severity\s+First", p) for p in exceptions)
    for page in pages:
        # A row split across pages would leave a check id on one page and its title alone at
        # the top of the next: every title on a page has its check id with it.
        for n in set(re.findall(r"Control (\d+) title", page)):
            assert f"control_number_{int(n):02d}_" in page, (n, page[:400])


def test_the_trend_chart_is_drawn(pages: list[str]) -> None:
    assert "100%" in pages[0] and "2026-11-01" in pages[0]
