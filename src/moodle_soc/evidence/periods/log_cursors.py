"""The log cursor kept in the evidence store: one ``log_cursor`` record per run, appended to the
site's chain (hash-chained and verified like every record). The store is append-only, so the
newest cursor record that serves the period is the one a re-run starts from: one made for the
same site and period, or for an earlier period of a rolling window (starting and ending no
later, and ending on or after the new start)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from moodle_soc.logreview.cursor import LogCursor, from_payload, kept_for
from moodle_soc.models.records import RecordKind

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.records import SiteRef, StoredRecord


@dataclass
class KeptCursor:
    """The cursor a run starts from, the record it came from, and why any other was not used."""

    cursor: LogCursor
    record: StoredRecord | None
    notes: list[str]


def latest_cursor(
    store: EvidenceStore, site: SiteRef, wwwroot: str | None, start: date, end: date
) -> KeptCursor:
    """The newest cursor of ``site`` (and ``wwwroot``) that serves ``start``..``end``: kept for
    that period, or for one starting and ending no later and ending on or after ``start``
    (moved to the period by ``LogCursor.read_days``); a fresh cursor (a full run) with a note
    when the store keeps none."""
    fresh = LogCursor(wwwroot, start, end)
    others: list[str] = []
    for record in reversed(store.records(site_key=site.key, kind=RecordKind.LOG_CURSOR)):
        payload = store.payload(record)
        if payload is None:  # cleared by retention
            continue
        try:
            kept_site, kept_start, kept_end = kept_for(payload)
            if kept_site == wwwroot and kept_start <= start <= kept_end <= end:
                cursor = from_payload(payload)
                cursor.start, cursor.end = start, end
                cursor.kept_period = (kept_start, kept_end)
                return KeptCursor(cursor, record, [])
        except (ValueError, KeyError, TypeError):
            others.append(f"record {record.seq} cannot be read")
            continue
        if kept_site != wwwroot:
            others.append(f"record {record.seq} was kept for {kept_site or 'no wwwroot'}")
        else:
            others.append(f"record {record.seq} covers {kept_start} to {kept_end}")
    notes = []
    if others:
        shown = "; ".join(dict.fromkeys(others[:3]))
        notes.append(
            f"No log cursor of this site for {start} to {end} in the store ({shown}):"
            " the whole period was read."
        )
    return KeptCursor(fresh, None, notes)


def store_cursor(
    store: EvidenceStore, site: SiteRef, cursor: LogCursor, *, at: datetime | None = None
) -> StoredRecord:
    """Append ``cursor`` as a ``log_cursor`` record (effective for the period's last day)."""
    return store.append(
        site,
        RecordKind.LOG_CURSOR,
        cursor.payload(),
        collected_at=at or datetime.now(UTC),
        effective_date=cursor.end,
    )
