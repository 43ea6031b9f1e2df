"""The readiness report an executive reads in five minutes: scope, scores with their formula,
the checklist, the top gaps with owners and effort, the shared-responsibility matrix, the
calendar of manual evidence and the open exceptions; with the site band's guidance."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from moodle_soc.evidence.store.runs import load_run
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import Catalogue
from moodle_soc.models.programme import (
    BandNotes,
    CalendarEntry,
    ManualControl,
    MatrixRow,
    QuestionnaireAnswer,
    ReadinessOverview,
    ReadinessReport,
    ReportGap,
)
from moodle_soc.models.records import SiteRef
from moodle_soc.models.run import AuditRun
from moodle_soc.programme.guidance import BandGuidance, load_guidance
from moodle_soc.results import Severity, Status

TOP_GAPS = 10
CALENDAR_DAYS = 90
_DOCUMENT_WORDS = ("policy", "plan", "procedure", "description", "matrix", "charter")


def build_report(
    store: EvidenceStore,
    overview: ReadinessOverview,
    catalogue: Catalogue,
    generated_at: datetime | None = None,
) -> ReadinessReport:
    run = None
    if overview.latest_run is not None:
        run = load_run(store, store.get(str(overview.latest_run)))
    guidance = load_guidance()
    band = guidance.band(overview.moodle_band)
    on = overview.as_of.date()
    horizon = on + timedelta(days=CALENDAR_DAYS)
    calendar = [
        CalendarEntry(due=c.due, control=c.id, title=c.title, owner=c.owner, status=c.status)
        for c in sorted(overview.controls, key=lambda c: (c.due or on, c.id))
        if c.in_scope and c.due is not None and c.due <= horizon
    ]
    statuses = [c.status for c in run.checks] if run else []
    return ReadinessReport(
        overview=overview,
        generated_at=generated_at or datetime.now(UTC),
        band=_band(overview, band),
        top_gaps=tuple(_top_gaps(overview, run, catalogue)),
        matrix=tuple(_matrix(overview, catalogue)),
        calendar=tuple(calendar),
        open_exceptions=tuple(e for e in overview.exceptions if e.state == "active"),
        failing_checks=statuses.count(Status.FAIL),
        accepted_checks=statuses.count(Status.ACCEPTED),
    )


def _band(overview: ReadinessOverview, band: BandGuidance | None) -> BandNotes | None:
    if band is None:
        return None
    return BandNotes(
        band=overview.moodle_band or "",
        label=band.label,
        core_provides=band.core_provides,
        limits=band.limits,
    )


def _check_owner(catalogue: Catalogue, check_id: str) -> str:
    for item in catalogue.readiness:
        if check_id in item.checks:
            return item.owner
    return "client"


def _top_gaps(
    overview: ReadinessOverview, run: AuditRun | None, catalogue: Catalogue
) -> list[ReportGap]:
    gaps: list[tuple[int, ReportGap]] = []
    if run is not None:
        failing: dict[str, list[str]] = {}
        for finding in run.iter_findings():
            if finding.status is Status.FAIL:
                failing.setdefault(finding.check_id, []).append(finding.resource)
        for check in run.checks:
            if check.id not in failing:
                continue
            fixable = any(f.fix_command for f in run.check_findings(check))
            count = len(failing[check.id])
            gaps.append((
                10 + check.severity.rank * 10,
                ReportGap(
                    kind="check", id=check.id, title=check.title,
                    owner=_check_owner(catalogue, check.id), priority=check.severity.value,
                    effort="small (a setting)" if fixable else "medium (configuration or accounts)",
                    detail=f"{count} failing resource{'s' * (count != 1)} in the latest scan.",
                ),
            ))  # fmt: skip
    checklist_evidence = {e for item in catalogue.readiness for e in item.evidence}
    for control in overview.controls:
        if not control.in_scope or control.status not in ("missing", "overdue"):
            continue
        weight = Severity.HIGH.rank * 10 + (5 if control.id in checklist_evidence else 0)
        gaps.append((weight, _evidence_gap(control)))
    gaps.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [gap for _weight, gap in gaps[:TOP_GAPS]]


def _evidence_gap(control: ManualControl) -> ReportGap:
    document = any(word in control.id for word in _DOCUMENT_WORDS)
    effort = "large (write and approve a document)" if document else "medium (collect records)"
    detail = (
        f"Overdue since {control.due}." if control.status == "overdue"
        else f"No evidence attached ({control.frequency.replace('_', ' ')})."
    )  # fmt: skip
    return ReportGap(kind="evidence", id=control.id, title=control.title, owner=control.owner,
                     priority=control.status, effort=effort, detail=detail)  # fmt: skip


def _matrix(overview: ReadinessOverview, catalogue: Catalogue) -> list[MatrixRow]:
    guidance = load_guidance()
    rows = []
    for item in catalogue.readiness:
        notes = guidance.items[item.id]
        core = (
            f"{len(item.checks)} automated check{'s' * (len(item.checks) != 1)} read from Moodle"
            if item.checks else "Nothing: no database shows it."
        )  # fmt: skip
        rows.append(
            MatrixRow(
                item=item.title,
                owner=item.owner,
                moodle_core=core,
                hosting=notes.from_host,
                organisation=notes.from_organisation,
            )
        )
    return rows


def period_readiness(
    store: EvidenceStore, site: SiteRef, end: date, generated_at: datetime, catalogue: Catalogue
) -> tuple[ReadinessReport, list[QuestionnaireAnswer]]:
    """The readiness report and questionnaire answers as of the end of a period (or when the
    package is made, if earlier): the same evidence always gives the same pages."""
    from moodle_soc.programme.answers import answer_questions
    from moodle_soc.programme.overview import readiness_overview

    as_of = min(datetime.combine(end, time.max, UTC), generated_at)
    overview = readiness_overview(store, site, as_of, catalogue)
    report = build_report(store, overview, catalogue, generated_at=generated_at)
    return report, answer_questions(store, overview, catalogue)
