"""The answers sheet for security questionnaires: the common questions about a Moodle service
(``frameworks/questionnaire.yaml``) answered from the evidence, each answer citing the checks
of the latest scan and the manual evidence in force that it relies on.

``Yes`` only when every cited check passed and every cited piece of evidence is fresh;
``No`` when none did; ``Partly`` in between; ``Not evidenced`` when nothing cited is on record.
An accepted risk is not a pass.
"""

from __future__ import annotations

import csv
import functools
import io
from importlib.resources import files
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import Catalogue
from moodle_soc.models.programme import AnswerWord, QuestionnaireAnswer, ReadinessOverview
from moodle_soc.programme.controls import control_status, evidence_in_force
from moodle_soc.safety import neutralize_formula

COLUMNS = ("Topic", "Question", "Answer", "Statement", "Evidence cited")


class Question(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    question: str
    topic: str
    claim: str
    checks: tuple[str, ...]
    evidence: tuple[str, ...]


class _Questionnaire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    questions: tuple[Question, ...]


@functools.cache
def load_questions() -> tuple[Question, ...]:
    text = files("moodle_soc.frameworks").joinpath("questionnaire.yaml").read_text("utf-8")
    return _Questionnaire.model_validate(yaml.safe_load(text)).questions


def answer_questions(
    store: EvidenceStore, overview: ReadinessOverview, catalogue: Catalogue
) -> list[QuestionnaireAnswer]:
    checks = {c.id: c.status for c in overview.checks}
    on = overview.as_of.date()
    in_force = evidence_in_force(store, overview.site_key, on)
    run = (
        f"scan record {overview.latest_run} of {overview.latest_run_time:%Y-%m-%d}"
        if overview.latest_run is not None and overview.latest_run_time is not None
        else None
    )
    answers = []
    for q in load_questions():
        citations: list[str] = []
        good = bad = 0
        for check_id in q.checks:
            status = checks.get(check_id)
            if status is None or run is None:
                citations.append(f"Check {check_id}: not in the latest scan.")
                continue
            citations.append(f"Check {check_id}: {status.replace('_', ' ')} in {run}.")
            if status == "pass":
                good += 1
            elif status in ("fail", "accepted", "error"):
                bad += 1
        for evidence_id in q.evidence:
            item = catalogue.manual_evidence[evidence_id]
            found = in_force.get(evidence_id)
            state, due = control_status(item.frequency, found, on)
            if found is None:
                citations.append(f"Evidence {evidence_id} ({item.title}): none on record.")
                bad += 1
                continue
            when = f", due again {due}" if due else ""
            citations.append(
                f"Evidence {evidence_id} ({item.title}): effective {found.effective}, evidence"
                f" record {found.record}, {state.replace('_', ' ')}{when}."
            )
            if state in ("ready", "due_soon"):
                good += 1
            else:
                bad += 1
        word: AnswerWord
        if good == 0 and bad == 0:
            word = "Not evidenced"
        elif bad == 0:
            word = "Yes"
        elif good == 0:
            word = "No"
        else:
            word = "Partly"
        statement = {
            "Yes": q.claim,
            "Partly": f"Partly: some of the evidence below shows that {q.claim[0].lower()}"
            f"{q.claim[1:-1]}; the rest is missing or failing.",
            "No": f"Not yet: the evidence below does not show that {q.claim[0].lower()}"
            f"{q.claim[1:-1]}.",
            "Not evidenced": "Nothing on record answers this yet.",
        }[word]
        answers.append(
            QuestionnaireAnswer(
                id=q.id,
                topic=q.topic,
                question=q.question,
                answer=word,
                statement=statement,
                citations=tuple(citations),
            )
        )
    return answers


def _rows(answers: list[QuestionnaireAnswer]) -> list[list[str]]:
    return [[a.topic, a.question, a.answer, a.statement, "\n".join(a.citations)] for a in answers]


def answers_csv(answers: list[QuestionnaireAnswer]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([[neutralize_formula(v) for v in row] for row in _rows(answers)])
    return out.getvalue()


def write_answers_xlsx(answers: list[QuestionnaireAnswer], path: Path, title: str) -> None:
    """An XLSX sheet; every cell is text (never a formula, whatever it starts with)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Answers"
    sheet.cell(row=1, column=1, value=title).font = Font(bold=True)
    widths = (22, 50, 14, 60, 80)
    for column, (name, width) in enumerate(zip(COLUMNS, widths, strict=True), start=1):
        cell = sheet.cell(row=3, column=column, value=name)
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = width
    for r, row in enumerate(_rows(answers), start=4):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    try:
        book.save(path)
    except OSError as exc:
        raise BadInputError(f"Cannot write {path}: {exc.strerror or exc}.") from None
