"""A period report seen through a framework: did each requirement operate throughout?

The period report judges checks day by day; a requirement operated when all its mapped checks
did. Built from the report alone, so any stored period can be viewed through any framework.
"""

from __future__ import annotations

from collections.abc import Sequence

from moodle_soc.frameworks import Framework
from moodle_soc.models.frameworks import (
    FrameworkPeriod,
    RequirementPeriod,
    RequirementPeriodState,
)
from moodle_soc.models.period import PeriodReport


def framework_period(report: PeriodReport, framework: Framework) -> FrameworkPeriod:
    controls = {control.check_id: control for control in report.controls}
    requirements = []
    for criterion in framework.criteria:
        mapped = [controls[cid] for cid in criterion.checks if cid in controls]
        failing = [c for c in mapped if c.exception]
        fail_days = sorted({day for c in failing for day in c.exception_days})
        state: RequirementPeriodState
        if not criterion.checks:
            state = "manual"
        elif failing:
            state = "exception"
        elif len(mapped) == len(criterion.checks) and all(c.operated_throughout for c in mapped):
            state = "operated"
        else:
            state = "incomplete"
        requirements.append(
            RequirementPeriod(
                id=criterion.id,
                title=criterion.title,
                category=criterion.category,
                coverage=criterion.coverage,
                state=state,
                checks=criterion.checks,
                exception_checks=tuple(c.check_id for c in failing),
                days_fail=len(fail_days),
                first_failure=fail_days[0] if fail_days else None,
                manual_evidence=criterion.manual_evidence,
            )
        )
    counts: dict[RequirementPeriodState, int] = {
        "operated": 0,
        "exception": 0,
        "incomplete": 0,
        "manual": 0,
    }
    for requirement in requirements:
        counts[requirement.state] += 1
    return FrameworkPeriod(
        id=framework.id,
        name=framework.name,
        version=framework.version,
        source=framework.source,
        coverage=framework.coverage(),
        counts=counts,
        requirements=tuple(requirements),
    )


def framework_periods(
    report: PeriodReport, frameworks: Sequence[Framework]
) -> tuple[FrameworkPeriod, ...]:
    return tuple(framework_period(report, framework) for framework in frameworks)
