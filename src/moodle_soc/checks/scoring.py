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
from dataclasses import dataclass, field

from moodle_soc.frameworks import Catalogue, Framework
from moodle_soc.models.frameworks import FrameworkScore, RequirementState, RequirementStateName
from moodle_soc.models.run import AuditRun, CategoryReadiness, Finding, Summary
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


@dataclass
class CheckTally:
    """What a score needs of one check's findings, however many there are: the statuses
    seen, and the worst severity of its failures and of all its findings."""

    statuses: set[Status] = field(default_factory=set)
    worst_failing: Severity | None = None
    worst: Severity | None = None

    def add(self, status: Status, severity: Severity) -> None:
        self.statuses.add(status)
        if self.worst is None or severity.rank > self.worst.rank:
            self.worst = severity
        failing = self.worst_failing
        if status is Status.FAIL and (failing is None or severity.rank > failing.rank):
            self.worst_failing = severity

    @property
    def verdict(self) -> Verdict:
        severity = self.worst_failing or self.worst
        assert severity is not None, "a tally has at least one finding"
        return (_check_state(self.statuses), severity)


#: Each check's tally, by check id: one pass over a run's findings, streamed or not.
Tallies = Mapping[str, CheckTally]


def tally(findings: Iterable[Finding]) -> dict[str, CheckTally]:
    tallies: dict[str, CheckTally] = {}
    for finding in findings:
        tallies.setdefault(finding.check_id, CheckTally()).add(finding.status, finding.severity)
    return tallies


def run_tallies(run: AuditRun) -> dict[str, CheckTally]:
    """Each check's tally from its examples, without reading its population: the same as
    ``tally(run.iter_findings())``, since the examples hold at least one finding of every
    status the check has, each status's worst severity first."""
    tallies: dict[str, CheckTally] = {}
    for check in run.checks:
        for finding in run.check_examples(check):
            tallies.setdefault(check.id, CheckTally()).add(finding.status, finding.severity)
    return tallies


def check_verdicts(findings: Iterable[Finding] | Tallies) -> dict[str, Verdict]:
    """Each check's verdict: fail if any finding fails (weighing with the worst failing
    severity), else error, else accepted, else manual, else pass, else not applicable."""
    tallies = findings if isinstance(findings, Mapping) else tally(findings)
    return {check_id: t.verdict for check_id, t in tallies.items()}


def _check_state(statuses: Collection[Status]) -> Status:
    order = (Status.FAIL, Status.ERROR, Status.ACCEPTED, Status.MANUAL, Status.PASS)
    for status in order:
        if status in statuses:
            return status
    return Status.NOT_APPLICABLE


@dataclass
class RunTally:
    """A run's counts, gathered finding by finding as the checks produce them."""

    by_status: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Status})
    failed_by_severity: dict[str, int] = field(default_factory=dict)
    checks: dict[str, CheckTally] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        self.count(finding.check_id, finding.status, finding.severity)

    def count(self, check_id: str, status: Status, severity: Severity, n: int = 1) -> None:
        """``n`` findings of ``check_id`` with this status and severity."""
        self.by_status[status.value] += n
        if status is Status.FAIL:
            name = severity.value
            self.failed_by_severity[name] = self.failed_by_severity.get(name, 0) + n
        self.checks.setdefault(check_id, CheckTally()).add(status, severity)

    def merge(self, other: RunTally) -> None:
        """Add another tally's counts (a check's, once it has finished) to this one."""
        for status, count in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + count
        for severity, count in other.failed_by_severity.items():
            self.failed_by_severity[severity] = self.failed_by_severity.get(severity, 0) + count
        for check_id, check in other.checks.items():
            mine = self.checks.setdefault(check_id, CheckTally())
            mine.statuses |= check.statuses
            mine.worst = _worse(mine.worst, check.worst)
            mine.worst_failing = _worse(mine.worst_failing, check.worst_failing)


def _worse(a: Severity | None, b: Severity | None) -> Severity | None:
    if a is None or (b is not None and b.rank > a.rank):
        return b
    return a


def summarize(
    findings: Iterable[Finding] | RunTally,
    catalogue: Catalogue,
    out_of_scope: Mapping[str, str] | None = None,
) -> Summary:
    """Counts by status and failed severity, and each SOC 2 category's readiness score.

    ``out_of_scope`` maps SOC 2 categories the readiness scope leaves out to the decision (its
    reason and who took it): they stay listed, marked, and out of the overall score."""
    if isinstance(findings, RunTally):
        counts = findings
    else:
        counts = RunTally()
        for finding in findings:
            counts.add(finding)
    out = dict(out_of_scope or {})
    soc2 = score_framework(counts.checks, catalogue.soc2, excluded=out.keys())
    readiness = tuple(
        r.model_copy(update={"in_scope": False, "scope_decision": out[r.category]})
        if r.category in out
        else r
        for r in soc2.readiness
    )
    return Summary(
        by_status=counts.by_status,
        failed_by_severity=counts.failed_by_severity,
        readiness=readiness,
        overall_score=soc2.overall_score,
    )


def score_framework(
    findings: Iterable[Finding] | Tallies,
    framework: Framework,
    *,
    excluded: Collection[str] = (),
) -> FrameworkScore:
    """Each requirement's state and each category's readiness score, from the findings of the
    requirement's mapped checks (or their tallies); the overall score leaves the ``excluded``
    categories out."""
    tallies = findings if isinstance(findings, Mapping) else tally(findings)
    verdicts = check_verdicts(tallies)
    weighed: dict[str, list[Verdict]] = {}
    states: list[RequirementState] = []
    for criterion in framework.criteria:
        seen = [tallies[cid].statuses for cid in criterion.checks if cid in tallies]
        statuses: set[Status] = set().union(*seen)
        failing = [
            cid
            for cid in criterion.checks
            if cid in tallies
            and {Status.FAIL, Status.ERROR, Status.ACCEPTED} & tallies[cid].statuses
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


def _criterion_state(statuses: Collection[Status]) -> RequirementStateName:
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
