"""The whole readiness programme on one day: scope, manual controls, the latest scan's checks,
the seven checklist items, a score per category and the exceptions on record.

Everything is read from the evidence store (scope, attachments, owner changes, exceptions, the
latest run collected on or before the day judged), so the overview of any past day can be
rebuilt from the chain.
"""

from __future__ import annotations

from datetime import datetime

from moodle_soc.evidence.store.runs import load_run
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import Catalogue, Criterion, Framework, ReadinessItem
from moodle_soc.models.programme import (
    CategoryScore,
    ChecklistEntry,
    CheckState,
    ExceptionView,
    ItemState,
    ManualControl,
    ReadinessOverview,
    ReadinessScope,
    ScopeView,
)
from moodle_soc.models.records import RecordKind, SiteRef
from moodle_soc.models.run import AuditRun
from moodle_soc.programme.controls import (
    evidence_in_force,
    manual_controls,
    owner_changes,
)
from moodle_soc.programme.exceptions import exceptions_on_record
from moodle_soc.programme.scope import scope_in_force

SCORE_FORMULA = (
    "score = met / (criteria - not applicable); a criterion is met when every check mapped to it"
    " passed in the latest scan and all its manual evidence is ready or due soon"
)
NEXT_DUE = 10
_FRESH = ("ready", "due_soon")


def readiness_overview(
    store: EvidenceStore, site: SiteRef, as_of: datetime, catalogue: Catalogue
) -> ReadinessOverview:
    on = as_of.date()
    scope = scope_in_force(store, site.key)  # the latest decision, whenever it was taken
    criteria = in_scope_criteria(catalogue, scope)
    evidence_ids = list(
        dict.fromkeys(
            [e for c in criteria for e in c.manual_evidence]
            + [e for item in catalogue.readiness for e in item.evidence]
        )
    )
    controls = manual_controls(
        catalogue,
        evidence_ids,
        evidence_in_force(store, site.key, on),
        owner_changes(store, site.key, on),
        on,
    )
    if scope is not None and scope.answers.hosting_model == "managed-carve-out":
        controls = [_carved_out(c, scope) if c.owner == "hosting" else c for c in controls]
    run, run_seq = latest_run(store, site.key, as_of)
    check_status = {c.id: c.status.value for c in run.checks} if run else {}
    by_id = {c.id: c for c in controls}
    checklist = [_checklist_entry(item, by_id, check_status) for item in catalogue.readiness]
    exceptions = [
        ExceptionView(exception=e.exception, state=e.state_at(as_of), revocation=e.revocation)
        for e in exceptions_on_record(store, site.key)
    ]
    dated = sorted((c for c in controls if c.due is not None and c.in_scope), key=_due_key)
    return ReadinessOverview(
        site=site.name,
        site_key=site.key,
        moodle_band=run.site.moodle_band if run else None,
        as_of=as_of,
        scope=_scope_view(scope) if scope else None,
        latest_run=run_seq,
        latest_run_time=run.audit_time if run else None,
        controls=tuple(controls),
        checks=tuple(CheckState(id=cid, status=status) for cid, status in check_status.items()),
        checklist=tuple(checklist),
        categories=tuple(_category_scores(catalogue, scope, by_id, check_status)),
        score_formula=SCORE_FORMULA,
        exceptions=tuple(exceptions),
        next_due=tuple(dated[:NEXT_DUE]),
    )


def in_scope_criteria(catalogue: Catalogue, scope: ReadinessScope | None) -> list[Criterion]:
    """SOC 2 criteria of the categories in scope, plus SOC 1 objectives when SOC 1 applies
    (everything when no scope has been decided)."""
    soc2 = [
        c for c in catalogue.soc2.criteria if scope is None or c.category in scope.soc2_categories
    ]
    soc1 = list(catalogue.soc1.criteria) if scope is None or scope.soc1 else []
    return soc2 + soc1


def latest_run(
    store: EvidenceStore, site_key: str, as_of: datetime
) -> tuple[AuditRun | None, int | None]:
    records = store.records(site_key=site_key, kind=RecordKind.RUN, collected_to=as_of)
    for record in reversed(records):
        if store.payload_text(record) is not None:
            return load_run(store, record), record.seq
    return None, None


def _due_key(control: ManualControl) -> tuple[object, str]:
    return (control.due, control.id)


def _carved_out(control: ManualControl, scope: ReadinessScope) -> ManualControl:
    host = scope.answers.subservice_organisation or "the managed host"
    note = (
        f"Carved out: {host} operates this control as a subservice organisation; its own"
        " SOC report is the evidence (reviewed under vendor_risk_review). Status kept as seen."
    )
    return control.model_copy(update={"in_scope": False, "scope_note": note})


def _checklist_entry(
    item: ReadinessItem, controls: dict[str, ManualControl], check_status: dict[str, str]
) -> ChecklistEntry:
    evidence = tuple(controls[e] for e in item.evidence if e in controls)
    checks = tuple(CheckState(id=c, status=check_status.get(c, "not_scanned")) for c in item.checks)
    gaps = [f"{c.title} is {c.status.replace('_', ' ')}." for c in evidence if c.status != "ready"]
    gaps += [f"Check {c.id} is {c.status.replace('_', ' ')}." for c in checks if c.status != "pass"]
    state: ItemState
    if any(c.status == "overdue" for c in evidence):
        state = "overdue"
    elif any(c.status == "missing" for c in evidence) or any(c.status != "pass" for c in checks):
        state = "incomplete"
    elif any(c.status == "due_soon" for c in evidence):
        state = "due_soon"
    else:
        state = "ready"
    return ChecklistEntry(
        id=item.id,
        title=item.title,
        owner=item.owner,
        state=state,
        evidence=evidence,
        checks=checks,
        gaps=tuple(gaps),
    )


def _category_scores(
    catalogue: Catalogue,
    scope: ReadinessScope | None,
    controls: dict[str, ManualControl],
    check_status: dict[str, str],
    framework: Framework | None = None,
) -> list[CategoryScore]:
    """Per category of ``framework`` (default SOC 2, whose categories the scope selects)."""
    framework = framework or catalogue.soc2
    scoped = framework.id == "soc2"
    scores = []
    for category, info in framework.categories.items():
        criteria = [c for c in framework.criteria if c.category == category]
        met = not_met = not_applicable = 0
        for criterion in criteria:
            statuses = [check_status.get(c, "not_scanned") for c in criterion.checks]
            fresh = all(
                e in controls and controls[e].status in _FRESH for e in criterion.manual_evidence
            )
            if statuses and all(s == "not_applicable" for s in statuses) and fresh:
                not_applicable += 1
            elif fresh and all(s in ("pass", "not_applicable") for s in statuses):
                met += 1
            else:
                not_met += 1
        scored = len(criteria) - not_applicable
        scores.append(
            CategoryScore(
                category=category,
                name=info.name,
                in_scope=not scoped or scope is None or category in scope.soc2_categories,
                criteria=len(criteria),
                met=met,
                not_met=not_met,
                not_applicable=not_applicable,
                score=round(100 * met / scored, 1) if scored else None,
            )
        )
    return scores


def _scope_view(scope: ReadinessScope) -> ScopeView:
    answers = scope.answers
    return ScopeView(
        soc2_categories=scope.soc2_categories,
        soc1=scope.soc1,
        hosting_model=answers.hosting_model,
        report_type=answers.report_type,
        period_start=answers.period_start,
        period_end=answers.period_end,
        decided_by=scope.decided_by,
        decided_at=scope.decided_at,
        decisions=scope.decisions,
    )
