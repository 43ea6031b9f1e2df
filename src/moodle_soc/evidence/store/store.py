"""The evidence store: append-only records, content-addressed and hash-chained per site.

Each record carries the SHA-256 of its canonical payload and of its header, and the header
hash of the site's previous record, so changing, removing or reordering any record breaks
the chain at a point ``verify`` names. The store is SQLite by default (one file) or
PostgreSQL for teams and fleets; the schema is managed with Alembic. No method edits or
deletes a record; retention (``retention.py``) is a logged operation that seals what it clears.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from moodle_soc.errors import BadInputError, MoodleSocError
from moodle_soc.evidence.store import schema
from moodle_soc.evidence.store.canonical import canonical_bytes, content_hash, sha256_hex
from moodle_soc.evidence.store.signing import Signer, public_pem
from moodle_soc.models.records import (
    GENESIS,
    SiteRef,
    StoredRecord,
    parse_utc_iso,
    record_header,
    utc_iso,
)

STORE_ENV = "MOODLE_SOC_STORE"
WRITE_OPTION = "moodle_soc_write"
# One application-wide advisory lock id for schema migrations on PostgreSQL.
_MIGRATION_LOCK = 0x6D736F63


class StoreError(MoodleSocError):
    """The store cannot be opened or written (exit code 7: bad input)."""

    exit_code = BadInputError.exit_code


def default_location(configured: str | None = None) -> str:
    """Where the store is: $MOODLE_SOC_STORE, else ``configured`` (moodle-soc.yaml's
    ``store:``), else evidence.sqlite in the user's data directory. An explicit --store
    is passed to ``open_store`` directly and beats all of these."""
    if os.environ.get(STORE_ENV):
        return os.environ[STORE_ENV]
    if configured:
        return configured
    import platformdirs

    return str(Path(platformdirs.user_data_dir("moodle-soc")) / "evidence.sqlite")


def _engine_for(location: str) -> Engine:
    if "://" in location:
        url = sa.make_url(location)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if url.get_backend_name() not in ("postgresql", "sqlite"):
            raise StoreError(
                f"The evidence store must be SQLite or PostgreSQL, not {url.drivername}."
            )
        return sa.create_engine(url)
    path = Path(location).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL keeps readers working during a write; full sync makes a commit survive a crash.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        # Writers take the write lock at BEGIN, so two writers queue instead of failing
        # mid-way; readers begin deferred, so WAL lets them read during a write.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with _writing(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two first uses at once would both create the tables: serialize them.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _writing(engine: Engine) -> Engine:
    """The engine for write transactions (SQLite: BEGIN IMMEDIATE)."""
    return engine.execution_options(**{WRITE_OPTION: True})


class EvidenceStore:
    def __init__(self, engine: Engine, location: str, signer: Signer | None = None) -> None:
        self.engine = engine
        self.location = location
        self.signer = signer

    def writer(self) -> Engine:
        """The engine to open write transactions with (takes SQLite's write lock at BEGIN)."""
        return _writing(self.engine)

    @property
    def display(self) -> str:
        if "://" in self.location:
            return sa.make_url(self.location).render_as_string(hide_password=True)
        return self.location

    # --- writing ----------------------------------------------------------------------------

    def append(
        self,
        site: SiteRef,
        kind: str,
        payload: Any,
        *,
        collected_at: datetime,
        effective_date: date | None = None,
    ) -> StoredRecord:
        """Append one record to ``site``'s chain, atomically; returns it as stored."""
        body = canonical_bytes(payload)
        digest = sha256_hex(body)
        for _attempt in range(5):
            try:
                with _writing(self.engine).begin() as connection:
                    if connection.dialect.name == "postgresql":
                        # One writer per chain at a time: the next waits, then reads the head.
                        connection.execute(
                            sa.text("SELECT pg_advisory_xact_lock(hashtext(:site))"),
                            {"site": site.key},
                        )
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
        kind: str,
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
        created = datetime.now(UTC)
        header = record_header(
            site.key, index, kind, created, collected_at, effective_date, digest, prev
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
                kind=kind,
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
            kind=kind,
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
        digest = sha256_hex(data)
        b = schema.blobs
        with _writing(self.engine).begin() as connection:
            found = connection.execute(sa.select(b.c.sha256).where(b.c.sha256 == digest)).first()
            if found is None:
                connection.execute(b.insert().values(sha256=digest, size=len(data), data=data))
        return digest

    # --- reading ----------------------------------------------------------------------------

    def get_blob(self, digest: str) -> bytes | None:
        b = schema.blobs
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(b.c.data).where(b.c.sha256 == digest)).first()
        return None if row is None else bytes(row[0])

    def sites(self) -> list[SiteRef]:
        s = schema.sites
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(s).order_by(s.c.name)).all()
        return [SiteRef(key=row.site_key, name=row.name, wwwroot=row.wwwroot) for row in rows]

    def find_site(self, text: str) -> SiteRef:
        """A site by key, name or wwwroot, else by key prefix or part of its name
        (case-insensitive; it must name exactly one site)."""
        wanted = text.strip().lower()
        sites = self.sites()
        exact = [
            site
            for site in sites
            if site.key.lower() == wanted
            or site.name.lower() == wanted
            or (site.wwwroot or "").lower().rstrip("/") == wanted.rstrip("/")
        ]
        # Else a key prefix or a part of the name, when it names one site only.
        matches = exact or [
            site
            for site in sites
            if wanted and (site.key.lower().startswith(wanted) or wanted in site.name.lower())
        ]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(f"{s.name} ({s.key[:12]})" for s in self.sites()) or "none"
        problem = "matches several sites" if matches else "matches no site"
        raise StoreError(f"Site {text!r} {problem} in {self.display}; sites: {known}.")

    def records(
        self,
        *,
        site_key: str | None = None,
        kind: str | None = None,
        collected_from: datetime | None = None,
        collected_to: datetime | None = None,
    ) -> list[StoredRecord]:
        """Headers of matching records, in chain order per site (payloads via ``payload``)."""
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
        query = query.order_by(r.c.site_key, r.c.chain_index)
        with self.engine.connect() as connection:
            return [_record(row._mapping) for row in connection.execute(query)]

    def get(self, ref: str) -> StoredRecord:
        """A record by sequence number or by (a prefix of) its record hash."""
        r = schema.records
        query = sa.select(*[c for c in r.c if c.name != "payload"])
        text = ref.strip().lower()
        if text.isdigit():
            query = query.where(r.c.seq == int(text))
        elif len(text) >= 6 and all(ch in "0123456789abcdef" for ch in text):
            query = query.where(r.c.record_hash.startswith(text))
        else:
            raise StoreError(f"{ref!r} is neither a record number nor a record hash prefix.")
        with self.engine.connect() as connection:
            rows = connection.execute(query.limit(2)).all()
        if len(rows) != 1:
            problem = "matches several records" if rows else "matches no record"
            raise StoreError(f"Record {ref!r} {problem} in {self.display}.")
        return _record(rows[0]._mapping)

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
        chain = self.records(site_key=site_key)
        return chain[-1].record_hash if chain else GENESIS

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _record(row: Any) -> StoredRecord:
    return StoredRecord(
        seq=int(row["seq"]),
        site_key=row["site_key"],
        chain_index=int(row["chain_index"]),
        kind=row["kind"],
        created_at=parse_utc_iso(row["created_at"]),
        collected_at=parse_utc_iso(row["collected_at"]),
        effective_date=date.fromisoformat(row["effective_date"]) if row["effective_date"] else None,
        content_sha256=row["content_sha256"],
        prev_hash=row["prev_hash"],
        record_hash=row["record_hash"],
        signature=row["signature"],
        key_id=row["key_id"],
        pruned_by=row["pruned_by"],
    )


def open_store(
    location: str | None = None, *, create: bool = False, signer: Signer | None = None
) -> EvidenceStore:
    """Open the store at ``location`` (default: ``default_location()``).

    Only a caller that writes evidence passes ``create=True``; otherwise a missing store is an
    error, so a mistyped ``--store`` never reads as an empty, valid store.
    """
    from alembic.util import CommandError

    where = location or default_location()
    shown = sa.make_url(where).render_as_string(hide_password=True) if "://" in where else where
    if not create and "://" not in where and not Path(where).expanduser().is_file():
        raise StoreError(f"No evidence store at {shown}; check --store (or $MOODLE_SOC_STORE).")
    try:
        engine = _engine_for(where)
        if not create and not sa.inspect(engine).has_table(schema.records.name):
            engine.dispose()
            raise StoreError(f"No evidence store at {shown}; check --store.")
        migrate(engine)
    except (sa.exc.SQLAlchemyError, CommandError, UnicodeDecodeError) as exc:
        original = getattr(exc, "orig", None) or exc
        raise StoreError(
            f"Cannot open the evidence store {shown}: {str(original).strip()}."
        ) from None
    return EvidenceStore(engine, where, signer)
