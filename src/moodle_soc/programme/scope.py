"""The audit scope: which SOC 2 categories, whether SOC 1 applies, hosting model, report type.

Decided from the questionnaire's answers (a YAML file or the interactive prompts), with the
site's payment records as the default for "does the site take payments". The decision is
stored as evidence (``RecordKind.READINESS_SCOPE``); the latest one is the scope in force.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.programme import (
    QUESTIONS,
    ReadinessScope,
    ScopeAnswers,
    ScopeDecision,
)
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord

#: Each optional SOC 2 category and the answer that brings it into scope.
CATEGORY_ANSWERS = {
    "A": ("availability_commitments", "availability is committed to customers (an SLA)"),
    "C": ("confidential_data", "the site holds information designated confidential"),
    "PI": ("processes_transactions", "customers rely on transactions it processes"),
    "P": ("personal_information", "it collects personal information under a privacy notice"),
}
SOC1_ANSWERS = (
    ("takes_payments", "the site takes payments"),
    ("revenue_recognition", "activity on it is tied to revenue recognition"),
    ("erp_integration", "it is integrated with accounting or ERP systems"),
    ("customers_under_financial_audit", "customers rely on it for their financial audit"),
)
ENUMS = {
    "hosting_model": ("self-hosted", "managed-carve-out", "managed-inclusive"),
    "report_type": ("type1", "type2"),
}
OPTIONAL = {"subservice_organisation", "takes_payments"}
KEYS = (*QUESTIONS, "hosting_model", "report_type", "period", "subservice_organisation")


def read_answers(path: Path) -> dict[str, Any]:
    """The answers file as a mapping (not yet validated); clear errors for what cannot load."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"Cannot read answers file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise BadInputError(f"Answers file {path} is not UTF-8 text.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise BadInputError(f"Answers file {path} is not valid YAML{where}.") from None
    if not isinstance(data, dict):
        raise BadInputError(f"Answers file {path} must be a YAML mapping of answers.")
    return data


def answers_from(
    data: dict[str, Any], source: str, payment_records: int | None, *, site_read: bool
) -> ScopeAnswers:
    """Validate raw answers; ``takes_payments`` defaults to whether the site holds payment
    records (``site_read``: the site was read; None records: it has no payment subsystem)."""
    if unknown := sorted(str(k) for k in data if k not in KEYS):
        raise BadInputError(
            f"{source}: unknown key {unknown[0]!r}; the keys are {', '.join(KEYS)}."
        )
    values = dict(data)
    if values.get("takes_payments") is None:
        if not site_read:
            raise BadInputError(
                f"{source}: takes_payments is missing and the site was not read to suggest it;"
                " answer it, or give --db/--config."
            )
        values["takes_payments"] = bool(payment_records)
    if missing := [k for k in KEYS if k not in values and k not in OPTIONAL]:
        raise BadInputError(f"{source}: {missing[0]} is missing (answer every question).")
    for key in QUESTIONS:
        if not isinstance(values[key], bool):
            raise BadInputError(f"{source}: {key} must be true or false, not {values[key]!r}.")
    for key, allowed in ENUMS.items():
        if values[key] not in allowed:
            raise BadInputError(
                f"{source}: {key} must be one of {', '.join(allowed)}, not {values[key]!r}."
            )
    start, end = parse_scope_period(values.pop("period"), str(values["report_type"]), source)
    try:
        return ScopeAnswers.model_validate({**values, "period_start": start, "period_end": end})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInputError(f"{source}: {where}: {first['msg']}.") from None


def parse_scope_period(value: object, report_type: str, source: str) -> tuple[date, date]:
    """``FROM..TO`` (a Type II period); a Type I report may give its one date."""
    text = value.isoformat() if isinstance(value, date) else str(value).strip()
    start_text, dots, end_text = text.partition("..")
    try:
        start = date.fromisoformat(start_text.strip())
        end = date.fromisoformat(end_text.strip()) if dots else start
    except ValueError:
        raise BadInputError(
            f"{source}: period {text!r} is not FROM..TO, such as 2026-01-01..2026-12-31."
        ) from None
    if end < start:
        raise BadInputError(f"{source}: period {text!r} ends before it starts.")
    if report_type == "type2" and end == start:
        raise BadInputError(
            f"{source}: a Type II report covers a period: give FROM..TO, not one date."
        )
    return start, end


def decide_scope(
    answers: ScopeAnswers,
    *,
    payment_records: int | None,
    decided_by: str,
    decided_at: datetime | None = None,
) -> ReadinessScope:
    """The categories and SOC 1 applicability the answers call for, each with its reason."""
    decisions = [ScopeDecision(id="CC", in_scope=True, reason="Security is always in scope.")]
    for category, (key, why) in CATEGORY_ANSWERS.items():
        yes = bool(getattr(answers, key))
        reason = f"In scope: {why}." if yes else f"Out of scope: the answers say {key} is false."
        decisions.append(ScopeDecision(id=category, in_scope=yes, reason=reason))
    reasons = [why for key, why in SOC1_ANSWERS if getattr(answers, key)]
    soc1 = bool(reasons)
    soc1_reason = (
        f"SOC 1 applies: {'; '.join(reasons)}."
        if soc1
        else "SOC 1 does not apply: no payments, revenue, ERP or customer financial audit."
    )
    if payment_records and not answers.takes_payments:
        soc1_reason += (
            f" Note: the site holds {payment_records} payment records although the answers"
            " say it takes no payments."
        )
    decisions.append(ScopeDecision(id="SOC1", in_scope=soc1, reason=soc1_reason))
    return ReadinessScope(
        answers=answers,
        soc2_categories=tuple(d.id for d in decisions if d.in_scope and d.id != "SOC1"),
        soc1=soc1,
        decisions=tuple(decisions),
        payment_records=payment_records,
        decided_by=decided_by,
        decided_at=decided_at or datetime.now(UTC),
    )


def store_scope(store: EvidenceStore, site: SiteRef, scope: ReadinessScope) -> StoredRecord:
    return store.append(
        site,
        RecordKind.READINESS_SCOPE,
        scope.model_dump(mode="json"),
        collected_at=scope.decided_at,
        effective_date=scope.decided_at.date(),
    )


def categories_out_of_scope(scope: ReadinessScope | None, *, soc1: bool = False) -> dict[str, str]:
    """SOC 2 categories (and, with ``soc1``, ``SOC1`` itself) the scope leaves out, each with
    its reason and who decided when."""
    if scope is None:
        return {}
    by = f"Decided by {scope.decided_by} on {scope.decided_at.date()}."
    return {
        d.id: f"{d.reason} {by}"
        for d in scope.decisions
        if not d.in_scope and (soc1 or d.id != "SOC1")
    }


def scope_in_force(
    store: EvidenceStore, site_key: str, at: datetime | None = None
) -> ReadinessScope | None:
    """The latest scope decided at or before ``at`` (default: the latest)."""
    records = store.records(site_key=site_key, kind=RecordKind.READINESS_SCOPE, collected_to=at)
    for record in reversed(records):
        payload = store.payload(record)
        if payload is None:
            continue
        try:
            return ReadinessScope.model_validate(payload)
        except ValidationError:
            raise BadInputError(
                f"Scope record {record.seq} does not have the shape this version expects."
            ) from None
    return None
