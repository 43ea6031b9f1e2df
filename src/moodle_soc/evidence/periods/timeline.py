"""Did each control operate throughout the period? The SOC 2 Type II view of stored runs.

A day is a UTC calendar day of a run's audit time; only runs audited inside the period count,
and only contemporaneous ones: a run the store recorded more than the policy's
``max_recording_delay_hours`` after its audit time (a backdated ``--as-of`` scan, a
reconstruction) is listed as reconstructed and never counts as a monitored day.
For each control and day, over the runs that day that ran its check (a scan limited with
``--check`` tests only some): ``fail`` when any has a failed finding for it, ``pass`` when all
passed (or found it not applicable), else ``unknown`` (no run ran it that day, or it errored or
needed manual evidence). A control that failed on
any day is an exception; one operated throughout when it has neither fail nor unknown days.

Stable API (the export package calls these): ``period_report``, ``build_period_report``,
``RunView``, and the ``PeriodReport`` model (``schema_version``). The page is rendered by
``reports.period.render_period_html``, which knows nothing of the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from moodle_soc.evidence.periods.history import finding_histories
from moodle_soc.evidence.periods.log_reviews import log_reviews_in_period
from moodle_soc.evidence.periods.reviews import access_reviews_in_period
from moodle_soc.evidence.store.runs import load_run
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.models.period import (
    ControlPeriod,
    DateRange,
    DayCell,
    DayStatus,
    PeriodReport,
    RunRef,
)
from moodle_soc.models.records import (
    DEFAULT_MAX_RECORDING_DELAY_HOURS,
    RecordKind,
    SiteRef,
    StoredRecord,
    is_reconstructed,
)
from moodle_soc.results import Status

if TYPE_CHECKING:
    from moodle_soc.models.run import AuditRun, Finding

_PASSING = (Status.PASS, Status.NOT_APPLICABLE)


@dataclass(frozen=True)
class RunView:
    """What the period maths needs of one stored run: per-check verdicts and failed findings."""

    seq: int
    record_hash: str
    audit_time: datetime
    verdicts: Mapping[str, DayStatus]
    failing: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    meta: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)  # title, area, sev
    recorded_at: datetime | None = None  # when the store recorded it (None: recorded live)
    score: float | None = None  # the run's overall readiness score
    unreadable_tables: tuple[str, ...] = ()  # the run was incomplete: tables it could not read

    def reconstructed(self, max_delay_hours: int) -> bool:
        return self.recorded_at is not None and is_reconstructed(
            self.audit_time, self.recorded_at, max_delay_hours
        )

    @property
    def day(self) -> date:
        return self.audit_time.astimezone(UTC).date()

    @classmethod
    def from_run(cls, record: StoredRecord, run: AuditRun) -> RunView:
        return cls.from_parts(record.seq, record.record_hash, record.created_at, run)

    @classmethod
    def from_parts(
        cls, seq: int, record_hash: str, recorded_at: datetime | None, run: AuditRun
    ) -> RunView:
        """The view of a run from its record's number, hash and recording time (an exported
        package regenerates its period report from these, without a store)."""
        statuses: dict[str, list[Status]] = {c.id: [] for c in run.checks}
        failing = {}
        for f in run.iter_findings():
            statuses.setdefault(f.check_id, []).append(f.status)
            if f.status in (Status.FAIL, Status.ACCEPTED):  # an accepted risk did not operate
                failing[(f.check_id, f.resource)] = (f.severity.value, _with_exception(f))
        verdicts = {cid: _verdict(s) for cid, s in statuses.items()}
        meta = {c.id: (c.title, c.area, c.severity.value) for c in run.checks}
        return cls(
            seq,
            record_hash,
            run.audit_time,
            verdicts,
            failing,
            meta,
            recorded_at=recorded_at,
            score=run.summary.overall_score,
            unreadable_tables=run.incomplete.unreadable_tables if run.incomplete else (),
        )

    def ref(self, max_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS) -> RunRef:
        failed = sum(1 for v in self.verdicts.values() if v == "fail")
        return RunRef(
            seq=self.seq,
            record_hash=self.record_hash,
            audit_time=self.audit_time,
            day=self.day,
            failed_checks=failed,
            recorded_at=self.recorded_at,
            reconstructed=self.reconstructed(max_delay_hours),
            score=self.score,
            unreadable_tables=list(self.unreadable_tables),
        )


def _with_exception(finding: Finding) -> str:
    """The finding's reason, with the exception that accepts (or accepted) it."""
    exc = finding.exception
    if exc is None:
        return finding.reason
    return (
        f"{finding.reason} Risk exception {exc.id} ({exc.state}): approved by {exc.approver},"
        f" expires {exc.expires}."
    )


def _verdict(statuses: list[Status]) -> DayStatus:
    if Status.FAIL in statuses or Status.ACCEPTED in statuses:
        return "fail"
    return "pass" if statuses and all(s in _PASSING for s in statuses) else "unknown"


def period_report(
    store: EvidenceStore,
    site_key: str,
    start: date,
    end: date,
    *,
    generated_at: datetime | None = None,
    max_recording_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS,
) -> PeriodReport:
    """The period report of ``site_key`` for the UTC days ``start``..``end`` (inclusive)."""
    site = next((s for s in store.sites() if s.key == site_key), None)
    if site is None:
        raise StoreError(f"No site with key {site_key!r} in {store.display}.")
    records = store.records(
        site_key=site_key,
        kind=RecordKind.RUN,
        collected_from=datetime.combine(start, time.min, UTC),
        collected_to=datetime.combine(end, time.max, UTC),
    )
    views, unreadable = [], []
    for record in records:
        try:
            views.append(RunView.from_run(record, load_run(store, record)))
        except StoreError:  # cleared by retention; the seal accounts for it
            cleared = RunView(
                record.seq,
                record.record_hash,
                record.collected_at,
                {},
                recorded_at=record.created_at,
            )
            unreadable.append(cleared.ref(max_recording_delay_hours))
    report = build_period_report(
        site,
        views,
        start,
        end,
        generated_at=generated_at,
        max_recording_delay_hours=max_recording_delay_hours,
    )
    reviews = access_reviews_in_period(store, site_key, start, end)
    logs = log_reviews_in_period(store, site_key, start, end)
    reviewed = {
        r.start + timedelta(days=n) for r in logs for n in range((r.end - r.start).days + 1)
    }
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return report.model_copy(
        update={
            "unreadable_runs": unreadable,
            "access_reviews": reviews,
            "log_reviews": logs,
            "logs_unreviewed": day_ranges(d for d in days if d not in reviewed),
        }
    )


def build_period_report(
    site: SiteRef,
    runs: Iterable[RunView],
    start: date,
    end: date,
    *,
    generated_at: datetime | None = None,
    max_recording_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS,
) -> PeriodReport:
    """The period maths over ``runs``; runs audited outside the period are ignored, and runs
    recorded more than ``max_recording_delay_hours`` late are listed but never counted."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    inside = sorted((r for r in runs if start <= r.day <= end), key=lambda r: (r.audit_time, r.seq))
    late = [r for r in inside if r.reconstructed(max_recording_delay_hours)]
    used = [r for r in inside if not r.reconstructed(max_recording_delay_hours)]
    by_day: dict[date, list[RunView]] = {}
    for run in used:
        by_day.setdefault(run.day, []).append(run)
    late_by_day: dict[date, list[RunView]] = {}
    for run in late:
        late_by_day.setdefault(run.day, []).append(run)
    meta: dict[str, tuple[str, str, str]] = {}
    for run in used:
        meta.update({cid: run.meta.get(cid, (cid, cid.split(".")[0], "")) for cid in run.verdicts})
    for run in late:  # a control only a reconstructed run tested still gets its (empty) line
        for cid in run.verdicts:
            meta.setdefault(cid, run.meta.get(cid, (cid, cid.split(".")[0], "")))
    controls = [_control(cid, meta[cid], days, by_day, late_by_day) for cid in meta]
    controls.sort(key=lambda c: (not c.exception, c.operated_throughout, c.check_id))
    return PeriodReport(
        site_key=site.key,
        site_name=site.name,
        wwwroot=site.wwwroot,
        start=start,
        end=end,
        generated_at=generated_at or datetime.now(UTC),
        days=len(days),
        days_scanned=len(by_day),
        monitoring_gaps=day_ranges(d for d in days if d not in by_day),
        runs=[r.ref(max_recording_delay_hours) for r in used],
        unreadable_runs=[],
        controls=controls,
        exceptions=[c.check_id for c in controls if c.exception],
        findings=finding_histories(used),
        max_recording_delay_hours=max_recording_delay_hours,
        reconstructed_runs=[r.ref(max_recording_delay_hours) for r in late],
        reconstructed_days=sorted(d for d in late_by_day if d not in by_day),
    )


def _day_status(check_id: str, runs: list[RunView]) -> DayStatus:
    verdicts = [run.verdicts[check_id] for run in runs if check_id in run.verdicts]
    if "fail" in verdicts:
        return "fail"
    return "pass" if verdicts and all(v == "pass" for v in verdicts) else "unknown"


def _control(
    check_id: str,
    meta: tuple[str, str, str],
    days: list[date],
    by_day: dict[date, list[RunView]],
    late_by_day: dict[date, list[RunView]],
) -> ControlPeriod:
    ran = {d: [r for r in runs if check_id in r.verdicts] for d, runs in by_day.items()}
    late = {d: sum(1 for r in runs if check_id in r.verdicts) for d, runs in late_by_day.items()}
    timeline = [
        DayCell(
            day=d,
            status=_day_status(check_id, ran.get(d, [])),
            runs=len(ran.get(d, [])),
            reconstructed_runs=late.get(d, 0),
        )
        for d in days
    ]
    failed = [c.day for c in timeline if c.status == "fail"]
    last = failed[-1] if failed else None
    fixed = next((c.day for c in timeline if last and c.day > last and c.status == "pass"), None)
    counts = {s: sum(1 for c in timeline if c.status == s) for s in ("pass", "fail", "unknown")}
    return ControlPeriod(
        check_id=check_id,
        title=meta[0],
        area=meta[1],
        severity=meta[2],
        days_pass=counts["pass"],
        days_fail=counts["fail"],
        days_unknown=counts["unknown"],
        first_failure=failed[0] if failed else None,
        last_failure=last,
        fixed_on=fixed,
        still_failing=bool(failed) and fixed is None,
        exception=bool(failed),
        exception_days=failed,
        exception_ranges=day_ranges(failed),
        operated_throughout=counts["pass"] == len(days),
        timeline=timeline,
    )


def day_ranges(days: Iterable[date]) -> list[DateRange]:
    """Consecutive runs of ``days`` (in order) as ranges."""
    ranges: list[DateRange] = []
    for day in days:
        if ranges and ranges[-1].end + timedelta(days=1) == day:
            ranges[-1] = DateRange(start=ranges[-1].start, end=day, days=ranges[-1].days + 1)
        else:
            ranges.append(DateRange(start=day, end=day, days=1))
    return ranges
