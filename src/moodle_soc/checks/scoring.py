"""Readiness: how a run's findings add up per framework category and overall.

``score_framework`` is the one scoring rule: the run's own SOC 2 summary and every other
framework's view (ISO 27001, NIST 800-53, a user's file) come from it.
"""

from __future__ import annotations

from moodle_soc.frameworks import Catalogue, Framework
from moodle_soc.models.frameworks import FrameworkScore, RequirementState, RequirementStateName
from moodle_soc.models.run import CategoryReadiness, Finding, Summary
from moodle_soc.results import Status


def summarize(findings: list[Finding], catalogue: Catalogue) -> Summary:
    """Counts by status and failed severity, and each SOC 2 category's readiness score."""
    by_status = {status.value: 0 for status in Status}
    failed: dict[str, int] = {}
    for finding in findings:
        by_status[finding.status.value] += 1
        if finding.status is Status.FAIL:
            failed[finding.severity.value] = failed.get(finding.severity.value, 0) + 1
    soc2 = score_framework(findings, catalogue.soc2)
    return Summary(
        by_status=by_status,
        failed_by_severity=failed,
        readiness=soc2.readiness,
        overall_score=soc2.overall_score,
    )


def score_framework(
    findings: list[Finding] | tuple[Finding, ...], framework: Framework
) -> FrameworkScore:
    """Each requirement's state and each category's readiness score, from the findings of the
    requirement's mapped checks."""
    statuses_by_check: dict[str, list[Status]] = {}
    for finding in findings:
        statuses_by_check.setdefault(finding.check_id, []).append(finding.status)
    states: list[RequirementState] = []
    for criterion in framework.criteria:
        statuses = [s for cid in criterion.checks for s in statuses_by_check.get(cid, [])]
        failing = [
            cid
            for cid in criterion.checks
            if {Status.FAIL, Status.ERROR, Status.ACCEPTED} & set(statuses_by_check.get(cid, []))
        ]
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
        decided = counts["met"] + counts["gap"] + counts["error"] + counts["accepted"]
        readiness.append(
            CategoryReadiness(
                category=category,
                name=info.name,
                criteria=len(in_category),
                score=round(100 * counts["met"] / decided, 1) if decided else None,
                **counts,
            )
        )
    met = sum(r.met for r in readiness)
    decided_all = sum(r.met + r.gap + r.error + r.accepted for r in readiness)
    return FrameworkScore(
        id=framework.id,
        name=framework.name,
        version=framework.version,
        source=framework.source,
        coverage=framework.coverage(),
        readiness=tuple(readiness),
        overall_score=round(100 * met / decided_all, 1) if decided_all else None,
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
