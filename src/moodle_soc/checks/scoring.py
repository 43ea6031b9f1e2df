"""Readiness: how a run's findings add up per Trust Services category and overall."""

from __future__ import annotations

from moodle_soc.frameworks import Catalogue
from moodle_soc.models.run import CategoryReadiness, Finding, Summary
from moodle_soc.results import Status


def summarize(findings: list[Finding], catalogue: Catalogue) -> Summary:
    """Counts by status and failed severity, and each category's readiness score."""
    by_status = {status.value: 0 for status in Status}
    failed: dict[str, int] = {}
    statuses_by_check: dict[str, list[Status]] = {}
    for finding in findings:
        by_status[finding.status.value] += 1
        statuses_by_check.setdefault(finding.check_id, []).append(finding.status)
        if finding.status is Status.FAIL:
            failed[finding.severity.value] = failed.get(finding.severity.value, 0) + 1
    readiness = []
    for category, info in catalogue.soc2.categories.items():
        counts = {"met": 0, "gap": 0, "error": 0, "manual": 0, "not_applicable": 0, "accepted": 0}
        criteria = [c for c in catalogue.soc2.criteria if c.category == category]
        for criterion in criteria:
            statuses = [s for cid in criterion.checks for s in statuses_by_check.get(cid, [])]
            counts[_criterion_state(statuses)] += 1
        decided = counts["met"] + counts["gap"] + counts["error"] + counts["accepted"]
        readiness.append(
            CategoryReadiness(
                category=category,
                name=info.name,
                criteria=len(criteria),
                score=round(100 * counts["met"] / decided, 1) if decided else None,
                **counts,
            )
        )
    met = sum(r.met for r in readiness)
    decided_all = sum(r.met + r.gap + r.error + r.accepted for r in readiness)
    return Summary(
        by_status=by_status,
        failed_by_severity=failed,
        readiness=tuple(readiness),
        overall_score=round(100 * met / decided_all, 1) if decided_all else None,
    )


def _criterion_state(statuses: list[Status]) -> str:
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
