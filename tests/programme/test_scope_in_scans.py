"""The readiness scope applies to every scan judged with its store: categories the scope
leaves out are marked out of scope (with the decision's reason and who took it) in the run's
summary and in the terminal, HTML and JSON reports, their checks keep their honest statuses,
and the overall score counts only the categories in scope."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from moodle_soc import api
from moodle_soc.checks.scoring import check_verdicts, weighted_score
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import load_catalogue
from moodle_soc.models.run import AuditRun
from moodle_soc.reports import render_terminal
from moodle_soc.reports.html import render_html
from moodle_soc.reports.json_report import render_json
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.builder import SiteBuilder

ANSWERS = {
    "hosted_for_customers": True, "availability_commitments": False,
    "confidential_data": True, "processes_transactions": False,
    "personal_information": False, "takes_payments": False, "revenue_recognition": False,
    "erp_integration": False, "customers_under_financial_audit": False,
    "hosting_model": "self-hosted", "report_type": "type2", "period": "2026-01-01..2026-12-31",
}  # fmt: skip
AVAILABILITY = (
    "Out of scope: the answers say availability_commitments is false. Decided by cco on 2026-10-02."
)


def scan(store: EvidenceStore, make_site: Any, day: str) -> AuditRun:
    moment = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    site: MoodleSite = make_site(SiteBuilder(), audit_time=moment)
    kept, store.clock = store.clock, lambda: moment + timedelta(minutes=1)
    try:
        with site:
            return api.judge_site(site, store=store)
    finally:
        store.clock = kept


def test_a_scan_with_a_scoped_store_marks_categories_out_of_scope_and_scores_the_rest(
    store: EvidenceStore, make_site: Any
) -> None:
    before = scan(store, make_site, "2026-10-01")
    assert all(r.in_scope and r.scope_decision == "" for r in before.summary.readiness)
    api.decide_readiness_scope(
        store, answers=ANSWERS, site="Acme", decided_by="cco",
        now=datetime(2026, 10, 2, 9, tzinfo=UTC),
    )  # fmt: skip
    after = scan(store, make_site, "2026-10-03")
    readiness = {r.category: r for r in after.summary.readiness}
    assert {c for c, r in readiness.items() if not r.in_scope} == {"A", "PI", "P"}
    assert readiness["A"].scope_decision == AVAILABILITY
    assert readiness["CC"].in_scope and readiness["C"].in_scope
    # Honest statuses stay: the same findings, the same per-category counts.
    assert after.summary.by_status == before.summary.by_status
    for old, new in zip(before.summary.readiness, after.summary.readiness, strict=True):
        assert (old.criteria, old.met, old.gap, old.error, old.score) == (
            new.criteria, new.met, new.gap, new.error, new.score,
        )  # fmt: skip
    verdicts = check_verdicts(after.findings)
    expected = weighted_score(
        verdicts[check]
        for criterion in load_catalogue().soc2.criteria
        if criterion.category in ("CC", "C")
        for check in criterion.checks
        if check in verdicts
    )
    assert after.summary.overall_score == expected
    assert expected != before.summary.overall_score

    document = json.loads(render_json(after))
    category = next(r for r in document["summary"]["readiness"] if r["category"] == "A")
    assert (category["in_scope"], category["scope_decision"]) == (False, AVAILABILITY)
    html = render_html(after)
    assert "(out of scope)" in html and AVAILABILITY in html
    out = io.StringIO()
    render_terminal(after, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "A Availability (out of scope)" in text
    assert f"A out of scope: {AVAILABILITY}" in text
