"""Readiness: how a run's findings add up per framework category and overall.

``score_framework`` is the one path every framework takes: the run's own SOC 2 summary and
every other framework's view (ISO 27001, NIST 800-53, a user's file) come from it, and every
score in it is ``weighted_score``: the severity-weighted share of decided checks that pass.
A category weighs the checks of all its requirements (a check counted once per requirement it
evidences). docs/severity.md states the rubric and the formula; a test keeps it equal to
``SEVERITY_WEIGHTS`` and ``FORMULA``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from moodle_soc.frameworks import Catalogue, Framework
from moodle_soc.models.frameworks import FrameworkScore, RequirementState, RequirementStateName
from moodle_soc.models.run import CategoryReadiness, Finding, Summary
from moodle_soc.results import Severity, Status

#: How much a check weighs in a score, by its severity (docs/severity.md).
SEVERITY_WEIGHTS: dict[Severity, int] = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 5,
    Severity.MEDIUM: 3,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
FORMULA = (
    "score = 100 × Σ weight(passed checks) ÷ Σ weight(passed, failed, errored and"
    " risk-accepted checks); weight by severity: critical 10, high 5, medium 3, low 1, info 0;"
    " manual and not-applicable checks are left out"
)
#: Statuses a score counts: only a pass adds to the numerator.
DECIDED = (Status.PASS, Status.FAIL, Status.ERROR, Status.ACCEPTED)

#: A check's verdict in a score: its status and the severity it weighs with.
Verdict = tuple[Status, Severity]


def weighted_score(verdicts: Iterable[Verdict]) -> float | None:
    """The one scoring rule: 100 × passed weight ÷ decided weight, one decimal; None when no
    check was decided (or every decided one weighs nothing)."""
    passed = decided = 0
    for status, severity in verdicts:
        if status not in DECIDED:
            continue
        weight = SEVERITY_WEIGHTS[severity]
        decided += weight
        passed += weight if status is Status.PASS else 0
    return round(100 * passed / decided, 1) if decided else None


def check_verdicts(findings: Iterable[Finding]) -> dict[str, Verdict]:
    """Each check's verdict: fail if any finding fails (weighing with the worst failing
    severity), else error, else accepted, else manual, else pass, else not applicable."""
    by_check: dict[str, list[Finding]] = {}
    for finding in findings:
        by_check.setdefault(finding.check_id, []).append(finding)
    verdicts: dict[str, Verdict] = {}
    for check_id, found in by_check.items():
        status = _check_state([f.status for f in found])
        failing = [f.severity for f in found if f.status is Status.FAIL]
        severity = max(failing or [f.severity for f in found], key=lambda s: s.rank)
        verdicts[check_id] = (status, severity)
    return verdicts


def _check_state(statuses: list[Status]) -> Status:
    order = (Status.FAIL, Status.ERROR, Status.ACCEPTED, Status.MANUAL, Status.PASS)
    for status in order:
        if status in statuses:
            return status
    return Status.NOT_APPLICABLE


def summarize(
    findings: list[Finding], catalogue: Catalogue, out_of_scope: Mapping[str, str] | None = None
) -> Summary:
    """Counts by status and failed severity, and each SOC 2 category's readiness score.

    ``out_of_scope`` maps SOC 2 categories the readiness scope leaves out to the decision (its
    reason and who took it): they stay listed, marked, and out of the overall score."""
    by_status = {status.value: 0 for status in Status}
    failed: dict[str, int] = {}
    for finding in findings:
        by_status[finding.status.value] += 1
        if finding.status is Status.FAIL:
            failed[finding.severity.value] = failed.get(finding.severity.value, 0) + 1
    out = dict(out_of_scope or {})
    soc2 = score_framework(findings, catalogue.soc2, excluded=out.keys())
    readiness = tuple(
        r.model_copy(update={"in_scope": False, "scope_decision": out[r.category]})
        if r.category in out
        else r
        for r in soc2.readiness
    )
    return Summary(
        by_status=by_status,
        failed_by_severity=failed,
        readiness=readiness,
        overall_score=soc2.overall_score,
    )


def score_framework(
    findings: list[Finding] | tuple[Finding, ...],
    framework: Framework,
    *,
    excluded: Collection[str] = (),
) -> FrameworkScore:
    """Each requirement's state and each category's readiness score, from the findings of the
    requirement's mapped checks; the overall score leaves the ``excluded`` categories out."""
    statuses_by_check: dict[str, list[Status]] = {}
    for finding in findings:
        statuses_by_check.setdefault(finding.check_id, []).append(finding.status)
    verdicts = check_verdicts(findings)
    weighed: dict[str, list[Verdict]] = {}
    states: list[RequirementState] = []
    for criterion in framework.criteria:
        statuses = [s for cid in criterion.checks for s in statuses_by_check.get(cid, [])]
        failing = [
            cid
            for cid in criterion.checks
            if {Status.FAIL, Status.ERROR, Status.ACCEPTED} & set(statuses_by_check.get(cid, []))
        ]
        own = [verdicts[cid] for cid in criterion.checks if cid in verdicts]
        weighed.setdefault(criterion.category, []).extend(own)
        states.append(
            RequirementState(
                id=criterion.id,
                title=criterion.title,
                category=criterion.category,
                coverage=criterion.coverage,
                state=_criterion_state(statuses),
                checks=criterion.checks,
                failing_checks=tuple(failing),
                manual_evidence=criterion.manual_evidence,
            )
        )
    readiness = []
    for category, info in framework.categories.items():
        counts = {"met": 0, "gap": 0, "error": 0, "manual": 0, "not_applicable": 0, "accepted": 0}
        in_category = [s for s in states if s.category == category]
        for state in in_category:
            counts[state.state] += 1
        readiness.append(
            CategoryReadiness(
                category=category,
                name=info.name,
                criteria=len(in_category),
                score=weighted_score(weighed.get(category, [])),
                **counts,
            )
        )
    everything = [
        v
        for category in framework.categories
        if category not in excluded
        for v in weighed.get(category, [])
    ]
    return FrameworkScore(
        id=framework.id,
        name=framework.name,
        version=framework.version,
        source=framework.source,
        coverage=framework.coverage(),
        readiness=tuple(readiness),
        overall_score=weighted_score(everything),
        requirements=tuple(states),
    )


def _criterion_state(statuses: list[Status]) -> RequirementStateName:
    """A criterion is met only when its automated part passes and nothing is left to manual
    evidence; a check that itself says "manual" keeps the criterion manual."""
    if not statuses:
        return "manual"
    if Status.FAIL in statuses:
        return "gap"
    if Status.ERROR in statuses:
        return "error"
    if Status.ACCEPTED in statuses:  # a risk accepted is a gap someone chose to carry: not met
        return "accepted"
    if Status.MANUAL in statuses:
        return "manual"
    if Status.PASS in statuses:
        return "met"
    return "not_applicable"
