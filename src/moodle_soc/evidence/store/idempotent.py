"""Append a record at most once per idempotency key: a redelivered task stores nothing twice.

A queued scan can run twice (the broker redelivers a message whose worker died after storing
but before acknowledging, or two workers receive it). Both runs carry the same key, computed
from what the task asked for (site, audit time, checks, policy), never from the run's timings,
which differ between two executions. The key is kept in the record's payload
(``idempotency_key``) and looked up under the chain's write lock (PostgreSQL: the chain's
advisory lock; SQLite: the write lock taken at BEGIN), so two workers racing store one record:
the second finds the first's and returns it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from moodle_soc.evidence.store import schema
from moodle_soc.evidence.store.rows import headers_query, stored_record
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord, utc_iso

IDEMPOTENCY_FIELD = "idempotency_key"


def append_once(
    store: EvidenceStore,
    site: SiteRef,
    kind: RecordKind,
    payload: Mapping[str, Any],
    *,
    key: str,
    collected_at: datetime,
    effective_date: date | None = None,
) -> tuple[StoredRecord, bool]:
    """Append ``payload`` (with ``idempotency_key`` set to ``key``) unless ``site``'s chain
    already holds a ``kind`` record with that key and collection time. Returns the record and
    whether it was appended now (False: an earlier delivery stored it)."""
    if not key:
        raise ValueError("an idempotency key must not be empty")
    body = {**payload, IDEMPOTENCY_FIELD: key}
    existing: list[StoredRecord] = []

    def stored_before(connection: Connection) -> StoredRecord | None:
        found = find_by_key(connection, site.key, kind, key, collected_at)
        if found is not None:
            existing.append(found)
        return found

    record = store.append(
        site,
        kind,
        body,
        collected_at=collected_at,
        effective_date=effective_date,
        unless=stored_before,
    )
    return record, not existing


def find_by_key(
    connection: Connection, site_key: str, kind: RecordKind, key: str, collected_at: datetime
) -> StoredRecord | None:
    """The chain's ``kind`` record collected at ``collected_at`` whose payload carries ``key``.

    The (site, kind, collected_at) index narrows it to the few records of one audit time."""
    r = schema.records
    query = (
        headers_query(site_key, kind.value)
        .add_columns(r.c.payload)
        .where(r.c.collected_at == utc_iso(collected_at))
        .order_by(r.c.chain_index)
    )
    for row in connection.execute(query).mappings():
        if row["payload"] is None:  # cleared by retention: its key is gone with it
            continue
        try:
            data = json.loads(row["payload"])
        except ValueError:
            continue
        if isinstance(data, dict) and data.get(IDEMPOTENCY_FIELD) == key:
            return stored_record(row)
    return None


def count_with_key(store: EvidenceStore, site_key: str, key: str) -> int:
    """How many records of ``site_key``'s chain carry ``key`` (tests and diagnostics)."""
    r = schema.records
    query = sa.select(r.c.payload).where(r.c.site_key == site_key)
    with store.engine.connect() as connection:
        payloads = [row[0] for row in connection.execute(query)]
    return sum(1 for text in payloads if text and json.loads(text).get(IDEMPOTENCY_FIELD) == key)
