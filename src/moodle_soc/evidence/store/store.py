"""The evidence store: append-only records, content-addressed and hash-chained per site.

Each record carries the SHA-256 of its canonical payload and of its header, and the header
hash of the site's previous record, so changing, removing or reordering any record breaks
the chain at a point ``verify`` names. The store is SQLite by default (one file) or
PostgreSQL for teams and fleets; the schema is managed with Alembic. No method edits or
deletes a record; retention (``retention.py``) is a logged operation that seals what it clears.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from moodle_soc.evidence.store import schema
from moodle_soc.evidence.store.canonical import canonical_bytes, content_hash, sha256_hex
from moodle_soc.evidence.store.engine import (
    STORE_ENV,
    StoreError,
    default_location,
    engine_for,
    prepare,
    shown,
    writing,
)
from moodle_soc.evidence.store.rows import DEFAULT_PAGE, headers_query, pages, stored_record
from moodle_soc.evidence.store.signing import Signer, public_pem
from moodle_soc.models.records import (
    CLOCK_SKEW,
    GENESIS,
    RecordKind,
    SiteRef,
    StoredRecord,
    parse_utc_iso,
    record_header,
    utc_iso,
)

__all__ = [
    "DEFAULT_PAGE",
    "STORE_ENV",
    "EvidenceStore",
    "StoreError",
    "default_location",
    "open_store",
]

#: The largest record number the ``seq`` column (a 32-bit integer) can hold.
_MAX_SEQ = 2**31 - 1


class EvidenceStore:
    """An open store: a context manager that closes it (``close`` may be called again)."""

    def __init__(
        self,
        engine: Engine,
        location: str,
        signer: Signer | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine: Engine | None = engine
        self.location = location
        self.signer = signer
        #: The recording clock (``created_at``): the machine's, unless a test injects one.
        self.clock: Callable[[], datetime] = clock or _now

    @property
    def engine(self) -> Engine:
        """The store's engine; using a closed store is an error, never a silent reconnect."""
        if self._engine is None:
            raise StoreError(f"The evidence store {self.display} is closed.")
        return self._engine

    @property
    def closed(self) -> bool:
        return self._engine is None

    def writer(self) -> Engine:
        """The engine to open write transactions with (takes SQLite's write lock at BEGIN)."""
        return writing(self.engine)

    @property
    def display(self) -> str:
        return shown(self.location)

    # --- writing ----------------------------------------------------------------------------

    def append(
        self,
        site: SiteRef,
        kind: RecordKind,
        payload: Any,
        *,
        collected_at: datetime,
        effective_date: date | None = None,
        unless: Callable[[Connection], StoredRecord | None] | None = None,
    ) -> StoredRecord:
        """Append one record to ``site``'s chain, atomically; returns it as stored.

        ``unless`` runs inside the write transaction, once this chain's writers are queued
        behind this one: when it returns a record, that record is returned and nothing is
        appended (``idempotent.append_once`` stores a redelivered record only once this way).
        """
        kind = RecordKind(kind)  # a kind without a handler is a programming error: refuse it
        body = canonical_bytes(payload)
        digest = sha256_hex(body)
        for _attempt in range(5):
            try:
                with self.writer().begin() as connection:
                    if connection.dialect.name == "postgresql":
                        # One writer per chain at a time: the next waits, then reads the head.
                        connection.execute(
                            sa.text("SELECT pg_advisory_xact_lock(hashtext(:site))"),
                            {"site": site.key},
                        )
                    found = unless(connection) if unless is not None else None
                    if found is not None:
                        return found
                    return self._append(
                        connection, site, kind, body, digest, collected_at, effective_date
                    )
            except sa.exc.IntegrityError:
                continue  # another writer took this chain position; read the new head
        raise StoreError(f"Could not append to the chain of {site.name}: too much contention.")

    def _append(
        self,
        connection: Connection,
        site: SiteRef,
        kind: RecordKind,
        body: bytes,
        digest: str,
        collected_at: datetime,
        effective_date: date | None,
    ) -> StoredRecord:
        r = schema.records
        last = connection.execute(
            sa.select(r.c.chain_index, r.c.record_hash)
            .where(r.c.site_key == site.key)
            .order_by(r.c.chain_index.desc())
            .limit(1)
        ).first()
        index, prev = (0, GENESIS) if last is None else (last[0] + 1, last[1])
        created = self.clock().astimezone(UTC)
        if collected_at - created > CLOCK_SKEW:
            raise StoreError(
                f"Refused to record {kind.value} evidence dated {utc_iso(collected_at)[:19]}Z,"
                f" after the time it is recorded ({utc_iso(created)[:19]}Z): evidence cannot"
                " describe the future."
            )
        header = record_header(
            site.key, index, kind.value, created, collected_at, effective_date, digest, prev
        )
        record_hash = content_hash(header)
        signature = self.signer.sign(record_hash) if self.signer else None
        key_id = self.signer.key_id if self.signer else None
        if self.signer is not None:
            self._ensure_key(connection)
        self._ensure_site(connection, site)
        inserted = connection.execute(
            r.insert().values(
                site_key=site.key,
                chain_index=index,
                kind=kind.value,
                created_at=header["created_at"],
                collected_at=header["collected_at"],
                effective_date=header["effective_date"],
                content_sha256=digest,
                prev_hash=prev,
                record_hash=record_hash,
                payload=body.decode(),
                signature=signature,
                key_id=key_id,
            )
        )
        seq = (inserted.inserted_primary_key or (0,))[0]
        return StoredRecord(
            seq=int(seq),
            site_key=site.key,
            chain_index=index,
            kind=kind.value,
            created_at=parse_utc_iso(header["created_at"]),
            collected_at=parse_utc_iso(header["collected_at"]),
            effective_date=effective_date,
            content_sha256=digest,
            prev_hash=prev,
            record_hash=record_hash,
            signature=signature,
            key_id=key_id,
            pruned_by=None,
        )

    def _ensure_site(self, connection: Connection, site: SiteRef) -> None:
        s = schema.sites
        exists = connection.execute(sa.select(s.c.site_key).where(s.c.site_key == site.key))
        if exists.first() is None:
            connection.execute(
                s.insert().values(site_key=site.key, name=site.name, wwwroot=site.wwwroot)
            )

    def _ensure_key(self, connection: Connection) -> None:
        assert self.signer is not None
        k = schema.keys
        found = connection.execute(sa.select(k.c.key_id).where(k.c.key_id == self.signer.key_id))
        if found.first() is None:
            connection.execute(
                k.insert().values(
                    key_id=self.signer.key_id,
                    public_key=public_pem(self.signer.public_key),
                    added_at=utc_iso(datetime.now(UTC)),
                )
            )

    def put_blob(self, data: bytes) -> str:
        """Store bytes once by their SHA-256 and return the hash."""
        return self.put_blobs([data])[0]

    def put_blobs(self, items: Iterable[bytes]) -> list[str]:
        """Store each of ``items`` once by its SHA-256, in one transaction; their hashes."""
        b = schema.blobs
        digests = []
        with self.writer().begin() as connection:
            for data in items:
                digest = sha256_hex(data)
                digests.append(digest)
                found = connection.execute(sa.select(b.c.sha256).where(b.c.sha256 == digest))
                if found.first() is None:
                    connection.execute(b.insert().values(sha256=digest, size=len(data), data=data))
        return digests

    # --- reading ----------------------------------------------------------------------------

    def get_blob(self, digest: str) -> bytes | None:
        return self.get_blobs([digest]).get(digest)

    def get_blobs(self, digests: Iterable[str]) -> dict[str, bytes]:
        """The stored bytes of each digest found, by digest (in one query per 500)."""
        b = schema.blobs
        wanted = sorted(set(digests))
        found: dict[str, bytes] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = sa.select(b.c.sha256, b.c.data).where(b.c.sha256.in_(chunk))
                found |= {row[0]: bytes(row[1] or b"") for row in connection.execute(query)}
        return found

    def sites(self) -> list[SiteRef]:
        s = schema.sites
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(s).order_by(s.c.name)).all()
        return [SiteRef(key=row.site_key, name=row.name, wwwroot=row.wwwroot) for row in rows]

    def find_site(self, text: str | None = None) -> SiteRef:
        """The one site ``text`` names (``--site``), else the store's only site.

        A site's identity in the store is its key: Moodle's ``siteidentifier`` (or, for a
        site without one, a hash of its database and prefix). ``text`` may be the key, a key
        prefix, the site's name or part of it, or its wwwroot as typed (any case, with or
        without the scheme or a trailing slash); it must name exactly one site."""
        sites = self.sites()
        if text is None or not text.strip():
            if len(sites) == 1:
                return sites[0]
            if not sites:
                raise StoreError(f"The evidence store {self.display} holds no site yet.")
            raise StoreError(
                f"The evidence store {self.display} holds {len(sites)} sites; give --site:"
                f" {_known_sites(sites)}."
            )
        wanted = text.strip().lower()
        exact = [site for site in sites if _names_exactly(site, wanted)]
        # Else a key prefix or a part of the name, when it names one site only.
        matches = exact or [
            site
            for site in sites
            if site.key.lower().startswith(wanted) or wanted in site.name.lower()
        ]
        if len(matches) == 1:
            return matches[0]
        problem = "matches several sites" if matches else "matches no site"
        raise StoreError(
            f"Site {text!r} {problem} in {self.display}; sites: {_known_sites(sites)}."
        )

    def records(
        self,
        *,
        site_key: str | None = None,
        kind: str | None = None,
        collected_from: datetime | None = None,
        collected_to: datetime | None = None,
    ) -> list[StoredRecord]:
        """Headers of matching records, in chain order per site (payloads via ``payload``).

        All in one list: for a whole chain, prefer ``iter_records``."""
        query = headers_query(site_key, kind, collected_from, collected_to)
        query = query.order_by(schema.records.c.site_key, schema.records.c.chain_index)
        with self.engine.connect() as connection:
            return [stored_record(row._mapping) for row in connection.execute(query)]

    def iter_records(
        self,
        *,
        site_key: str | None = None,
        kind: str | None = None,
        collected_from: datetime | None = None,
        collected_to: datetime | None = None,
        page: int = DEFAULT_PAGE,
    ) -> Iterator[StoredRecord]:
        """Headers of matching records in the order they were appended (within one site:
        chain order), read ``page`` at a time, so a chain of any length fits in memory."""
        query = headers_query(site_key, kind, collected_from, collected_to)
        for row in pages(self.engine, query, page=page):
            yield stored_record(row)

    def get(self, ref: str) -> StoredRecord:
        """A record by sequence number or by (a prefix of) its record hash."""
        r = schema.records
        query = headers_query()
        text = ref.strip().lower()
        is_hash = len(text) >= 6 and all(ch in "0123456789abcdef" for ch in text)
        # A hash prefix may be all digits (640390391381…): such a reference names a record by
        # number or by hash, and a number too big for the column can only be a hash.
        is_number = text.isdigit() and int(text) <= _MAX_SEQ
        if is_number and is_hash:
            query = query.where(sa.or_(r.c.seq == int(text), r.c.record_hash.startswith(text)))
        elif is_number:
            query = query.where(r.c.seq == int(text))
        elif is_hash:
            query = query.where(r.c.record_hash.startswith(text))
        else:
            raise StoreError(f"{ref!r} is neither a record number nor a record hash prefix.")
        with self.engine.connect() as connection:
            rows = connection.execute(query.limit(2)).all()
        if len(rows) != 1:
            problem = "matches several records" if rows else "matches no record"
            raise StoreError(f"Record {ref!r} {problem} in {self.display}.")
        return stored_record(rows[0]._mapping)

    def payload(self, record: StoredRecord) -> Any:
        """The record's payload; None when retention cleared it (the seal accounts for it)."""
        text = self.payload_text(record)
        return None if text is None else json.loads(text)

    def payload_text(self, record: StoredRecord) -> str | None:
        r = schema.records
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(r.c.payload).where(r.c.seq == record.seq)
            ).scalar_one_or_none()

    def public_keys(self) -> dict[str, str]:
        k = schema.keys
        with self.engine.connect() as connection:
            return {row.key_id: row.public_key for row in connection.execute(sa.select(k))}

    def head(self, site_key: str) -> str:
        """The record hash at the end of ``site_key``'s chain (GENESIS for no chain)."""
        r = schema.records
        query = (
            sa.select(r.c.record_hash)
            .where(r.c.site_key == site_key)
            .order_by(r.c.chain_index.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return GENESIS if found is None else str(found)

    def close(self) -> None:
        """Release every connection; closing again does nothing."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _now() -> datetime:
    return datetime.now(UTC)


def open_store(
    location: str | None = None,
    *,
    create: bool = False,
    signer: Signer | None = None,
    clock: Callable[[], datetime] | None = None,
) -> EvidenceStore:
    """Open the store at ``location`` (default: ``default_location()``); use it in a ``with``
    block, which closes it.

    Only a caller that writes evidence passes ``create=True``; otherwise a missing store is an
    error, so a mistyped ``--store`` never reads as an empty, valid store. The schema is
    created or upgraded only when it is not at this version's newest revision.
    """
    where = location or default_location()
    if not create and "://" not in where and not Path(where).expanduser().is_file():
        raise StoreError(f"No evidence store at {shown(where)}; check --store (or ${STORE_ENV}).")
    engine: Engine | None = None
    try:
        engine = engine_for(where)
        prepare(engine, where, create=create)
    except Exception as exc:
        if engine is not None:
            engine.dispose()
        if isinstance(exc, StoreError) or not _opening_error(exc):
            raise
        original = getattr(exc, "orig", None) or exc
        raise StoreError(
            f"Cannot open the evidence store {shown(where)}: {str(original).strip()}."
        ) from None
    return EvidenceStore(engine, where, signer, clock=clock)


def _opening_error(exc: Exception) -> bool:
    """A damaged, foreign or unreachable database (not a bug of ours)."""
    if isinstance(exc, sa.exc.SQLAlchemyError | UnicodeDecodeError):
        return True
    # Alembic's own errors, without importing Alembic when it was never used.
    return type(exc).__module__.startswith("alembic.")


def _bare_url(url: str) -> str:
    """A wwwroot as people type it: no scheme, no trailing slash, lower case."""
    url = url.strip().lower().rstrip("/")
    return url.split("://", 1)[1] if "://" in url else url


def _names_exactly(site: SiteRef, wanted: str) -> bool:
    return (
        site.key.lower() == wanted
        or site.name.lower() == wanted
        or (site.wwwroot is not None and _bare_url(site.wwwroot) == _bare_url(wanted))
    )


def _known_sites(sites: list[SiteRef]) -> str:
    """The sites a ``--site`` may name, for an error message: name, short key, wwwroot."""
    if not sites:
        return "none"
    return ", ".join(
        f"{site.name} ({site.key[:12]}{', ' + site.wwwroot if site.wwwroot else ''})"
        for site in sites
    )
