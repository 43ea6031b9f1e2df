"""The AuditRun: one scan's findings, observed values, provenance and timings.

Every report (terminal, JSON, HTML) renders this one model; its JSON form is documented in
``docs/json-format.md`` and versioned by ``SCHEMA_VERSION``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from moodle_soc.models.state import SiteState
from moodle_soc.results import Severity, Status

SCHEMA_VERSION = "2.1"

_STATUS_ORDER = (
    Status.FAIL,
    Status.ERROR,
    Status.ACCEPTED,
    Status.MANUAL,
    Status.PASS,
    Status.NOT_APPLICABLE,
)


class FindingException(BaseModel):
    """The risk exception that covers (or covered) a failing finding, as the scan saw it.

    ``state`` is ``active`` (the finding is ``accepted``), ``expired`` or ``revoked`` (the
    finding fails again and the lapsed exception is listed with it); ``scan_status`` is the
    verdict the checks gave, which an exception never hides.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    state: Literal["active", "expired", "revoked"]
    scan_status: Status
    reason: str
    owner: str
    approver: str
    approved_at: date
    expires: date
    compensating_control: str = ""
    revoked_reason: str | None = None


class Finding(BaseModel):
    """One result of one check about one resource."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    title: str
    status: Status
    severity: Severity
    resource: str
    reason: str
    observed: dict[str, Any]
    moodle_check: str | None
    criteria: tuple[str, ...]
    remediation: str
    fix_command: str | None = None
    exception: FindingException | None = None  # schema 2.0: a risk exception that applies


class CheckSummary(BaseModel):
    """A check's overall verdict: its worst finding, and how long it took."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    area: str
    severity: Severity
    status: Status
    moodle_check: str | None
    criteria: tuple[str, ...]
    rationale: str
    findings: int
    duration_ms: float


class CategoryReadiness(BaseModel):
    """Readiness of one Trust Services category, counted by criteria, never by guesswork.

    A criterion is ``met`` when all findings of its mapped checks pass, a ``gap`` when any
    fails, ``error`` when any could not run, and ``manual`` when only manual evidence can
    show it. The score weighs the category's decided checks by severity
    (``checks.scoring.weighted_score``, docs/severity.md).
    """

    model_config = ConfigDict(frozen=True)

    category: str
    name: str
    criteria: int
    met: int
    gap: int
    error: int
    manual: int
    not_applicable: int
    score: float | None
    accepted: int = 0  # schema 2.0: gaps covered by an active risk exception (not met)
    #: The readiness scope in the scan's store leaves the category out (its criteria are still
    #: judged and counted here, but the overall score leaves them out); why, and who decided.
    in_scope: bool = True
    scope_decision: str = ""


class SiteInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    wwwroot: str | None
    siteidentifier: str | None
    database: str
    prefix: str
    moodle_version: str
    moodle_release: str
    moodle_branch: str
    moodle_label: str
    moodle_band: str
    moodle_lts: bool


class Summary(BaseModel):
    model_config = ConfigDict(frozen=True)

    by_status: dict[str, int]
    failed_by_severity: dict[str, int]
    readiness: tuple[CategoryReadiness, ...]
    overall_score: float | None


class Incomplete(BaseModel):
    """Tables that exist but the scanning user may not read: the checks needing them are
    ``error``, so the scan as a whole is incomplete (and exits 3, docs/json-format.md)."""

    model_config = ConfigDict(frozen=True)

    unreadable_tables: tuple[str, ...]  # with the table prefix, sorted
    grants: tuple[str, ...]  # one GRANT statement per table that would make it readable

    @property
    def message(self) -> str:
        n = len(self.unreadable_tables)
        return (
            f"This scan is incomplete: {n} table{'s' if n != 1 else ''} could not be read"
            f" ({', '.join(self.unreadable_tables)}), so the checks that need them are errors."
            " Grant read access and scan again:"
        )


class AuditRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: str = SCHEMA_VERSION
    tool: dict[str, str]
    catalogue_version: str
    site: SiteInfo
    audit_time: datetime
    started_at: datetime
    finished_at: datetime
    policy: dict[str, Any]
    summary: Summary
    checks: tuple[CheckSummary, ...]
    findings: tuple[Finding, ...]
    queries: tuple[dict[str, Any], ...]
    site_state: SiteState | None = None  # schema 1.1: what the scan observed, kept as evidence
    incomplete: Incomplete | None = None  # schema 2.1: tables the scanning user may not read

    def findings_sorted(self) -> list[Finding]:
        """Failures first, worst severity first: the order an administrator fixes things."""
        return sorted(
            self.findings,
            key=lambda f: (_STATUS_ORDER.index(f.status), -f.severity.rank, f.check_id),
        )

    def worst_failed_severity(self) -> Severity | None:
        failed = [f.severity for f in self.findings if f.status is Status.FAIL]
        return max(failed, key=lambda s: s.rank) if failed else None


def worst_status(statuses: list[Status]) -> Status:
    """The verdict of a check over all its findings."""
    for status in _STATUS_ORDER:
        if status in statuses:
            return status
    return Status.NOT_APPLICABLE
