"""Manual controls: every piece of manual evidence the catalogue names, as a control with an
owner, a frequency and a status computed from the evidence attached and its effective date.

A document stays in force from its effective date until a later one supersedes it (never only
inside one period); it needs refreshing one frequency interval after that date:

- ``missing``: nothing attached is effective on or before the day judged;
- ``ready``: the evidence in force is fresh;
- ``due_soon``: fresh evidence is due within the frequency's notice window;
- ``overdue``: the due date has passed.

Per-event evidence (incident records, change approvals) is ready once any is on record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import ValidationError

from moodle_soc.errors import UsageError
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import Catalogue, ManualEvidence, Owner
from moodle_soc.models.programme import ControlOwnerChange, ControlStatus, ManualControl
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord

#: Days from the evidence's effective date to its next due date, and the notice window.
INTERVAL_DAYS = {
    "daily": 1,
    "weekly": 7,
    "monthly": 31,
    "quarterly": 92,
    "semi_annual": 183,
    "annual": 366,
}
NOTICE_DAYS = {
    "daily": 0,
    "weekly": 2,
    "monthly": 7,
    "quarterly": 14,
    "semi_annual": 30,
    "annual": 30,
}


@dataclass(frozen=True)
class EvidenceInForce:
    effective: date
    record: int


def control_status(
    frequency: str, evidence: EvidenceInForce | None, on: date
) -> tuple[ControlStatus, date | None]:
    """(status, due date) of a control with ``evidence`` in force, judged on ``on``."""
    if evidence is None:
        return "missing", None
    if frequency not in INTERVAL_DAYS:  # per_event
        return "ready", None
    due = evidence.effective + timedelta(days=INTERVAL_DAYS[frequency])
    if on > due:
        return "overdue", due
    if on >= due - timedelta(days=NOTICE_DAYS[frequency]):
        return "due_soon", due
    return "ready", due


def evidence_in_force(store: EvidenceStore, site_key: str, on: date) -> dict[str, EvidenceInForce]:
    """Per control, the attachment with the latest effective date on or before ``on``."""
    found: dict[str, EvidenceInForce] = {}
    for record in store.records(site_key=site_key, kind=RecordKind.ATTACHMENT):
        payload = store.payload(record)
        if not isinstance(payload, dict) or record.effective_date is None:
            continue
        control = str(payload.get("control", ""))
        if record.effective_date > on:
            continue  # not yet effective on the day judged
        current = found.get(control)
        if current is None or record.effective_date >= current.effective:
            found[control] = EvidenceInForce(record.effective_date, record.seq)
    return found


def catalogue_owner(catalogue: Catalogue, evidence_id: str) -> Owner:
    """The readiness item's owner when an item lists the evidence; else hosting when only
    hosting owns the criteria that need it; else the client organisation."""
    for item in catalogue.readiness:
        if evidence_id in item.evidence:
            return item.owner
    owners = {
        owner
        for framework in catalogue.frameworks()
        for criterion in framework.criteria
        if evidence_id in criterion.manual_evidence
        for owner in criterion.owners
        if owner != "moodle_core"
    }
    return "hosting" if owners == {"hosting"} else "client"


def criteria_needing(catalogue: Catalogue, evidence_id: str) -> tuple[str, ...]:
    return tuple(
        criterion.id
        for framework in catalogue.frameworks()
        for criterion in framework.criteria
        if evidence_id in criterion.manual_evidence
    )


def owner_changes(store: EvidenceStore, site_key: str, on: date) -> dict[str, ControlOwnerChange]:
    """The latest owner change per control recorded on or before ``on``."""
    changes: dict[str, ControlOwnerChange] = {}
    for record in store.records(site_key=site_key, kind=RecordKind.CONTROL_OWNER):
        payload = store.payload(record)
        if payload is None:
            continue
        try:
            change = ControlOwnerChange.model_validate(payload)
        except ValidationError:
            continue
        if change.changed_at.date() <= on:
            changes[change.control] = change
    return changes


def manual_controls(
    catalogue: Catalogue,
    evidence_ids: Iterable[str],
    in_force: dict[str, EvidenceInForce],
    owners: dict[str, ControlOwnerChange],
    on: date,
) -> list[ManualControl]:
    controls = []
    for evidence_id in evidence_ids:
        item: ManualEvidence = catalogue.manual_evidence[evidence_id]
        evidence = in_force.get(evidence_id)
        status, due = control_status(item.frequency, evidence, on)
        change = owners.get(evidence_id)
        controls.append(
            ManualControl(
                id=evidence_id,
                title=item.title,
                description=item.description,
                owner=change.owner if change else catalogue_owner(catalogue, evidence_id),
                owner_source=(
                    f"set by {change.changed_by} on {change.changed_at.date()}"
                    if change
                    else "catalogue"
                ),
                frequency=item.frequency,
                criteria=criteria_needing(catalogue, evidence_id),
                status=status,
                due=due,
                evidence_date=evidence.effective if evidence else None,
                evidence_record=evidence.record if evidence else None,
            )
        )
    return controls


def record_owner_change(
    store: EvidenceStore, site: SiteRef, change: ControlOwnerChange, catalogue: Catalogue
) -> StoredRecord:
    """Append an owner change to the site's chain (a later one supersedes it)."""
    if change.control not in catalogue.manual_evidence:
        raise UsageError(
            f"{change.control!r} is not a manual control; see 'moodle-soc readiness'"
            " for the control ids."
        )
    return store.append(
        site,
        RecordKind.CONTROL_OWNER,
        change.model_dump(mode="json"),
        collected_at=change.changed_at,
        effective_date=change.changed_at.date(),
    )
