"""Earlier evidence a scan judges with: the observed states of stored runs, and the latest
manual evidence attached for each control."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import ValidationError

from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.records import RecordKind, StoredRecord, parse_utc_iso
from moodle_soc.models.state import RecordedState, SiteState


def _state(store: EvidenceStore, record: StoredRecord) -> RecordedState | None:
    payload = store.payload(record)
    if not isinstance(payload, dict) or not isinstance(payload.get("site_state"), dict):
        return None  # cleared by retention, or written before runs kept their state
    try:
        state = SiteState.model_validate(payload["site_state"])
        at = parse_utc_iso(str(payload["audit_time"]))
    except (ValidationError, KeyError, ValueError):
        return None
    return RecordedState(seq=record.seq, record_hash=record.record_hash, at=at, state=state)


def recorded_states(
    store: EvidenceStore, site_key: str, start: datetime, end: datetime
) -> list[RecordedState]:
    """States of the runs collected from ``start`` to ``end``, with the last run before
    ``start`` (the baseline the first change in the window is seen against), oldest first."""
    before = store.records(site_key=site_key, kind=RecordKind.RUN, collected_to=start)
    inside = store.records(
        site_key=site_key, kind=RecordKind.RUN, collected_from=start, collected_to=end
    )
    found: list[RecordedState] = []
    for record in reversed(before):
        baseline = _state(store, record)
        if baseline is not None and baseline.at < start:
            found.append(baseline)
            break
    for record in inside:
        state = _state(store, record)
        if state is not None and not any(s.seq == state.seq for s in found):
            found.append(state)
    return sorted(found, key=lambda s: s.at)


def latest_attachments(store: EvidenceStore, site_key: str, on: date) -> dict[str, date]:
    """Each control's most recent attachment in force on ``on`` (effective on or before it,
    neither expired nor superseded by then)."""
    from moodle_soc.evidence.store.attachments import attachments_in_force

    latest: dict[str, date] = {}
    for item in attachments_in_force(store, site_key):
        if item.overlaps(on, on) and item.start > latest.get(item.control, date.min):
            latest[item.control] = item.start
    return latest
