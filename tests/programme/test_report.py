"""The readiness report: every part an executive reads, the band's guidance, hostile text kept
as text, and a PDF that renders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from moodle_soc import api
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import load_catalogue
from moodle_soc.programme.guidance import load_guidance

AS_OF = datetime(2026, 11, 29, 12, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


def test_the_guidance_covers_every_band_and_checklist_item() -> None:
    guidance = load_guidance()
    assert set(guidance.bands) == {"3.9-3.11", "4.0-4.2", "4.3+"}
    assert set(guidance.items) == {item.id for item in load_catalogue().readiness}
    band = guidance.band("3.9-3.11")
    assert band is not None and any("No core multi-factor" in t for t in band.limits)
    assert guidance.band("2.7") is None


@pytest.fixture
def report(store: EvidenceStore, scans: Any) -> Any:
    store_run(store, scans.acme[-1])
    api.add_exception(
        store, site="Acme", check="authentication.mfa_enabled", reason="Rollout in Q1.",
        owner="IT", approver=HOSTILE, approved_at=date(2026, 11, 1), expires=date(2027, 3, 31),
        created_by="cco", now=datetime(2026, 11, 2, tzinfo=UTC),
    )  # fmt: skip
    return api.readiness_report(store, site="Acme", as_of=AS_OF)


def test_the_report_model_holds_every_part(report: Any) -> None:
    assert report.band is not None and report.band.band == "4.3+"
    assert len(report.matrix) == 7
    assert report.matrix[0].moodle_core == "Nothing: no database shows it."
    assert report.top_gaps and report.top_gaps[0].priority == "critical"
    assert {g.kind for g in report.top_gaps} <= {"check", "evidence"}
    assert all(g.owner in ("client", "hosting", "moodle_core") for g in report.top_gaps)
    (active,) = report.open_exceptions
    assert active.exception.approver == HOSTILE
    assert report.failing_checks > 0


def test_the_html_shows_every_section_and_escapes_hostile_text(report: Any) -> None:
    html = api.readiness_report_html(report)
    for heading in ("1. Scope", "2. Score per category", "3. Readiness checklist",
                    "4. Top gaps", "5. Shared responsibility", "6. Manual evidence calendar",
                    "7. Open exceptions (accepted risks)"):  # fmt: skip
        assert heading in html
    assert "Formula: score = met / (criteria - not applicable)" in html
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "No scope decided yet" in html
    assert "Moodle 4.3 and later" in html


def test_the_pdf_renders(report: Any) -> None:
    pdf = api.readiness_report_pdf(report)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000


def test_the_export_package_carries_the_readiness_report_and_answers(
    store: EvidenceStore, scans: Any, tmp_path: Any
) -> None:
    import zipfile

    store_run(store, scans.acme[-1])
    api.add_exception(
        store, site="Acme", check="authentication.mfa_enabled", reason="Rollout in Q1.",
        owner="IT", approver="CISO Jane", approved_at=date(2026, 11, 1),
        expires=date(2027, 3, 31), created_by="cco", now=datetime(2026, 11, 2, tzinfo=UTC),
    )  # fmt: skip
    package = tmp_path / "package.zip"
    api.export_package(store, site="Acme", start=date(2026, 11, 1), end=date(2026, 11, 30),
                       output=package)  # fmt: skip
    with zipfile.ZipFile(package) as archive:
        html = archive.read("report/readiness-report.html").decode()
        pdf = archive.read("report/readiness-report.pdf")
        answers = archive.read("report/questionnaire-answers.csv").decode()
    assert "7. Open exceptions (accepted risks)" in html and "CISO Jane" in html
    assert pdf.startswith(b"%PDF-")
    assert answers.startswith("Topic,Question,Answer,Statement,Evidence cited")
    assert api.verify_package(package).problem is None
