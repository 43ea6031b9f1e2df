"""Continuous monitoring: scan each site on its cron schedule and alert on what changed.

``tick`` is one round: the sites due (a schedule time passed since the last attempt; a site
never tried is due at once) are scanned by the given runner (local workers or Celery), their
stored runs are compared with the failures open at the last scan, and the alerts that are new
are sent (or queued for the digest). ``--once`` is one tick (for cron); the foreground monitor
(for systemd) ticks at each schedule time. Missed schedules (several schedule times passed
since the last attempt) raise an alert of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moodle_soc.fleet.alerting import (
    Alert,
    failure_alerts,
    finding_key,
    missed_alert,
    recovered_alert,
    unscanned_alert,
)
from moodle_soc.fleet.inventory import Fleet, FleetSite
from moodle_soc.fleet.notify import deliver
from moodle_soc.fleet.outcome import SiteOutcome
from moodle_soc.fleet.state import MonitorState
from moodle_soc.results import Status

if TYPE_CHECKING:
    from moodle_soc.models.run import AuditRun

Runner = Callable[[list[FleetSite], datetime], list[SiteOutcome]]
#: Loads a stored run by record number (the monitor reads what workers stored), with its
#: findings (``evidence.store.runs.load_run``).
RunLoader = Callable[[int], "AuditRun | None"]
_MAX_FIRES = 1000
_KEEP_SENT = timedelta(days=180)


def schedule_times(schedule: str, after: datetime, until: datetime) -> list[datetime]:
    """The schedule's times in (after, until], oldest first (at most 1000)."""
    from croniter import croniter

    found: list[datetime] = []
    times = croniter(schedule, after)
    while len(found) < _MAX_FIRES:
        moment: datetime = times.get_next(datetime)
        if moment > until:
            break
        found.append(moment)
    return found


def next_time(schedule: str, after: datetime) -> datetime:
    from croniter import croniter

    moment: datetime = croniter(schedule, after).get_next(datetime)
    return moment


def due_sites(
    sites: Sequence[FleetSite], state: MonitorState, now: datetime
) -> tuple[list[FleetSite], dict[str, list[datetime]]]:
    """The sites to scan now, and for each the schedule times it missed."""
    due, missed = [], {}
    for site in sites:
        if site.schedule is None:
            continue
        last = state.site(site.name).last_attempt
        if last is None:
            due.append(site)
            continue
        times = schedule_times(site.schedule, last, now)
        if times:
            due.append(site)
            if len(times) > 1:
                missed[site.name] = times[:-1]
    return due, missed


@dataclass
class TickReport:
    outcomes: list[SiteOutcome] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)  # new this tick
    sent: list[Alert] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # channels that failed


def tick(
    fleet: Fleet,
    state: MonitorState,
    *,
    now: datetime,
    runner: Runner,
    load_run: RunLoader,
    sites: Sequence[FleetSite] | None = None,
) -> TickReport:
    """One round: scan what is due, update ``state``, send (or queue) the new alerts."""
    report = TickReport()
    due, missed = due_sites(sites if sites is not None else fleet.sites, state, now)
    alerts: list[Alert] = []
    for name, times in missed.items():
        site = fleet.site(name)
        alerts.append(missed_alert(site.name, site.client, now, times))
    if due:
        report.outcomes = runner(due, now)
    for outcome in report.outcomes:
        alerts += _outcome_alerts(state, outcome, now, load_run, fleet)
    report.alerts = state.fresh(alerts)
    state.pending.extend(report.alerts)
    _send(fleet, state, now, report)
    cutoff = now - _KEEP_SENT
    state.sent = {k: v for k, v in state.sent.items() if v >= cutoff}
    return report


def _outcome_alerts(
    state: MonitorState, outcome: SiteOutcome, now: datetime, load_run: RunLoader, fleet: Fleet
) -> list[Alert]:
    site = state.site(outcome.site)
    site.last_attempt = now
    if not outcome.scanned:
        if site.unscanned_since is None:
            site.unscanned_since = now
        return [unscanned_alert(outcome.site, outcome.client, now, outcome.reason)]
    alerts: list[Alert] = []
    if site.unscanned_since is not None:
        since = site.unscanned_since.isoformat(timespec="minutes")
        alerts.append(recovered_alert(outcome.site, outcome.client, now, since))
        state.forget(f"{outcome.site}|unscanned")
        site.unscanned_since = None
    site.last_success = now
    run = load_run(outcome.record_seq) if outcome.record_seq is not None else None
    if run is None:
        return alerts
    failing, settled = _findings(run)
    before = None if site.open_failures is None else set(site.open_failures)
    alerts += failure_alerts(
        outcome.site, outcome.client, now, failing, before, settled, fleet.alerts
    )
    for key in settled & (before or set()):  # fixed: a new failure of it alerts again
        state.forget(f"{outcome.site}|fail|{key}")
    for key in set(failing) - (before or set()):
        state.forget(f"{outcome.site}|fixed|{key}")
    still_open = (before or set()) - settled - set(failing)  # now an error: not shown fixed
    site.open_failures = sorted(set(failing) | still_open)
    site.last_record_seq = outcome.record_seq
    return alerts


def _findings(run: AuditRun) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The failing findings (what an alert names of each) and the keys of the settled ones."""
    failing: dict[str, dict[str, Any]] = {}
    settled: set[str] = set()
    for finding in run.iter_findings():
        key = finding_key(finding.check_id, finding.resource)
        if finding.status is Status.FAIL:
            failing[key] = {
                "check_id": finding.check_id,
                "resource": finding.resource,
                "reason": finding.reason,
                "severity": finding.severity.value,
            }
        elif finding.status is not Status.ERROR:
            settled.add(key)
    return failing, settled


def _send(fleet: Fleet, state: MonitorState, now: datetime, report: TickReport) -> None:
    settings = fleet.alerts
    digest = settings.mode == "digest"
    if digest:
        if state.last_digest is None:  # the first digest covers from now on
            state.last_digest = now
            return
        if not schedule_times(settings.digest_schedule, state.last_digest, now):
            return
    batch = list(state.pending)
    if batch and settings.configured:
        report.problems = deliver(settings, batch, digest=digest)
    if report.problems:
        return  # kept pending: the next tick tries again
    for alert in batch:
        state.sent[alert.fingerprint] = now
    report.sent = batch
    state.pending = []
    if digest:
        state.last_digest = now


def next_wake(fleet: Fleet, state: MonitorState, now: datetime, cap: float = 300.0) -> float:
    """Seconds until something is due (a site's schedule or the digest), at most ``cap``."""
    moments = [
        next_time(site.schedule, state.site(site.name).last_attempt or now)
        for site in fleet.sites
        if site.schedule is not None
    ]
    if fleet.alerts.mode == "digest":
        moments.append(next_time(fleet.alerts.digest_schedule, state.last_digest or now))
    if not moments:
        return cap
    return max(0.0, min(cap, (min(moments) - now).total_seconds()))
