"""A run seen through one framework: each requirement's state, per-category and overall scores.

The same scoring produces the SOC 2 summary of every run (``checks.scoring``), so a framework
score and the run's own readiness can never disagree on what "met" means.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from moodle_soc.models.programme import CategoryScore
from moodle_soc.models.run import CategoryReadiness

#: ``accepted``: its only failures are covered by active risk exceptions (a gap, never met).
RequirementStateName = Literal["met", "gap", "error", "manual", "not_applicable", "accepted"]
CoverageName = Literal["automated", "partly", "manual"]


class RequirementState(BaseModel):
    """One requirement's verdict from the run's findings of its mapped checks."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    title: str
    category: str
    coverage: CoverageName
    state: RequirementStateName
    checks: tuple[str, ...]
    failing_checks: tuple[str, ...]
    manual_evidence: tuple[str, ...]


class FrameworkScore(BaseModel):
    """A framework's view of one run: scores weigh the decided checks of its requirements by
    severity (``checks.scoring.weighted_score``); ``coverage`` says how many requirements
    could be decided at all."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    name: str
    version: str
    source: str
    coverage: dict[CoverageName, int]
    readiness: tuple[CategoryReadiness, ...]
    overall_score: float | None
    requirements: tuple[RequirementState, ...]

    def gaps(self) -> tuple[RequirementState, ...]:
        """Requirements a failing or erroring check holds back, in the framework's order."""
        return tuple(r for r in self.requirements if r.state in ("gap", "error", "accepted"))


RequirementPeriodState = Literal["operated", "exception", "incomplete", "manual"]


class RequirementPeriod(BaseModel):
    """One requirement over an audit period, from the day-by-day record of its mapped checks:
    ``operated`` when every one passed on every day, ``exception`` when any failed on some
    day, ``incomplete`` when some day has no passing evidence (no scan, or a check that could
    not decide) but nothing failed, ``manual`` when no check maps to it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    title: str
    category: str
    coverage: CoverageName
    state: RequirementPeriodState
    checks: tuple[str, ...]
    exception_checks: tuple[str, ...]
    days_fail: int  # days on which at least one mapped check failed
    first_failure: date | None
    manual_evidence: tuple[str, ...]


class FrameworkPeriod(BaseModel):
    """A framework's view of a Type II period report."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    name: str
    version: str
    source: str
    coverage: dict[CoverageName, int]
    counts: dict[RequirementPeriodState, int]
    requirements: tuple[RequirementPeriod, ...]


class FrameworkReadiness(BaseModel):
    """A framework's view of the readiness programme (``readiness --framework``): per category,
    requirements met when every mapped check passed in the latest scan and all their manual
    evidence is ready or due soon (the programme's rule, ``programme.overview``)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    name: str
    version: str
    categories: tuple[CategoryScore, ...]
    score: float | None  # met / (requirements - not applicable) over every category
