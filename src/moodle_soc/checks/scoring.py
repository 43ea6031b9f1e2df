"""Readiness: how a run's findings add up per Trust Services category and overall.

Every score is ``weighted_score``: the severity-weighted share of decided checks that pass.
A criterion's score weighs its mapped checks; a category's weighs the checks of all its
criteria (a check counted once per criterion it evidences). docs/severity.md states the rubric
and the formula; a test keeps it equal to ``SEVERITY_WEIGHTS`` and ``FORMULA``.
"""

from __future__ import annotations

from collections.abc import Iterable

from moodle_soc.frameworks import Catalogue
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
    "score = 100 × Σ weight(passed checks) ÷ Σ weight(passed, failed and errored checks);"
    " weight by severity: critical 10, high 5, medium 3, low 1, info 0; manual and"
    " not-applicable checks are left out"
)

#: A check's verdict in a score: its status and the severity it weighs with.
Verdict = tuple[Status, Severity]


def weighted_score(verdicts: Iterable[Verdict]) -> float | None:
    """The one scoring rule: 100 × passed weight ÷ decided weight, one decimal; None when no
    check was decided (or every decided one weighs nothing)."""
    passed = decided = 0
    for status, severity in verdicts:
        if status not in (Status.PASS, Status.FAIL, Status.ERROR):
            continue
        weight = SEVERITY_WEIGHTS[severity]
        decided += weight
        passed += weight if status is Status.PASS else 0
    return round(100 * passed / decided, 1) if decided else None


def check_verdicts(findings: Iterable[Finding]) -> dict[str, Verdict]:
    """Each check's verdict: fail if any finding fails (weighing with the worst failing
    severity), else error, else pass if any passes, else manual or not applicable."""
    by_check: dict[str, list[Finding]] = {}
    for finding in findings:
        by_check.setdefault(finding.check_id, []).append(finding)
    verdicts: dict[str, Verdict] = {}
    for check_id, found in by_check.items():
        statuses = [f.status for f in found]
        status = _check_state(statuses)
        failing = [f.severity for f in found if f.status is Status.FAIL]
        severity = max(failing or [f.severity for f in found], key=lambda s: s.rank)
        verdicts[check_id] = (status, severity)
    return verdicts


def summarize(findings: list[Finding], catalogue: Catalogue) -> Summary:
    """Counts by status and failed severity, and each category's readiness score."""
    by_status = {status.value: 0 for status in Status}
    failed: dict[str, int] = {}
    for finding in findings:
        by_status[finding.status.value] += 1
        if finding.status is Status.FAIL:
            failed[finding.severity.value] = failed.get(finding.severity.value, 0) + 1
    verdicts = check_verdicts(findings)
    readiness = []
    everything: list[Verdict] = []
    for category, info in catalogue.soc2.categories.items():
        counts = {"met": 0, "gap": 0, "error": 0, "manual": 0, "not_applicable": 0}
        criteria = [c for c in catalogue.soc2.criteria if c.category == category]
        mapped: list[Verdict] = []
        for criterion in criteria:
            own = [verdicts[cid] for cid in criterion.checks if cid in verdicts]
            counts[_criterion_state([status for status, _ in own])] += 1
            mapped += own
        everything += mapped
        readiness.append(
            CategoryReadiness(
                category=category,
                name=info.name,
                criteria=len(criteria),
                score=weighted_score(mapped),
                **counts,
            )
        )
    return Summary(
        by_status=by_status,
        failed_by_severity=failed,
        readiness=tuple(readiness),
        overall_score=weighted_score(everything),
    )


def _check_state(statuses: list[Status]) -> Status:
    for status in (Status.FAIL, Status.ERROR, Status.MANUAL, Status.PASS):
        if status in statuses:
            return status
    return Status.NOT_APPLICABLE


def _criterion_state(statuses: list[Status]) -> str:
    """A criterion is met only when its automated part passes and nothing is left to manual
    evidence; a check that itself says "manual" keeps the criterion manual."""
    if not statuses:
        return "manual"
    if Status.FAIL in statuses:
        return "gap"
    if Status.ERROR in statuses:
        return "error"
    if Status.MANUAL in statuses:
        return "manual"
    if Status.PASS in statuses:
        return "met"
    return "not_applicable"
