"""Manual evidence: a signed policy, a restore-test record, an access-review sign-off.

The file is stored once by its SHA-256; the record says who collected it, when, for which
control, and the date it is effective for (which may differ from the upload date). A policy
stays in force from that date until its optional ``effective_until``, or until the day before a
later attachment that ``supersedes`` it takes effect: a period's package holds every attachment
in force during any part of it.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord

#: A plugin's vendor review (``vendor_review:local_reports``), read by plugins.* checks.
VENDOR_REVIEW = re.compile(r"^vendor_review:[a-z][a-z0-9]*_[a-z0-9_]+$")
MAX_ATTACHMENT_BYTES = 200 * 1024 * 1024


def known_control_ids() -> set[str]:
    """Ids an attachment may serve: the requirements of every built-in framework (SOC 2
    criteria, SOC 1 objectives, ISO 27001 and NIST 800-53 controls), evidence items, checks."""
    from moodle_soc.checks.registry import all_checks
    from moodle_soc.frameworks import builtin_frameworks, load_catalogue

    catalogue = load_catalogue()
    ids = {c.id for framework in builtin_frameworks() for c in framework.criteria}
    ids |= set(catalogue.manual_evidence)
    ids |= {e for framework in builtin_frameworks() for e in framework.manual_evidence}
    ids |= {item.id for item in catalogue.readiness}
    ids |= {spec.id for spec in all_checks()}
    return ids


def attach_file(
    store: EvidenceStore,
    site: SiteRef,
    path: Path,
    *,
    control: str,
    effective_date: date,
    collected_by: str,
    note: str = "",
    effective_until: date | None = None,
    supersedes: str | None = None,
) -> StoredRecord:
    if effective_until is not None and effective_until < effective_date:
        raise BadInputError(
            f"--effective-until {effective_until} is before --effective-date {effective_date}."
        )
    replaced = _superseded(store, site, supersedes, effective_date) if supersedes else None
    if control not in known_control_ids() and not VENDOR_REVIEW.match(control):
        raise BadInputError(
            f"Unknown control {control!r}: use a criterion (CC6.1), SOC 1 objective, manual"
            " evidence id, check id from 'moodle-soc checks list', or"
            " vendor_review:<plugin component>."
        )
    try:
        size = path.stat().st_size
        if size > MAX_ATTACHMENT_BYTES:
            raise BadInputError(f"{path} is larger than {MAX_ATTACHMENT_BYTES // 2**20} MiB.")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    digest = store.put_blob(data)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    payload = {
        "filename": path.name,
        "sha256": digest,
        "size": len(data),
        "media_type": media_type,
        "control": control,
        "effective_date": effective_date.isoformat(),
        "collected_by": collected_by,
        "uploaded_at": datetime.now(UTC).isoformat(),
        "note": note,
    }
    if effective_until is not None:
        payload["effective_until"] = effective_until.isoformat()
    if replaced is not None:
        payload["supersedes"] = replaced.record_hash
    return store.append(
        site,
        RecordKind.ATTACHMENT,
        payload,
        collected_at=datetime.now(UTC),
        effective_date=effective_date,
    )


def _superseded(
    store: EvidenceStore, site: SiteRef, ref: str, effective_date: date
) -> StoredRecord:
    """The earlier attachment of ``site`` that ``ref`` names, which the new one replaces."""
    from moodle_soc.evidence.store.engine import StoreError

    try:
        record = store.get(ref)
    except StoreError as exc:
        raise BadInputError(f"--supersedes: {exc.message}") from None
    if record.kind != RecordKind.ATTACHMENT or record.site_key != site.key:
        raise BadInputError(
            f"--supersedes {ref}: record {record.seq} is not an attachment of {site.name}."
        )
    if record.effective_date is not None and record.effective_date > effective_date:
        raise BadInputError(
            f"--supersedes {ref}: record {record.seq} takes effect on {record.effective_date},"
            f" after the new attachment ({effective_date})."
        )
    return record


@dataclass(frozen=True)
class InForce:
    """An attachment and the days it is in force (``until`` None: still in force)."""

    record: StoredRecord
    control: str
    start: date
    until: date | None

    def overlaps(self, first: date, last: date) -> bool:
        return self.start <= last and (self.until is None or self.until >= max(first, self.start))


def attachments_in_force(store: EvidenceStore, site_key: str) -> list[InForce]:
    """Every attachment of ``site_key`` with the days it is in force: from its effective date
    to its ``effective_until``, or to the day before a superseding attachment takes effect."""
    records = store.records(site_key=site_key, kind=RecordKind.ATTACHMENT)
    payloads = [(record, store.payload(record)) for record in records]
    return in_force(payloads)


def in_force(payloads: Iterable[tuple[StoredRecord, Any]]) -> list[InForce]:
    items = [(r, p) for r, p in payloads if r.effective_date is not None and isinstance(p, dict)]
    replaced: dict[str, date] = {}
    for record, payload in items:
        old = payload.get("supersedes")
        if isinstance(old, str) and record.effective_date is not None:
            day = record.effective_date - timedelta(days=1)
            replaced[old] = min(day, replaced.get(old, day))
    result = []
    for record, payload in items:
        assert record.effective_date is not None
        ends = [replaced[record.record_hash]] if record.record_hash in replaced else []
        if payload.get("effective_until"):
            ends.append(date.fromisoformat(str(payload["effective_until"])))
        until = min(ends) if ends else None
        result.append(
            InForce(record, str(payload.get("control", "")), record.effective_date, until)
        )
    return result
