"""Rows of the records table: which columns make a header, reading them a page at a time,
and a row as a ``StoredRecord``.

Whole chains are read in pages (keyset on ``seq``, the primary key), so a store of hundreds
of thousands of records is walked in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from moodle_soc.evidence.store import schema
from moodle_soc.models.records import StoredRecord, parse_utc_iso, utc_iso

#: Records per query when a chain is walked page by page.
DEFAULT_PAGE = 1000


def headers_query(
    site_key: str | None = None,
    kind: str | None = None,
    collected_from: datetime | None = None,
    collected_to: datetime | None = None,
) -> sa.Select[Any]:
    """Every column of the matching records but the payload, unordered."""
    r = schema.records
    query = sa.select(*[c for c in r.c if c.name != "payload"])
    if site_key is not None:
        query = query.where(r.c.site_key == site_key)
    if kind is not None:
        query = query.where(r.c.kind == kind)
    if collected_from is not None:
        query = query.where(r.c.collected_at >= utc_iso(collected_from))
    if collected_to is not None:
        query = query.where(r.c.collected_at <= utc_iso(collected_to))
    return query


def pages(
    source: Engine | Connection, query: sa.Select[Any], *, page: int = DEFAULT_PAGE
) -> Iterator[RowMapping]:
    """The rows of ``query`` (a select on the records table that includes ``seq``) in ``seq``
    order, one query per ``page`` rows.

    On an engine each page has its own short connection, so nothing is held between pages; on
    a connection every page is read in its transaction (one snapshot, for ``verify``).
    """
    if page < 1:
        raise ValueError(f"page must be at least 1, not {page}")
    seq = schema.records.c.seq
    after: Any = None
    while True:
        bounded = (query if after is None else query.where(seq > after)).order_by(seq)
        if isinstance(source, Connection):
            rows = source.execute(bounded.limit(page)).mappings().all()
        else:
            with source.connect() as connection:
                rows = connection.execute(bounded.limit(page)).mappings().all()
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1]["seq"]


def stored_record(row: RowMapping) -> StoredRecord:
    """A header row as read back (the payload is read separately)."""
    effective = row["effective_date"]
    return StoredRecord(
        seq=int(row["seq"]),
        site_key=row["site_key"],
        chain_index=int(row["chain_index"]),
        kind=row["kind"],
        created_at=parse_utc_iso(row["created_at"]),
        collected_at=parse_utc_iso(row["collected_at"]),
        effective_date=date.fromisoformat(effective) if effective else None,
        content_sha256=row["content_sha256"],
        prev_hash=row["prev_hash"],
        record_hash=row["record_hash"],
        signature=row["signature"],
        key_id=row["key_id"],
        pruned_by=row["pruned_by"],
    )
