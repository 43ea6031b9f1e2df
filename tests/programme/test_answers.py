"""The answers sheet: every question cites real checks and evidence; answers follow the
evidence (Yes only when all of it holds); CSV and XLSX keep every value as text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from moodle_soc import api
from moodle_soc.checks.registry import all_checks
from moodle_soc.errors import UsageError
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import load_catalogue
from moodle_soc.programme.answers import COLUMNS, answers_csv, load_questions

AS_OF = datetime(2026, 11, 29, 12, tzinfo=UTC)


def test_every_question_cites_known_checks_and_evidence() -> None:
    questions = load_questions()
    assert [q.id for q in questions] == [
        "mfa", "access_reviews", "logging", "backups", "change_management",
        "vulnerability_management", "encryption_in_transit", "incident_response",
    ]  # fmt: skip
    checks = {spec.id for spec in all_checks()}
    evidence = set(load_catalogue().manual_evidence)
    for q in questions:
        assert set(q.checks) <= checks, q.id
        assert set(q.evidence) <= evidence, q.id
        assert q.checks or q.evidence
        assert q.claim.endswith(".") and q.question.endswith("?")


def by_id(store: EvidenceStore, day: datetime = AS_OF) -> dict[str, Any]:
    return {a.id: a for a in api.questionnaire_answers(store, site="Acme", as_of=day)}


def test_answers_follow_the_evidence_and_cite_it(
    store: EvidenceStore, scans: Any, tmp_path: Path
) -> None:
    stored = store_run(store, scans.acme[-1])
    answers = by_id(store)
    assert answers["incident_response"].answer == "No"  # nothing attached yet
    assert answers["incident_response"].citations[0] == (
        "Evidence incident_response_plan (Incident response plan): none on record."
    )
    mfa = answers["mfa"]
    assert mfa.answer == "No"
    assert mfa.citations[0] == (
        f"Check authentication.mfa_enabled: fail in scan record {stored.seq} of 2026-11-29."
    )
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(b"plan")
    for evidence in ("incident_response_plan", "incident_response_test", "incident_records"):
        api.attach_evidence(store, plan, site="Acme", control=evidence,
                            effective_date=date(2026, 11, 1), collected_by="cco")  # fmt: skip
    incident = by_id(store)["incident_response"]
    assert incident.answer == "Yes"
    assert incident.statement == (
        "A written incident response plan exists, is exercised, and incidents are recorded."
    )
    assert incident.citations[0].startswith(
        "Evidence incident_response_plan (Incident response plan): effective 2026-11-01,"
    )
    api.attach_evidence(store, plan, site="Acme", control="access_review_record",
                        effective_date=date(2026, 11, 1), collected_by="cco")  # fmt: skip
    assert by_id(store)["access_reviews"].answer == "Partly"
    # A year on, the annual plan and exercise are overdue (incident records are per event).
    later = by_id(store, datetime(2028, 1, 1, tzinfo=UTC))["incident_response"]
    assert later.answer == "Partly" and "overdue, due again 2027-11-02." in later.citations[0]


def test_csv_and_xlsx_keep_every_value_as_text(
    store: EvidenceStore, scans: Any, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    store_run(store, scans.acme[-1])
    answers = api.questionnaire_answers(store, site="Acme", as_of=AS_OF)
    hostile = answers[0].model_copy(update={"statement": '=HYPERLINK("http://x")'})
    rows = list(csv.reader(io.StringIO(answers_csv([hostile]))))
    assert tuple(rows[0]) == COLUMNS and rows[1][3] == '\'=HYPERLINK("http://x")'
    path = tmp_path / "answers.xlsx"
    api.write_questionnaire_answers([hostile, *answers[1:]], path, title="Acme")
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[3]] == list(COLUMNS)
    assert sheet.cell(row=4, column=4).value == '=HYPERLINK("http://x")'
    assert sheet.cell(row=4, column=4).data_type == "s"
    assert sheet.max_row == 3 + len(answers)
    api.write_questionnaire_answers(answers, tmp_path / "answers.csv")
    assert (tmp_path / "answers.csv").read_text(encoding="utf-8-sig").startswith("Topic,")
    with pytest.raises(UsageError, match=r"the answers sheet must end in \.csv or \.xlsx\."):
        api.write_questionnaire_answers(answers, tmp_path / "answers.pdf")
