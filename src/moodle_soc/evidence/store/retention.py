"""Retention: clear old payloads without breaking the chain, and seal what was cleared.

Evidence is never edited or deleted. Retention is the one exception the database allows: it
first appends a ``retention_seal`` record naming every payload it is about to clear (their
content hashes and record hashes, who asked, why, and the cut-off), then sets those payloads to
NULL with ``pruned_by`` pointing at the seal. Headers stay, so every chain still verifies and
shows exactly what was removed, when, by whom. Seals themselves are never cleared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import sqlalchemy as sa

from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store import schema
from moodle_soc.evidence.store.kinds import HANDLERS, handler_for
from moodle_soc.evidence.store.rows import pages
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord


@dataclass(frozen=True)
class RetentionResult:
    """What retention cleared (or, in a dry run, would clear)."""

    site_key: str
    before: date
    records: tuple[StoredRecord, ...]
    blobs: tuple[str, ...]
    seal: StoredRecord | None
    dry_run: bool


def apply_retention(
    store: EvidenceStore,
    site_key: str,
    before: date,
    *,
    reason: str,
    operator: str,
    dry_run: bool = False,
    min_age_days: int | None = None,
    today: date | None = None,
) -> RetentionResult:
    """Seal, then clear, the payloads of ``site_key``'s records collected before ``before``.

    Evidence younger than ``min_age_days`` (default: the policy's
    ``min_evidence_retention_days``) is never cleared, so an audit period still open, or a
    report not yet issued, cannot lose its evidence by a mistyped date.
    """
    from datetime import timedelta

    from moodle_soc.policy import Policy

    keep_days = Policy().min_evidence_retention_days if min_age_days is None else min_age_days
    latest = (today or datetime.now(UTC).date()) - timedelta(days=keep_days)
    if before > latest:
        raise BadInputError(
            f"--before {before} would clear evidence younger than {keep_days} days"
            f" (min_evidence_retention_days); the latest allowed cut-off is {latest}."
        )
    if not reason.strip():
        raise BadInputError("Retention needs a reason (it is recorded in the seal).")
    if not operator.strip():
        raise BadInputError("Retention needs an operator (it is recorded in the seal).")
    site = _site(store, site_key)
    cutoff = datetime.combine(before, time.min, UTC)
    doomed = tuple(
        record
        for record in store.iter_records(site_key=site_key)
        if record.collected_at < cutoff and record.pruned_by is None and _may_clear(record.kind)
    )
    blobs = _unshared_blobs(store, doomed)
    if dry_run or not doomed:
        return RetentionResult(site_key, before, doomed, blobs, None, dry_run)
    payload = {
        "before": before.isoformat(),
        "reason": reason.strip(),
        "operator": operator.strip(),
        "sealed_at": datetime.now(UTC).isoformat(),
        "cleared_content": sorted({record.content_sha256 for record in doomed}),
        "cleared_records": [
            {
                "seq": record.seq,
                "index": record.chain_index,
                "kind": record.kind,
                "record_hash": record.record_hash,
            }
            for record in doomed
        ],
        "cleared_blobs": list(blobs),
    }
    seal = store.append(site, RecordKind.RETENTION_SEAL, payload, collected_at=datetime.now(UTC))
    r, b = schema.records, schema.blobs
    with store.writer().begin() as connection:
        connection.execute(
            r.update()
            .where(r.c.seq.in_([record.seq for record in doomed]), r.c.pruned_by.is_(None))
            .values(payload=None, pruned_by=seal.record_hash)
        )
        if blobs:
            connection.execute(b.delete().where(b.c.sha256.in_(blobs)))
    return RetentionResult(site_key, before, doomed, blobs, seal, dry_run)


def _site(store: EvidenceStore, site_key: str) -> SiteRef:
    for site in store.sites():
        if site.key == site_key:
            return site
    raise BadInputError(f"No site {site_key!r} in the evidence store {store.display}.")


def _may_clear(kind: str) -> bool:
    """Seals are never cleared; a kind this version does not know is cleared like any other."""
    handler = handler_for(kind)
    return handler is None or handler.retention_may_clear


def _unshared_blobs(store: EvidenceStore, doomed: tuple[StoredRecord, ...]) -> tuple[str, ...]:
    """Stored files only the cleared records name (a file attached twice is kept)."""
    named = {h.kind.value: h.blobs for h in HANDLERS.values() if h.blobs is not None}
    doomed_seqs = {record.seq for record in doomed if record.kind in named}
    if not doomed_seqs:
        return ()
    r = schema.records
    candidates: set[str] = set()
    kept: set[str] = set()
    query = sa.select(r.c.seq, r.c.kind, r.c.payload).where(
        r.c.kind.in_(list(named)), r.c.payload.is_not(None)
    )
    for row in pages(store.engine, query):
        digests = named[row["kind"]](json.loads(row["payload"]))
        (candidates if row["seq"] in doomed_seqs else kept).update(digests)
    return tuple(sorted(candidates - kept))
