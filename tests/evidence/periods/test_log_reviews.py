"""A signed-off log review is evidence: stored with its hash and figures, listed in the period
report (which days were reviewed, by whom, when, and which were not) and in the package."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from moodle_soc.api.evidence import export_package
from moodle_soc.api.logs import sign_off_log_review
from moodle_soc.errors import UsageError
from moodle_soc.evidence.periods.log_reviews import log_reviews_in_period, review_sha256
from moodle_soc.evidence.periods.timeline import period_report
from moodle_soc.evidence.store.canonical import content_hash
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.logs import LogReviewSignOff
from moodle_soc.models.period import DateRange
from moodle_soc.models.records import RecordKind
from moodle_soc.reports.period import render_period_html
from moodle_soc.synthetic.builder import SiteBuilder

SIGNED = datetime(2026, 11, 29, 10, tzinfo=UTC)
D20 = 1795132800  # 2026-11-20


def _signed(builder: SiteBuilder, make_site, store: EvidenceStore, start: date, end: date):
    site = make_site(builder)
    return sign_off_log_review(
        site, start, end, reviewer="  Sam   Reviewer ", statement="Reviewed; nothing to act on.",
        store=store, signed_at=SIGNED,
    )  # fmt: skip


def test_the_sign_off_stores_the_review_its_hash_and_figures(
    builder: SiteBuilder, make_site, sqlite_store: EvidenceStore
) -> None:
    builder.log("\\core\\event\\user_login_failed", timecreated=D20, ip="192.0.2.1",
                other={"username": "x", "reason": 3})  # fmt: skip

    done = _signed(builder, make_site, sqlite_store, date(2026, 11, 20), date(2026, 11, 26))

    assert done.record.kind == RecordKind.LOG_REVIEW
    assert done.record.effective_date == date(2026, 11, 26)
    stored = LogReviewSignOff.model_validate(sqlite_store.payload(done.record))
    assert stored.reviewer == "Sam Reviewer" and stored.signed_at == SIGNED
    assert stored.review_sha256 == review_sha256(done.review) == content_hash(stored.review)
    assert stored.figures["failed_logins"] == 1
    assert stored.review["period"] == {"from": "2026-11-20", "to": "2026-11-26"}


@pytest.mark.parametrize(
    ("reviewer", "statement", "message"),
    [(" ", "ok", "reviewer's name"), ("Sam", "  ", "needs a statement")],
)
def test_a_sign_off_needs_a_reviewer_and_a_statement(
    builder: SiteBuilder, make_site, sqlite_store: EvidenceStore, reviewer: str, statement: str,
    message: str,
) -> None:  # fmt: skip
    with pytest.raises(UsageError, match=message):
        sign_off_log_review(make_site(builder), reviewer=reviewer, statement=statement,
                            store=sqlite_store)  # fmt: skip
    assert sqlite_store.records() == []


def test_the_period_report_shows_reviewed_and_unreviewed_days(
    builder: SiteBuilder, make_site, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    done = _signed(builder, make_site, sqlite_store, date(2026, 11, 20), date(2026, 11, 26))
    key = done.record.site_key

    report = period_report(sqlite_store, key, date(2026, 11, 16), date(2026, 11, 29))

    [summary] = report.log_reviews
    assert (summary.start, summary.end, summary.reviewer) == (
        date(2026, 11, 20),
        date(2026, 11, 26),
        "Sam Reviewer",
    )
    assert report.logs_unreviewed == [
        DateRange(start=date(2026, 11, 16), end=date(2026, 11, 19), days=4),
        DateRange(start=date(2026, 11, 27), end=date(2026, 11, 29), days=3),
    ]
    assert log_reviews_in_period(sqlite_store, key, date(2026, 11, 27), date(2026, 11, 29)) == []
    html = render_period_html(report)
    assert "Audit-log reviews in the period" in html and "Sam Reviewer" in html
    assert "2026-11-27 to 2026-11-29 (3 days)" in html

    package = tmp_path / "package.zip"
    export_package(sqlite_store, site=key, start=date(2026, 11, 16), end=date(2026, 11, 29),
                   output=package)  # fmt: skip
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        page = archive.read("report/period-report.html").decode()
        manifest = json.loads(archive.read("manifest.json"))
        [entry] = manifest["records"]
        stored = json.loads(archive.read(entry["file"]))
    assert "Sam Reviewer" in page and "records/1.json" in names
    assert entry["kind"] == "log_review" and entry["record_hash"] == done.record.record_hash
    assert json.dumps(stored).count(done.signed.review_sha256) >= 1
