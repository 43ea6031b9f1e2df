"""Remediation tracking: every failing finding of the stored scans is an item to fix, with an
owner, a due date (from its severity and the policy, unless someone set one) and an optional
ticket. An item is never closed by hand: the first later scan in which its check ran and the
resource no longer failed closes it, and a failure after that reopens it (a recurrence).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import ValidationError

from moodle_soc.errors import UsageError
from moodle_soc.evidence.store.runs import load_run
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.programme import RemediationAssignment, RemediationItem, RemediationStatus
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord
from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.policy import Policy
from moodle_soc.results import Status
from moodle_soc.safety import neutralize_formula

_FAILING = (Status.FAIL, Status.ACCEPTED)  # an accepted risk is still a failure to fix
CSV_COLUMNS = (
    "Summary", "Description", "Priority", "Assignee", "Due Date", "Status", "Labels",
    "Item ID", "Check", "Resource", "First Seen", "Ticket",
)  # fmt: skip
_PRIORITY = {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low"}


def item_id(check_id: str, resource: str) -> str:
    return "REM-" + hashlib.sha256(f"{check_id}\0{resource}".encode()).hexdigest()[:8]


@dataclass
class _Open:
    finding: Finding
    first_seen: datetime
    first_run: int
    last_failed: datetime
    last_run: int
    recurrences: int = 0
    closed_at: datetime | None = None
    closed_run: int | None = None


def remediation_items(
    store: EvidenceStore, site_key: str, as_of: datetime, policy: Policy | None = None
) -> list[RemediationItem]:
    """Every item the site's stored scans (collected up to ``as_of``) opened, oldest first."""
    policy = policy or Policy()
    tracked: dict[tuple[str, str], _Open] = {}
    for seq, run in _runs(store, site_key, as_of):
        ran = {check.id for check in run.checks}
        failing = {(f.check_id, f.resource): f for f in run.iter_findings() if f.status in _FAILING}
        for key, finding in failing.items():
            item = tracked.get(key)
            if item is None:
                tracked[key] = _Open(finding, run.audit_time, seq, run.audit_time, seq)
                continue
            if item.closed_at is not None:  # failing again after a fix: reopened
                item.recurrences += 1
                item.first_seen, item.first_run = run.audit_time, seq
                item.closed_at = item.closed_run = None
            item.finding, item.last_failed, item.last_run = finding, run.audit_time, seq
        for key, item in tracked.items():
            if item.closed_at is None and key[0] in ran and key not in failing:
                item.closed_at, item.closed_run = run.audit_time, seq
    assignments = latest_assignments(store, site_key, as_of)
    items = [
        _item(key, state, assignments.get(key), as_of, policy) for key, state in tracked.items()
    ]
    return sorted(items, key=lambda i: (i.first_seen, i.check_id, i.resource))


def _runs(store: EvidenceStore, site_key: str, as_of: datetime) -> Iterable[tuple[int, AuditRun]]:
    records = store.records(site_key=site_key, kind=RecordKind.RUN, collected_to=as_of)
    loaded = []
    for record in records:
        if store.payload_text(record) is None:
            continue  # cleared by retention
        loaded.append((record.seq, load_run(store, record)))
    return sorted(loaded, key=lambda pair: (pair[1].audit_time, pair[0]))


def latest_assignments(
    store: EvidenceStore, site_key: str, as_of: datetime
) -> dict[tuple[str, str], RemediationAssignment]:
    found: dict[tuple[str, str], RemediationAssignment] = {}
    for record in store.records(site_key=site_key, kind=RecordKind.REMEDIATION_ASSIGNMENT):
        payload = store.payload(record)
        if payload is None:
            continue
        try:
            assignment = RemediationAssignment.model_validate(payload)
        except ValidationError:
            continue
        if assignment.assigned_at <= as_of:
            found[(assignment.check_id, assignment.resource)] = assignment
    return found


def _item(
    key: tuple[str, str],
    state: _Open,
    assignment: RemediationAssignment | None,
    as_of: datetime,
    policy: Policy,
) -> RemediationItem:
    finding = state.finding
    severity = finding.severity.value
    days = policy.remediation_days(severity)
    due = state.first_seen.date() + timedelta(days=days)
    due_source = f"policy ({severity}: {days} days from first seen)"
    if assignment is not None and assignment.due is not None:
        due = assignment.due
        due_source = f"set by {assignment.assigned_by} on {assignment.assigned_at.date()}"
    status: RemediationStatus
    exception = finding.exception
    if state.closed_at is not None:
        status = "closed"
    elif finding.status is Status.ACCEPTED and exception is not None:
        status = "accepted"
    elif as_of.date() > due:
        status = "overdue"
    else:
        status = "open"
    return RemediationItem(
        id=item_id(*key),
        check_id=finding.check_id,
        title=finding.title,
        resource=finding.resource,
        severity=severity,
        reason=finding.reason,
        status=status,
        first_seen=state.first_seen,
        first_seen_run=state.first_run,
        last_failed=state.last_failed,
        last_failed_run=state.last_run,
        due=due,
        due_source=due_source,
        owner=assignment.owner if assignment else "unassigned",
        ticket=assignment.ticket if assignment else "",
        exception_id=exception.id if status == "accepted" and exception else None,
        closed_at=state.closed_at,
        closed_by_run=state.closed_run,
        recurrences=state.recurrences,
    )


def assign(
    store: EvidenceStore,
    site: SiteRef,
    items: list[RemediationItem],
    *,
    item: str,
    owner: str,
    assigned_by: str,
    due: date | None,
    ticket: str,
    now: datetime,
) -> tuple[RemediationItem, StoredRecord]:
    """Record who fixes an item (by its id, or ``check_id`` when the check has one item)."""
    wanted = item.strip()
    matches = [i for i in items if i.id.lower() == wanted.lower()]
    matches = matches or [i for i in items if i.check_id == wanted]
    if len(matches) != 1:
        problem = "matches several items; use its REM- id" if matches else "matches no item"
        raise UsageError(f"{item!r} {problem} (see 'moodle-soc remediation list').")
    (found,) = matches
    if found.status == "closed":
        raise UsageError(f"{found.id} was closed by scan record {found.closed_by_run}.")
    if not owner.strip():
        raise UsageError("--owner must not be empty: name who fixes it.")
    assignment = RemediationAssignment(
        check_id=found.check_id,
        resource=found.resource,
        owner=owner.strip(),
        due=due,
        ticket=ticket.strip(),
        assigned_by=assigned_by,
        assigned_at=now,
    )
    record = store.append(
        site,
        RecordKind.REMEDIATION_ASSIGNMENT,
        assignment.model_dump(mode="json"),
        collected_at=now,
        effective_date=now.date(),
    )
    return found, record


def items_csv(items: Iterable[RemediationItem]) -> str:
    """CSV for an issue tracker's import (Jira, GitHub): spreadsheet formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for i in items:
        row = (
            f"[{i.severity}] {i.title} ({i.resource})",
            f"{i.reason} Found by moodle-soc check {i.check_id}; first seen {i.first_seen:%Y-%m-%d}"
            f" (scan record {i.first_seen_run}). It closes by itself when a scan passes.",
            _PRIORITY.get(i.severity, "Lowest"),
            "" if i.owner == "unassigned" else i.owner,
            i.due.isoformat(),
            i.status,
            f"moodle-soc,{i.check_id.split('.')[0]}",
            i.id,
            i.check_id,
            i.resource,
            i.first_seen.isoformat(),
            i.ticket,
        )
        writer.writerow([neutralize_formula(str(value)) for value in row])
    return out.getvalue()


def items_json(items: Iterable[RemediationItem]) -> str:
    return json.dumps([i.model_dump(mode="json") for i in items], indent=2, ensure_ascii=False)
