"""Walk every chain and recompute every hash: the first broken record is named precisely.

Hashes are recomputed from the exact stored text of every header field (never from parsed
values), so any one-character change is caught; a record that cannot even be read is
reported as a problem, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from moodle_soc.evidence.store import schema
from moodle_soc.evidence.store.canonical import content_hash, sha256_hex
from moodle_soc.evidence.store.kinds import handler_for
from moodle_soc.evidence.store.rows import DEFAULT_PAGE, pages
from moodle_soc.evidence.store.signing import load_public_key, signature_valid
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.models.records import GENESIS, RECORD_VERSION, RecordKind

Row = Mapping[Any, Any]  # a records table row, every column as stored


@dataclass(frozen=True)
class Problem:
    seq: int | None
    site_key: str
    chain_index: int | None
    record_hash: str | None
    message: str

    @classmethod
    def at(cls, row: Row, message: str) -> Problem:
        return cls(
            _as_int(row["seq"]),
            str(row["site_key"]),
            _as_int(row["chain_index"]),
            str(row["record_hash"]),
            message,
        )

    def describe(self) -> str:
        where = f"record {self.seq} (chain {self.site_key[:12]} #{self.chain_index})"
        return f"{where if self.seq is not None else self.site_key}: {self.message}"


@dataclass
class VerifyReport:
    chains: int = 0
    records: int = 0
    attachments: int = 0
    signed: int = 0
    problems: list[Problem] = field(default_factory=list)
    heads: dict[str, str] = field(default_factory=dict)
    known_hashes: set[str] = field(default_factory=set)
    unsigned: int = 0

    @property
    def ok(self) -> bool:
        """No problem found (also true of an empty store: see ``empty``)."""
        return not self.problems

    @property
    def empty(self) -> bool:
        """Nothing was verified: the store (or the site asked for) holds no record. A caller
        that expects evidence treats this as a failure, not as a clean bill of health."""
        return self.records == 0


def verify_store(
    store: EvidenceStore, site_key: str | None = None, *, page: int = DEFAULT_PAGE
) -> VerifyReport:
    """Recompute payload hashes, header hashes, links, signatures and attachment blobs.

    Records are read ``page`` at a time, in one read transaction (one snapshot of the store).
    """
    try:
        return _verify(store, site_key, page)
    except (sa.exc.SQLAlchemyError, UnicodeDecodeError) as exc:
        original = getattr(exc, "orig", None) or exc
        raise StoreError(
            f"The evidence store {store.display} cannot be read ({str(original).strip()[:160]}):"
            " it is damaged or was altered outside moodle-soc."
        ) from None


@contextmanager
def _snapshot(store: EvidenceStore) -> Iterator[Connection]:
    """One read transaction: SQLite's deferred BEGIN in WAL mode, PostgreSQL's REPEATABLE READ."""
    with store.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        yield connection


def _verify(store: EvidenceStore, site_key: str | None, page: int) -> VerifyReport:
    report = VerifyReport()
    r = schema.records
    query = sa.select(r)
    if site_key is not None:
        query = query.where(r.c.site_key == site_key)
    with _snapshot(store) as connection:
        keys = _public_keys(connection, report)
        seals = _seals(connection, site_key, page)
        walks: dict[str, ChainWalk] = {}
        disordered: set[str] = set()
        for row in pages(connection, query, page=page):
            site = str(row["site_key"])
            report.records += 1
            report.known_hashes.add(str(row["record_hash"]))
            if site in disordered:
                continue
            walk = walks.setdefault(site, ChainWalk(site, connection, keys, seals))
            if not walk.follows(row):
                # Rows out of chain order (seq renumbered, a position edited): walk this
                # chain again below, sorted, as a whole.
                disordered.add(site)
                del walks[site]
                continue
            walk.step(row)
        if disordered:
            walks |= _walk_sorted(connection, query, page, disordered, keys, seals)
        looked_up = {digest for walk in walks.values() for digest in walk.looked_up}
        blob_problems = _misnamed_blobs(connection, looked_up)
    ordered = [walks[site] for site in sorted(walks)]
    report.problems += [w.header_problem for w in ordered if w.header_problem is not None]
    report.problems += [
        w.link_problem for w in ordered if w.header_problem is None and w.link_problem is not None
    ]
    report.problems += blob_problems
    for walk in ordered:
        report.chains += 1
        report.signed += walk.signed
        report.unsigned += walk.unsigned
        report.attachments += walk.attachments
        report.heads[walk.site] = walk.head
    return report


def _misnamed_blobs(connection: Connection, looked_up: set[str]) -> list[Problem]:
    """Stored files whose row names another hash than their bytes have (those a record names
    were judged with it). The records' lookups go through the key's index, which can still
    hold the right name when the row's own copy was altered, so the table is read as it is, a
    few rows at a time."""
    b = schema.blobs
    query = sa.select(b.c.sha256, b.c.data)
    problems = []
    for name, data in connection.execution_options(yield_per=20).execute(query):
        if name not in looked_up and sha256_hex(bytes(data or b"")) != name:
            message = f"stored file {str(name)[:12]} does not hash to its name"
            problems.append(Problem(None, "evidence_blobs", None, None, message))
    return problems


def _public_keys(connection: Connection, report: VerifyReport) -> dict[str, Any]:
    keys = {}
    for row in connection.execute(sa.select(schema.keys)):
        try:
            keys[row.key_id] = load_public_key(row.public_key)
        except ValueError:
            report.problems.append(
                Problem(None, row.key_id, None, None, "stored public key is invalid")
            )
    return keys


def _seals(connection: Connection, site_key: str | None, page: int) -> dict[str, Seal]:
    """Every retention seal (of ``site_key``): a cleared payload is checked against its seal,
    which comes later in the chain than the record it clears."""
    r = schema.records
    query = sa.select(r.c.seq, r.c.site_key, r.c.chain_index, r.c.record_hash, r.c.payload)
    query = query.where(r.c.kind == RecordKind.RETENTION_SEAL.value)
    if site_key is not None:
        query = query.where(r.c.site_key == site_key)
    return {
        str(row["record_hash"]): Seal.of(row)
        for row in pages(connection, query, page=page)
        if isinstance(row["payload"], str)
    }


def _walk_sorted(
    connection: Connection,
    query: sa.Select[Any],
    page: int,
    sites: set[str],
    keys: dict[str, Any],
    seals: dict[str, Seal],
) -> dict[str, ChainWalk]:
    """Walk ``sites`` in chain order, their rows held in memory (a tampered store's only)."""
    held: dict[str, list[Row]] = {site: [] for site in sites}
    for row in pages(connection, query, page=page):
        if str(row["site_key"]) in held:
            held[str(row["site_key"])].append(row)
    walks = {}
    for site, rows in held.items():
        walk = ChainWalk(site, connection, keys, seals)
        for each in sorted(rows, key=_chain_order):
            walk.step(each)
        walks[site] = walk
    return walks


def _chain_order(row: Row) -> tuple[int, int]:
    return _as_int(row["chain_index"]), _as_int(row["seq"])


class ChainWalk:
    """One chain, record after record in chain order: its first problem and its counts.

    A record whose own fields no longer match its hash is the cause of any broken link
    around it (a moved record makes its neighbour look out of place): it is named rather
    than the first broken link, wherever it is in the chain.
    """

    def __init__(
        self,
        site: str,
        connection: Connection,
        keys: dict[str, Any],
        seals: dict[str, Seal],
    ) -> None:
        self.site = site
        self.connection = connection
        self.keys = keys
        self.seals = seals
        self.before: Row | None = None
        self.header_problem: Problem | None = None
        self.link_problem: Problem | None = None
        self.head = GENESIS
        self.signed = self.unsigned = self.attachments = 0
        #: Blobs already found intact in this walk: runs share their unchanged populations.
        self.intact: set[str] = set()
        self.looked_up: set[str] = set()  # every blob name a record of the chain gave

    def follows(self, row: Row) -> bool:
        """Whether ``row`` comes after every row walked so far in chain order."""
        return self.before is None or _chain_order(row) > _chain_order(self.before)

    def step(self, row: Row) -> None:
        if self.header_problem is None and not _header_intact(row):
            self.header_problem = Problem.at(
                row, "header was altered (record hash does not match its fields)"
            )
        try:
            message = self._check(row)
        except Exception as exc:  # any unreadable field is a finding about that record
            message = f"record cannot be read ({type(exc).__name__}: {str(exc)[:120]})"
        if message is not None and self.link_problem is None:
            self.link_problem = Problem.at(row, message)
        self.before = row
        self.head = str(row["record_hash"])

    def _check(self, row: Row) -> str | None:
        before = self.before
        expected_index = 0 if before is None else int(before["chain_index"]) + 1
        if row["chain_index"] != expected_index:
            return (
                f"chain position {row['chain_index']} follows {expected_index - 1}:"
                " a record is missing"
            )
        expected_prev = GENESIS if before is None else before["record_hash"]
        if row["prev_hash"] != expected_prev:
            return "does not link to the previous record (prev_hash differs)"
        payload = row["payload"]
        if payload is None:
            seal = self.seals.get(str(row["pruned_by"] or ""))
            if seal is None or not seal.accounts_for(row):
                return "payload is missing and no retention seal accounts for it"
        elif not isinstance(payload, str):
            return "payload was altered (it is no longer text)"
        elif sha256_hex(payload.encode()) != row["content_sha256"]:
            return "payload was altered (content hash does not match)"
        if row["signature"] is None:
            self.unsigned += 1
        else:
            key = self.keys.get(str(row["key_id"] or ""))
            if key is None:
                return f"signed by unknown key {row['key_id']}"
            if not signature_valid(key, str(row["record_hash"]), str(row["signature"])):
                return "signature does not verify"
            self.signed += 1
        handler = handler_for(row["kind"])
        if handler is not None and handler.blobs is not None and isinstance(payload, str):
            self.attachments += handler.kind is RecordKind.ATTACHMENT
            digests = handler.blobs(json.loads(payload))
            return self._blob_problem(digests, handler.blob_noun)
        return None

    def _blob_problem(self, digests: tuple[str, ...], noun: str) -> str | None:
        """The first of ``digests`` (in order) whose blob is missing or altered, else None;
        the blobs not yet seen intact are read in one query per 100."""
        b = schema.blobs
        self.looked_up.update(digests)
        wanted = [d for d in dict.fromkeys(digests) if d not in self.intact]
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            query = sa.select(b.c.sha256, b.c.data).where(b.c.sha256.in_(chunk))
            # a damaged row may read back with no bytes at all: altered, never a crash
            found |= {row[0]: bytes(row[1] or b"") for row in self.connection.execute(query)}
        for digest in wanted:
            data = found.get(digest)
            if data is None:
                return f"{noun} blob {digest[:12]} is missing"
            if sha256_hex(data) != digest:
                return f"{noun} blob {digest[:12]} was altered"
            self.intact.add(digest)
        return None


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


@dataclass(frozen=True)
class Seal:
    """What a retention seal accounts for: exactly these records of its own chain."""

    site_key: str
    chain_index: int
    records: frozenset[str]

    @classmethod
    def of(cls, row: Row) -> Seal:
        try:
            data: Any = json.loads(row["payload"])
        except ValueError:
            data = {}
        listed = data.get("cleared_records", []) if isinstance(data, dict) else []
        hashes = {str(item.get("record_hash")) for item in listed if isinstance(item, dict)}
        return cls(str(row["site_key"]), _as_int(row["chain_index"]), frozenset(hashes))

    def accounts_for(self, row: Row) -> bool:
        return (
            self.site_key == str(row["site_key"])
            and self.chain_index > _as_int(row["chain_index"])
            and str(row["record_hash"]) in self.records
        )


def _header_intact(row: Row) -> bool:
    try:
        return bool(content_hash(stored_header(row)) == row["record_hash"])
    except Exception:  # a field of the wrong type cannot match its hash either
        return False


def stored_header(row: Row) -> dict[str, Any]:
    """The header exactly as stored (the text, not parsed values): what record_hash covers."""
    return {
        "v": RECORD_VERSION,
        "site": row["site_key"],
        "index": row["chain_index"],
        "kind": row["kind"],
        "created_at": row["created_at"],
        "collected_at": row["collected_at"],
        "effective_date": row["effective_date"],
        "content": row["content_sha256"],
        "prev": row["prev_hash"],
    }
