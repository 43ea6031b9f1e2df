"""Run checks against a site: collect once, judge many, never stop at one broken check."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic_core import to_jsonable_python

from moodle_soc import __version__
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.exceptions import apply_exceptions
from moodle_soc.checks.registry import CheckSpec, all_checks
from moodle_soc.checks.scoring import RunTally, summarize
from moodle_soc.errors import CannotConnectError, MoodleSocError
from moodle_soc.frameworks import Catalogue, load_catalogue
from moodle_soc.models.population import (
    Examples,
    PopulationWriter,
    default_fix_command,
    slim_row,
)
from moodle_soc.models.run import (
    AuditRun,
    CheckSummary,
    Finding,
    Incomplete,
    SiteInfo,
    worst_status,
)
from moodle_soc.results import Result, Severity, Status
from moodle_soc.site.db import MissingTableError
from moodle_soc.site.defaults import declared, tracked_settings
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.site.state import build_site_state

if TYPE_CHECKING:
    from moodle_soc.checks.exceptions import ExceptionOnRecord

Progress = Callable[[CheckSpec], None]


def _safe_message(exc: BaseException, site: MoodleSite) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return site.scrub(text)[:300].rstrip(".")


class Sink(Protocol):
    """Where a check's results go, one at a time, as the check yields them."""

    count: int

    def add(self, result: Result) -> None: ...


S = TypeVar("S", bound=Sink)


class _Listed:
    def __init__(self) -> None:
        self.results: list[Result] = []
        self.count = 0

    def add(self, result: Result) -> None:
        self.results.append(result)
        self.count += 1


def evaluate(spec: CheckSpec, scan: ScanContext) -> list[Result]:
    """Run one check; anything it cannot decide becomes an honest error or n/a result. (As a
    list, for one check; a scan streams the results through ``judge`` instead.)"""
    return judge(spec, scan, _Listed).results


def judge(spec: CheckSpec, scan: ScanContext, start: Callable[[], S]) -> S:
    """Run one check into a sink made by ``start``, result by result. A check that fails
    part-way counts as it always did: its results so far are dropped (a fresh sink) and it
    is one honest error or n/a result, never a partial pass."""
    site = scan.site
    unreadable = [table for table in spec.requires_tables if table in site.db.unreadable]
    if unreadable:
        tables = ", ".join(site.identity.prefix + t for t in unreadable)
        who = site.db.engine.url.username or "the scanning user"
        return _only(
            start,
            Result.error(
                f"Table(s) {tables} exist but {who} may not read them, so this control could"
                f" not be checked: GRANT SELECT ON {tables} TO {who}.",
                observed={"unreadable_tables": unreadable},
            ),
        )
    missing = [table for table in spec.requires_tables if not site.has_table(table)]
    if missing:
        return _only(
            start,
            Result.not_applicable(
                f"Table {site.identity.prefix}{missing[0]} does not exist on this site"
                f" ({site.version.describe()}), so this control cannot be read from it.",
                observed={"missing_tables": missing},
            ),
        )
    sink = start()
    try:
        for result in spec.run(scan):
            sink.add(result)
    except CannotConnectError:
        raise
    except MissingTableError as exc:
        return _only(
            start,
            Result.not_applicable(
                f"{exc.message.rstrip('.')}, so this control cannot be read from this site.",
                observed={"missing_tables": [exc.table]},
            ),
        )
    except MoodleSocError as exc:
        return _only(start, Result.error(f"{exc.message.rstrip('.')}."))
    except Exception as exc:  # the runner is the one place that turns any failure into `error`
        return _only(
            start,
            Result.error(f"The check failed: {type(exc).__name__}: {_safe_message(exc, site)}."),
        )
    if not sink.count:
        return _only(
            start, Result.error("The check produced no result, so it cannot be counted as passed.")
        )
    return sink


def _only(start: Callable[[], S], result: Result) -> S:
    sink = start()
    sink.add(result)
    return sink


class CheckOutcome:
    """One check's findings as they stream in: written to its compressed population and
    counted, with at most ``EXAMPLES_PER_STATUS`` examples of each status kept; the findings
    themselves are never held, so memory does not grow with their number."""

    def __init__(
        self,
        spec: CheckSpec,
        criteria: tuple[str, ...],
        branch: str,
        exceptions: Sequence[ExceptionOnRecord],
        audit_time: datetime,
    ) -> None:
        self.spec, self.criteria, self.branch = spec, criteria, branch
        self.exceptions, self.audit_time = exceptions, audit_time
        self.entry = {
            "severity": spec.severity.value,
            "remediation": spec.remediation,
            "fix_command": spec.fix_command,
        }
        self.writer = PopulationWriter()
        self.examples = Examples(spec.severity.value)
        self.seen: dict[tuple[Status, Severity], int] = {}  # findings by status and severity
        self.count = 0

    def add(self, result: Result) -> None:
        if self.exceptions and result.status is Status.FAIL:
            finding = apply_exceptions([self._finding(result)], self.exceptions, self.audit_time)[0]
            row = slim_row(finding.model_dump(mode="json"), self.entry)
            status, severity = finding.status, finding.severity
        else:
            row, status, severity = self._row(result)
        self.writer.add(row)
        self.examples.add(row)
        key = (status, severity)
        self.seen[key] = self.seen.get(key, 0) + 1
        self.count += 1

    def _row(self, result: Result) -> tuple[dict[str, Any], Status, Severity]:
        """The finding's population row, made directly: what ``slim_row`` makes of the
        ``Finding`` (``_finding``), without building and dumping a model per finding."""
        spec = self.spec
        severity = result.severity or spec.severity
        row: dict[str, Any] = {
            "check_id": spec.id,
            "status": result.status.value,
            "resource": result.resource,
            "reason": result.reason,
            "observed": to_jsonable_python(dict(result.observed)),
        }
        if severity is not spec.severity:
            row["severity"] = severity.value
        remediation = _remediation(spec, result, self.branch)
        if remediation != spec.remediation:
            row["remediation"] = remediation
        fix = _fix_command(spec, result, self.branch)
        if fix != default_fix_command(self.entry, result.status.value):
            row["fix_command"] = fix
        return row, result.status, severity

    def _finding(self, result: Result) -> Finding:
        spec = self.spec
        return Finding(
            check_id=spec.id,
            title=spec.title,
            status=result.status,
            severity=result.severity or spec.severity,
            resource=result.resource,
            reason=result.reason,
            observed=dict(result.observed),
            moodle_check=spec.moodle_check,
            criteria=self.criteria,
            remediation=_remediation(spec, result, self.branch),
            fix_command=_fix_command(spec, result, self.branch),
        )

    @property
    def by_status(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for (status, _), n in self.seen.items():
            counts[status.value] += n
        return counts

    @property
    def tally(self) -> RunTally:
        tally = RunTally()
        for (status, severity), n in self.seen.items():
            tally.count(self.spec.id, status, severity, n)
        return tally

    def summary(self, elapsed_ms: float) -> tuple[CheckSummary, bytes]:
        spec = self.spec
        data, population = self.writer.finish()
        summary = CheckSummary(
            id=spec.id,
            title=spec.title,
            area=spec.area,
            severity=spec.severity,
            status=worst_status([Status(s) for s, n in self.by_status.items() if n]),
            moodle_check=spec.moodle_check,
            criteria=self.criteria,
            rationale=spec.rationale,
            findings=population.rows,
            duration_ms=round(elapsed_ms, 3),
            remediation=spec.remediation,
            fix_command=spec.fix_command,
            by_status=self.by_status,
            population=population,
            examples=self.examples.rows(),
        )
        return summary, data


def run_scan(
    scan: ScanContext,
    *,
    checks: Iterable[CheckSpec] | None = None,
    catalogue: Catalogue | None = None,
    progress: Progress | None = None,
) -> AuditRun:
    started = datetime.now(UTC)
    site, policy = scan.site, scan.policy
    catalogue = catalogue or load_catalogue()
    specs = list(checks) if checks is not None else list(all_checks())
    # Fails fast on a non-Moodle or too old site before any check.
    branch = site.version.label
    exceptions = scan.on_record.exceptions if scan.on_record is not None else ()
    summaries: list[CheckSummary] = []
    populations: dict[str, bytes] = {}
    tally = RunTally()
    for spec in specs:
        if progress is not None:
            progress(spec)
        began = time.perf_counter()
        criteria = catalogue.criteria_for_check(spec.id)

        def start(spec: CheckSpec = spec, criteria: tuple[str, ...] = criteria) -> CheckOutcome:
            return CheckOutcome(spec, criteria, branch, exceptions, site.audit_time)

        outcome = judge(spec, scan, start)
        summary, populations[spec.id] = outcome.summary((time.perf_counter() - began) * 1000)
        tally.merge(outcome.tally)
        summaries.append(summary)
    version = site.version
    identity = site.identity
    state = build_site_state(site)  # after the checks, so it holds every setting they read
    return AuditRun(
        tool={"name": "moodle-soc", "version": __version__},
        catalogue_version=catalogue.version,
        site=SiteInfo(
            name=identity.name,
            wwwroot=identity.wwwroot,
            siteidentifier=identity.siteidentifier,
            database=identity.database,
            prefix=identity.prefix,
            moodle_version=str(version.version),
            moodle_release=version.release,
            moodle_branch=version.branch,
            moodle_label=version.label,
            moodle_band=version.band,
            moodle_lts=version.lts,
        ),
        audit_time=site.audit_time,
        started_at=started,
        finished_at=datetime.now(UTC),
        policy=policy.model_dump(mode="json"),
        summary=summarize(
            tally, catalogue, scan.on_record.out_of_scope if scan.on_record else None
        ),
        checks=tuple(summaries),
        populations=populations,
        queries=site.queries,
        site_state=state,
        incomplete=_incomplete(site),
    )


def _incomplete(site: MoodleSite) -> Incomplete | None:
    """The tables this user may not read, and the GRANT that would make each readable."""
    if not site.db.unreadable:
        return None
    who = site.db.engine.url.username or "the scanning user"
    tables = tuple(sorted(site.identity.prefix + t for t in site.db.unreadable))
    return Incomplete(
        unreadable_tables=tables, grants=tuple(f"GRANT SELECT ON {t} TO {who};" for t in tables)
    )


def _fix_command(spec: CheckSpec, result: Result, branch: str) -> str | None:
    """The command that fixes a failure: the result's own when the site decides it ("" for
    none that applies), else the check's, if the site's branch has that setting at all."""
    if result.status is not Status.FAIL:
        return None
    if result.fix_command is not None:
        return result.fix_command or None
    if spec.fix is None:
        return None
    tracked = (spec.fix.plugin or "core", spec.fix.name) in tracked_settings()
    if tracked and declared(spec.fix.plugin, spec.fix.name, branch) is None:
        return None  # the branch has no such setting: cfg.php would only add a dead row
    return spec.fix.command


def _remediation(spec: CheckSpec, result: Result, branch: str) -> str:
    """The remediation, and for a failed setting the admin page that shows it on this branch
    (pages move between releases: designer mode left "Theme settings" in 4.4)."""
    text = result.remediation or spec.remediation
    if result.status is not Status.FAIL or spec.fix is None:
        return text
    page = declared(spec.fix.plugin, spec.fix.name, branch)
    if page is None or page.admin_path in text:
        return text
    return f"{text} On Moodle {branch} the setting is on {page.admin_path}."
