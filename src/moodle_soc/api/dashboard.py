"""What the web dashboard shows, read from the evidence store: per-site overviews, findings
with their history, a check's page, the stored runs and attachments.

Every function takes an open store and a site key, and optionally ``within`` (UTC days,
inclusive): an auditor's view only ever contains the runs of their audit period. Stored runs
are immutable, so parsed runs are kept in a small cache keyed by their record hash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from moodle_soc.errors import BadInputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.frameworks import FrameworkScore
    from moodle_soc.models.period import DateRange, FindingHistory, PeriodReport
    from moodle_soc.models.records import SiteRef, StoredRecord
    from moodle_soc.models.run import AuditRun, CategoryReadiness

Within = tuple[date, date] | None
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
MONITORING_WINDOW_DAYS = 30
_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, str], AuditRun] = OrderedDict()
_cache_lock = threading.Lock()
_views: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
T = TypeVar("T")


@dataclass(frozen=True)
class SiteCard:
    """One line of the sites list."""

    site: SiteRef
    runs: int
    last_scan: datetime | None
    overall_score: float | None
    failed_checks: int


@dataclass(frozen=True)
class TrendPoint:
    audit_time: datetime
    seq: int
    overall: float | None
    categories: dict[str, float | None]


@dataclass(frozen=True)
class FailingResource:
    resource: str
    reason: str


@dataclass(frozen=True)
class FailingCheck:
    check_id: str
    title: str
    severity: str
    resources: list[FailingResource]  # examples: at most 20
    count: int  # every resource that failed the check


@dataclass(frozen=True)
class SiteOverview:
    site: SiteRef
    last_scan: datetime | None
    last_run_seq: int | None
    overall_score: float | None
    readiness: list[CategoryReadiness]
    by_status: dict[str, int]
    trend: list[TrendPoint]
    failing: list[FailingCheck]
    monitoring_window: tuple[date, date]
    monitoring_gaps: list[DateRange]
    frameworks: list[FrameworkScore] = field(default_factory=list)  # the latest run, each built-in


@dataclass(frozen=True)
class CheckRun:
    seq: int
    audit_time: datetime
    status: str
    failed_resources: int


@dataclass(frozen=True)
class CheckPage:
    site: SiteRef
    check_id: str
    title: str
    area: str
    severity: str
    rationale: str
    criteria: tuple[str, ...]
    remediation: str
    fix_command: str | None
    moodle_check: str | None
    history: list[CheckRun]
    latest_findings: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RunRow:
    seq: int
    record_hash: str
    audit_time: datetime
    overall_score: float | None
    failed_checks: int
    signed: bool
    readable: bool


@dataclass(frozen=True)
class AttachmentRow:
    seq: int
    record_hash: str
    filename: str
    control: str
    effective_date: date | None
    collected_by: str
    size: int
    sha256: str


def dashboard_sites(store: EvidenceStore, allowed: tuple[str, ...] = ()) -> list[SiteCard]:
    """Every site of the store (or only the ``allowed`` keys) with its latest scan."""
    from moodle_soc.models.records import RecordKind

    cards = []
    for site in store.sites():
        if allowed and site.key not in allowed:
            continue
        records = store.records(site_key=site.key, kind=RecordKind.RUN)
        latest = _run(store, records[-1]) if records else None
        cards.append(
            SiteCard(
                site=site,
                runs=len(records),
                last_scan=latest.audit_time if latest else None,
                overall_score=latest.summary.overall_score if latest else None,
                failed_checks=sum(c.status.value == "fail" for c in latest.checks) if latest else 0,
            )
        )
    return cards


def site_overview(
    store: EvidenceStore, site_key: str, *, within: Within = None, today: date | None = None
) -> SiteOverview:
    """Readiness per category and its trend, the failing checks with their resources, the last
    scan and the days of the monitoring window (the last 30, or the period's end) without one."""
    day = today or datetime.now(UTC).date()
    return _memo(
        store, site_key, ("overview", within, day), lambda: _overview(store, site_key, within, day)
    )


def _overview(store: EvidenceStore, site_key: str, within: Within, today: date) -> SiteOverview:
    from moodle_soc.evidence.periods.timeline import day_ranges

    site = _site(store, site_key)
    runs = _runs(store, site_key, within)
    latest = runs[-1][1] if runs else None
    end = today
    if within is not None:
        end = min(end, within[1])
    start = end - timedelta(days=MONITORING_WINDOW_DAYS - 1)
    if within is not None:
        start = max(start, within[0])
    scanned = {run.audit_time.astimezone(UTC).date() for _, run in runs}
    missing = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    trend = [
        TrendPoint(
            audit_time=run.audit_time,
            seq=record.seq,
            overall=run.summary.overall_score,
            categories={c.category: c.score for c in run.summary.readiness},
        )
        for record, run in runs
    ]
    return SiteOverview(
        site=site,
        last_scan=latest.audit_time if latest else None,
        last_run_seq=runs[-1][0].seq if runs else None,
        overall_score=latest.summary.overall_score if latest else None,
        readiness=list(latest.summary.readiness) if latest else [],
        by_status=dict(latest.summary.by_status) if latest else {},
        trend=trend,
        failing=_failing(latest) if latest else [],
        monitoring_window=(start, end),
        monitoring_gaps=day_ranges(d for d in missing if d not in scanned),
        frameworks=_frameworks(latest) if latest else [],
    )


def _frameworks(run: AuditRun) -> list[FrameworkScore]:
    from moodle_soc.api.frameworks import list_frameworks, score_frameworks

    return list(score_frameworks(run, list_frameworks()))


def site_findings(
    store: EvidenceStore,
    site_key: str,
    *,
    within: Within = None,
    state: str = "all",
    severity: str | None = None,
    check: str | None = None,
) -> list[FindingHistory]:
    """Every (check, resource) that failed in the runs, with when it was first seen and fixed;
    ``state`` open (still failing), fixed or all; filtered by severity and check id prefix."""
    if state not in ("all", "open", "fixed"):
        raise BadInputError(f"state {state!r} must be all, open or fixed.")
    found = _memo(
        store, site_key, ("histories", within), lambda: _histories(store, site_key, within)
    )
    if state == "open":
        found = [f for f in found if f.resolved_at is None]
    elif state == "fixed":
        found = [f for f in found if f.resolved_at is not None]
    if severity:
        found = [f for f in found if f.severity == severity]
    if check:
        found = [f for f in found if f.check_id.startswith(check)]
    return sorted(
        found, key=lambda f: (f.resolved_at is not None, -SEVERITY_RANK.get(f.severity, 0),
                              f.check_id, f.resource),
    )  # fmt: skip


def check_page(
    store: EvidenceStore, site_key: str, check_id: str, *, within: Within = None
) -> CheckPage:
    """A check as the site's runs saw it: why it matters, how to fix it, and its history."""
    return _memo(store, site_key, ("check", check_id, within),
                 lambda: _check_page(store, site_key, check_id, within))  # fmt: skip


def _check_page(store: EvidenceStore, site_key: str, check_id: str, within: Within) -> CheckPage:
    site = _site(store, site_key)
    runs = _runs(store, site_key, within)
    history = []
    summary, findings = None, []
    for record, run in runs:
        found = next((c for c in run.checks if c.id == check_id), None)
        if found is None:
            continue
        summary = found
        findings = list(run.check_findings(found))
        failed = sum(f.status.value == "fail" for f in findings)
        history.append(CheckRun(record.seq, run.audit_time, found.status.value, failed))
    if summary is None:
        raise BadInputError(f"No stored run of this site ran the check {check_id!r}.")
    first = findings[0] if findings else None
    return CheckPage(
        site=site,
        check_id=check_id,
        title=summary.title,
        area=summary.area,
        severity=summary.severity.value,
        rationale=summary.rationale,
        criteria=summary.criteria,
        remediation=first.remediation if first else "",
        fix_command=first.fix_command if first else None,
        moodle_check=summary.moodle_check,
        history=history,
        latest_findings=[
            {"status": f.status.value, "resource": f.resource, "reason": f.reason} for f in findings
        ],
    )


def site_runs(store: EvidenceStore, site_key: str, *, within: Within = None) -> list[RunRow]:
    """The site's stored scan runs, newest first."""
    return _memo(store, site_key, ("runs", within), lambda: _site_runs(store, site_key, within))


def _site_runs(store: EvidenceStore, site_key: str, within: Within) -> list[RunRow]:
    from moodle_soc.evidence.store.store import StoreError
    from moodle_soc.models.records import RecordKind

    _site(store, site_key)
    rows = []
    for record in _records(store, site_key, RecordKind.RUN, within):
        try:
            run = _run(store, record)
        except StoreError:  # cleared by retention; the seal accounts for it
            rows.append(RunRow(record.seq, record.record_hash, record.collected_at, None, 0,
                               record.signature is not None, readable=False))  # fmt: skip
            continue
        rows.append(
            RunRow(
                seq=record.seq,
                record_hash=record.record_hash,
                audit_time=run.audit_time,
                overall_score=run.summary.overall_score,
                failed_checks=sum(c.status.value == "fail" for c in run.checks),
                signed=record.signature is not None,
                readable=True,
            )
        )
    return rows[::-1]


def site_attachments(
    store: EvidenceStore, site_key: str, *, within: Within = None
) -> list[AttachmentRow]:
    """Manual evidence attached to the site (effective in ``within``), newest first."""
    from moodle_soc.models.records import RecordKind

    _site(store, site_key)
    rows = []
    for record in store.records(site_key=site_key, kind=RecordKind.ATTACHMENT):
        day = record.effective_date
        if within is not None and (day is None or not within[0] <= day <= within[1]):
            continue
        payload = store.payload(record)
        if not isinstance(payload, dict):
            continue
        rows.append(
            AttachmentRow(
                seq=record.seq,
                record_hash=record.record_hash,
                filename=str(payload.get("filename", "")),
                control=str(payload.get("control", "")),
                effective_date=day,
                collected_by=str(payload.get("collected_by", "")),
                size=int(payload.get("size", 0)),
                sha256=str(payload.get("sha256", "")),
            )
        )
    return rows[::-1]


def site_period(store: EvidenceStore, site_key: str, start: date, end: date) -> PeriodReport:
    """``api.period_report`` of the site, kept until its chain grows (the dashboard's page)."""
    from moodle_soc.evidence.periods.timeline import period_report

    if end < start:
        raise BadInputError(f"The period {start}..{end} ends before it starts.")
    return _memo(store, site_key, ("period", start, end),
                 lambda: period_report(store, site_key, start, end))  # fmt: skip


@dataclass(frozen=True)
class RecordRow:
    """An evidence record's header: what it is, when, and whether it is signed or sealed."""

    seq: int
    kind: str
    collected_at: datetime
    effective_date: date | None
    record_hash: str
    signed: bool
    cleared: bool


def site_records(store: EvidenceStore, site_key: str, *, within: Within = None) -> list[RecordRow]:
    """The site's other evidence records (populations, samples, change populations, log
    reviews, access reviews, exceptions, seals: everything but runs and attachments), newest
    first."""
    _site(store, site_key)
    start = datetime.combine(within[0], time.min, UTC) if within else None
    end = datetime.combine(within[1], time.max, UTC) if within else None
    rows = [
        RecordRow(
            r.seq,
            r.kind,
            r.collected_at,
            r.effective_date,
            r.record_hash,
            r.signature is not None,
            r.pruned_by is not None,
        )
        for r in store.records(site_key=site_key, collected_from=start, collected_to=end)
        if r.kind not in ("run", "attachment")
    ]
    return rows[::-1]


@dataclass(frozen=True)
class AttachmentFile:
    filename: str
    media_type: str
    data: bytes


def attachment_file(
    store: EvidenceStore, site_key: str, seq: int, *, within: Within = None
) -> AttachmentFile:
    """The bytes of one of the site's attachments, checked against the SHA-256 its record
    holds (a changed or missing file is refused, never served)."""
    import hashlib

    found = next((a for a in site_attachments(store, site_key, within=within) if a.seq == seq),
                 None)  # fmt: skip
    if found is None:
        raise BadInputError(f"Record {seq} is not an attachment of this site you may see.")
    data = store.get_blob(found.sha256)
    if data is None or hashlib.sha256(data).hexdigest() != found.sha256:
        raise BadInputError(
            f"The file of attachment {seq} ({found.filename}) is missing or does not match its"
            " recorded SHA-256; run 'moodle-soc evidence verify'."
        )
    payload = store.payload(store.get(str(seq)))
    media = str(payload.get("media_type", "")) if isinstance(payload, dict) else ""
    return AttachmentFile(found.filename, media or "application/octet-stream", data)


def latest_run_within(store: EvidenceStore, site_key: str, *, within: Within = None) -> AuditRun:
    """The site's newest readable run (in ``within``): what the HTML/JSON report renders."""
    runs = _runs(store, site_key, within)
    if not runs:
        raise BadInputError("This site has no stored scan run in the period shown.")
    return runs[-1][1]


# --- reading runs --------------------------------------------------------------------------


def _memo(
    store: EvidenceStore, site_key: str, what: tuple[Any, ...], compute: Callable[[], T]
) -> T:
    """``compute()``, kept while the site's chain head is unchanged: any record appended to the
    chain (a run, a decision, a seal) makes a new head, and so a fresh answer."""
    key = (store.location, site_key, store.head(site_key), *what)
    with _cache_lock:
        if key in _views:
            _views.move_to_end(key)
            return _views[key]  # type: ignore[no-any-return]
    value = compute()
    with _cache_lock:
        _views[key] = value
        while len(_views) > _CACHE_SIZE:
            _views.popitem(last=False)
    return value


def _histories(store: EvidenceStore, site_key: str, within: Within) -> list[FindingHistory]:
    from moodle_soc.evidence.periods.history import finding_histories
    from moodle_soc.evidence.periods.timeline import RunView

    _site(store, site_key)
    views = [RunView.from_run(record, run) for record, run in _runs(store, site_key, within)]
    return finding_histories(sorted(views, key=lambda v: v.audit_time))


def _site(store: EvidenceStore, site_key: str) -> SiteRef:
    found = next((s for s in store.sites() if s.key == site_key), None)
    if found is None:
        raise BadInputError(f"No site with key {site_key!r} in the evidence store.")
    return found


def _records(store: EvidenceStore, site_key: str, kind: str, within: Within) -> list[StoredRecord]:
    start = datetime.combine(within[0], time.min, UTC) if within else None
    end = datetime.combine(within[1], time.max, UTC) if within else None
    return store.records(site_key=site_key, kind=kind, collected_from=start, collected_to=end)


def _runs(
    store: EvidenceStore, site_key: str, within: Within
) -> list[tuple[StoredRecord, AuditRun]]:
    """The site's readable runs in ``within``, in audit-time order."""
    from moodle_soc.evidence.store.store import StoreError
    from moodle_soc.models.records import RecordKind

    found = []
    for record in _records(store, site_key, RecordKind.RUN, within):
        try:
            found.append((record, _run(store, record)))
        except StoreError:
            continue  # cleared by retention
    return sorted(found, key=lambda pair: pair[1].audit_time)


def _run(store: EvidenceStore, record: StoredRecord) -> AuditRun:
    from moodle_soc.evidence.store.runs import load_run
    from moodle_soc.evidence.store.store import StoreError

    if record.pruned_by is not None:
        raise StoreError(f"Record {record.seq}'s payload was cleared by retention.")
    key = (store.location, record.record_hash)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    run = load_run(store, record)
    with _cache_lock:
        _cache[key] = run
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return run


def _failing(run: AuditRun) -> list[FailingCheck]:
    """The failing checks, worst first, each with its failed examples (at most 20, from the
    stored run: no population is opened) and how many resources failed it."""
    from moodle_soc.reports.summaries import examples_by_check, failing_checks

    return [
        FailingCheck(
            c.check.id,
            c.check.title,
            c.worst.severity.value,
            [FailingResource(f.resource, f.reason) for f in c.shown],
            c.count,
        )
        for c in failing_checks(run, examples_by_check(run))
    ]
