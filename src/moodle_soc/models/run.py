"""The AuditRun: one scan's findings, observed values, provenance and timings.

Every report (terminal, JSON, HTML) renders this one model; its JSON form is documented in
``docs/json-format.md`` and versioned by ``SCHEMA_VERSION``.

A run holds its findings as one compressed population per check (``models.population``), never
as a list of objects: ``iter_findings`` is the one way to read them, one at a time, with the
per-check fields joined back in. A run built from a list of findings (a schema 2.x document, a
test) is turned into populations when it is validated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from moodle_soc.models.population import (
    Examples,
    PopulationRef,
    PopulationWriter,
    default_fix_command,
    iter_lines,
    slim_row,
)
from moodle_soc.models.state import SiteState
from moodle_soc.results import Severity, Status

SCHEMA_VERSION = "3.1"

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

    model_config = ConfigDict(defer_build=True, frozen=True)

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

    model_config = ConfigDict(defer_build=True, frozen=True)

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

    model_config = ConfigDict(defer_build=True, frozen=True)

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
    # schema 3.0: what every finding of the check shares, and where its findings are
    remediation: str = ""
    fix_command: str | None = None  # on its failed findings, unless a finding says otherwise
    by_status: dict[str, int] = Field(default_factory=dict)
    population: PopulationRef | None = None
    #: schema 3.1: at most ``EXAMPLES_PER_STATUS`` rows of each status, worst first, so a
    #: summary never opens the population; None in a run stored before 3.1
    examples: tuple[dict[str, Any], ...] | None = None


class CategoryReadiness(BaseModel):
    """Readiness of one Trust Services category, counted by criteria, never by guesswork.

    A criterion is ``met`` when all findings of its mapped checks pass, a ``gap`` when any
    fails, ``error`` when any could not run, and ``manual`` when only manual evidence can
    show it. The score weighs the category's decided checks by severity
    (``checks.scoring.weighted_score``, docs/severity.md).
    """

    model_config = ConfigDict(defer_build=True, frozen=True)

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
    model_config = ConfigDict(defer_build=True, frozen=True)

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
    model_config = ConfigDict(defer_build=True, frozen=True)

    by_status: dict[str, int]
    failed_by_severity: dict[str, int]
    readiness: tuple[CategoryReadiness, ...]
    overall_score: float | None


class Incomplete(BaseModel):
    """Tables that exist but the scanning user may not read: the checks needing them are
    ``error``, so the scan as a whole is incomplete (and exits 3, docs/json-format.md)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

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
    model_config = ConfigDict(defer_build=True, frozen=True)

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
    queries: tuple[dict[str, Any], ...]
    site_state: SiteState | None = None  # schema 1.1: what the scan observed, kept as evidence
    incomplete: Incomplete | None = None  # schema 2.1: tables the scanning user may not read
    #: Each check's population (gzip'd JSON Lines), by check id: stored as blobs, written as
    #: the report's ``findings``; never part of the model's JSON form.
    populations: dict[str, bytes] = Field(default_factory=dict, exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _findings_into_populations(cls, data: Any) -> Any:
        """A document with ``findings`` (a JSON report, a schema 2.x stored run, a test's
        list) becomes populations; the check entries gain their 3.0 fields from them."""
        if isinstance(data, Mapping) and "findings" in data:
            data = dict(data)
            checks, populations = _populations(data.get("checks", ()), data.pop("findings"))
            data["checks"], data["populations"] = checks, populations
        return data

    def iter_findings(self) -> Iterator[Finding]:
        """Every finding, check by check in ``checks`` order, each in the order its check
        produced them: read from the compressed populations one at a time."""
        for check in self.checks:
            yield from self.check_findings(check)

    def check_findings(self, check: CheckSummary) -> Iterator[Finding]:
        for row in self.check_rows(check):
            yield finding_from_row(row, check)

    def check_rows(self, check: CheckSummary) -> Iterator[dict[str, Any]]:
        """The check's population rows as stored (docs/json-format.md, "finding")."""
        for line in self.check_lines(check):
            yield json.loads(line)

    def check_lines(self, check: CheckSummary) -> Iterator[str]:
        """The check's population rows as their JSON text, one per row."""
        if check.population is None:
            return
        data = self.populations.get(check.id)
        if data is None:
            raise ValueError(f"The findings of {check.id} are not loaded with this run.")
        yield from iter_lines(data)

    def check_examples(self, check: CheckSummary) -> list[Finding]:
        """The check's examples (``CheckSummary.examples``) as findings: from the run itself,
        or for a run stored before 3.1 picked from its population, a row at a time."""
        rows = check.examples
        if rows is None:
            rows = Examples.of(self.check_rows(check), check.severity.value)
        return [finding_from_row(row, check) for row in rows]

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding at once: for small runs and tests; readers of stored runs stream
        ``iter_findings`` instead."""
        return tuple(self.iter_findings())

    def expanded(self) -> dict[str, Any]:
        """The run's JSON form with ``findings`` in full, each row joined with its check (the
        2.x shape of a finding): for small runs, tests and tools that want every field."""
        document = self.model_dump(mode="json")
        document["findings"] = [f.model_dump(mode="json") for f in self.iter_findings()]
        return document

    def with_findings(self, findings: Iterable[Finding]) -> AuditRun:
        """This run with other findings (its check entries follow them)."""
        document = self.model_dump(mode="json")
        document["findings"] = [f.model_dump(mode="json") for f in findings]
        return AuditRun.model_validate(document)

    def worst_failed_severity(self) -> Severity | None:
        failed = [Severity(s) for s, n in self.summary.failed_by_severity.items() if n]
        return max(failed, key=lambda s: s.rank) if failed else None


def finding_from_row(row: Mapping[str, Any], check: CheckSummary) -> Finding:
    """A population row with its check's fields joined back in."""
    status = str(row["status"])
    if "fix_command" in row:
        fix = row["fix_command"]
    else:
        fix = default_fix_command({"fix_command": check.fix_command}, status)
    return Finding.model_validate(
        {
            "check_id": row["check_id"],
            "title": check.title,
            "status": status,
            "severity": row.get("severity", check.severity),
            "resource": row["resource"],
            "reason": row["reason"],
            "observed": row["observed"],
            "moodle_check": check.moodle_check,
            "criteria": check.criteria,
            "remediation": row.get("remediation", check.remediation),
            "fix_command": fix,
            "exception": row.get("exception"),
        }
    )


def _populations(
    checks: Iterable[Any], findings: Iterable[Any]
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Check entries (as JSON) with their 3.0 fields, and each check's population, from a list
    of findings (full 2.x findings or 3.0 rows). A finding of a check the entries do not list
    gets an entry made from it."""
    entries = [c.model_dump(mode="json") if isinstance(c, BaseModel) else dict(c) for c in checks]
    by_id = {entry["id"]: entry for entry in entries}
    made: set[str] = set()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in findings:
        found = item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)
        check_id = found["check_id"]
        if check_id not in by_id:
            by_id[check_id] = _entry_for(found)
            entries.append(by_id[check_id])
            made.add(check_id)
        grouped.setdefault(check_id, []).append(found)
    populations: dict[str, bytes] = {}
    for entry in entries:
        items = grouped.get(entry["id"], [])
        if items and not entry.get("remediation") and "title" in items[0]:
            entry["remediation"] = items[0].get("remediation", "")  # a 2.x run: the first one's
        writer = PopulationWriter()
        examples = Examples(str(entry["severity"]))
        counts = {status.value: 0 for status in Status}
        for found in items:
            row = slim_row(found, entry)
            writer.add(row)
            examples.add(row)
            counts[str(row["status"])] += 1
        entry["by_status"], entry["findings"] = counts, len(items)
        entry["examples"] = examples.rows()
        if entry["id"] in made:
            entry["status"] = worst_status([Status(s) for s, n in counts.items() if n]).value
        entry["population"] = None
        if items:
            populations[entry["id"]], ref = writer.finish()
            entry["population"] = ref.model_dump()
    return entries, populations


def _entry_for(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A check entry for findings whose check the run does not list (a hand-made run)."""
    check_id = str(finding["check_id"])
    return {
        "id": check_id,
        "title": finding.get("title", check_id),
        "area": check_id.split(".", 1)[0],
        "severity": finding.get("severity", Severity.INFO.value),
        "status": finding["status"],
        "moodle_check": finding.get("moodle_check"),
        "criteria": finding.get("criteria", ()),
        "rationale": "",
        "findings": 0,
        "duration_ms": 0.0,
    }


def worst_status(statuses: list[Status]) -> Status:
    """The verdict of a check over all its findings."""
    for status in _STATUS_ORDER:
        if status in statuses:
            return status
    return Status.NOT_APPLICABLE
