"""What a report lists of a run: each check's examples and counts, never its population.

The terminal, HTML and Nagios reports read the checks' examples (``CheckSummary.examples``: at
most ``EXAMPLES_PER_STATUS`` of each status, worst first) and ``by_status``, so a report costs
the same for ten findings or ten million; the full population is the CSV, XLSX or JSON report.
"""

from __future__ import annotations

from dataclasses import dataclass

from moodle_soc.models.population import EXAMPLES_PER_STATUS
from moodle_soc.models.run import AuditRun, CheckSummary, Finding
from moodle_soc.results import Status

#: Findings listed per check and status; the rest are counted.
EXAMPLE_LIMIT = EXAMPLES_PER_STATUS

Examples = dict[str, list[Finding]]


def examples_by_check(run: AuditRun) -> Examples:
    """Each check's examples as findings (from the run, or a pre-3.1 run's populations)."""
    return {check.id: run.check_examples(check) for check in run.checks}


@dataclass(frozen=True)
class Listed:
    """One status's findings as a report lists them: the checks' examples of it, worst
    severity first (then by check id), and how many there are in all, per check. Its length
    and truth are those of every finding of the status, not only the listed ones."""

    status: Status
    shown: list[Finding]
    counts: dict[str, int]  # by check id: every finding of the status

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def more(self) -> int:
        return self.total - len(self.shown)

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    @classmethod
    def of(cls, run: AuditRun, examples: Examples, status: Status) -> Listed:
        shown = [f for check in run.checks for f in examples[check.id] if f.status is status]
        shown.sort(key=lambda f: (-f.severity.rank, f.check_id))
        counts = {c.id: n for c in run.checks if (n := c.by_status.get(status.value, 0))}
        return cls(status, shown, counts)


@dataclass(frozen=True)
class FailingCheck:
    """A check with failed findings: its failed examples, worst first, and how many failed."""

    check: CheckSummary
    shown: list[Finding]
    count: int

    @property
    def worst(self) -> Finding:
        return self.shown[0]


def failing_checks(run: AuditRun, examples: Examples) -> list[FailingCheck]:
    """The checks with failed findings, the worst failure's severity first, then by check id:
    the order an administrator fixes things."""
    failing = []
    for check in run.checks:
        count = check.by_status.get(Status.FAIL.value, 0)
        shown = [f for f in examples[check.id] if f.status is Status.FAIL]
        if count and shown:
            failing.append(FailingCheck(check, shown, count))
    return sorted(failing, key=lambda c: (-c.worst.severity.rank, c.check.id))


def total_findings(run: AuditRun) -> int:
    return sum(check.findings for check in run.checks)
