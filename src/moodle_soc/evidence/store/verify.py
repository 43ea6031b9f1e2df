"""Walk every chain and recompute every hash: the first broken record is named precisely.

Hashes are recomputed from the exact stored text of every header field (never from parsed
values), so any one-character change is caught; a record that cannot even be read is
reported as a problem, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from moodle_soc.evidence.store import schema
from moodle_soc.evidence.store.canonical import content_hash, sha256_hex
from moodle_soc.evidence.store.signing import load_public_key, signature_valid
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.models.records import GENESIS, RECORD_VERSION

SEAL_KIND = "retention_seal"


@dataclass(frozen=True)
class Problem:
    seq: int | None
    site_key: str
    chain_index: int | None
    record_hash: str | None
    message: str

    @classmethod
    def at(cls, row: Mapping[str, Any], message: str) -> Problem:
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
        return not self.problems


def verify_store(store: EvidenceStore, site_key: str | None = None) -> VerifyReport:
    """Recompute payload hashes, header hashes, links, signatures and attachment blobs."""
    try:
        return _verify(store, site_key)
    except (sa.exc.SQLAlchemyError, UnicodeDecodeError) as exc:
        original = getattr(exc, "orig", None) or exc
        raise StoreError(
            f"The evidence store {store.display} cannot be read ({str(original).strip()[:160]}):"
            " it is damaged or was altered outside moodle-soc."
        ) from None


def _verify(store: EvidenceStore, site_key: str | None) -> VerifyReport:
    report = VerifyReport()
    keys = {}
    for key_id, pem in store.public_keys().items():
        try:
            keys[key_id] = load_public_key(pem)
        except ValueError:
            report.problems.append(
                Problem(None, key_id, None, None, "stored public key is invalid")
            )
    r = schema.records
    query = sa.select(r)
    if site_key is not None:
        query = query.where(r.c.site_key == site_key)
    with store.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query.order_by(r.c.seq))]
    rows.sort(key=lambda row: (str(row["site_key"]), _as_int(row["chain_index"])))
    seals: dict[str, Seal] = {}
    for row in rows:
        if row["kind"] == SEAL_KIND and isinstance(row["payload"], str):
            seals[str(row["record_hash"])] = Seal.of(row)
    report.known_hashes = {str(row["record_hash"]) for row in rows}
    previous: dict[str, Mapping[str, Any]] = {}
    broken: set[str] = set()
    # A record whose own fields no longer match its hash is the cause of any broken link
    # around it (a moved record makes its neighbour look out of place): name it first.
    for row in rows:
        site = str(row["site_key"])
        if site not in broken and not _header_intact(row):
            broken.add(site)
            report.problems.append(
                Problem.at(row, "header was altered (record hash does not match its fields)")
            )
    for row in rows:
        site = str(row["site_key"])
        report.records += 1
        before = previous.get(site)
        if before is None:
            report.chains += 1
        try:
            message = _check_record(store, row, before, keys, seals, report)
        except Exception as exc:  # any unreadable field is a finding about that record
            message = f"record cannot be read ({type(exc).__name__}: {str(exc)[:120]})"
        if message is not None and site not in broken:
            broken.add(site)
            report.problems.append(Problem.at(row, message))
        previous[site] = row
        report.heads[site] = str(row["record_hash"])
    return report


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
    def of(cls, row: Mapping[str, Any]) -> Seal:
        try:
            data: Any = json.loads(row["payload"])
        except ValueError:
            data = {}
        listed = data.get("cleared_records", []) if isinstance(data, dict) else []
        hashes = {str(item.get("record_hash")) for item in listed if isinstance(item, dict)}
        return cls(str(row["site_key"]), _as_int(row["chain_index"]), frozenset(hashes))

    def accounts_for(self, row: Mapping[str, Any]) -> bool:
        return (
            self.site_key == str(row["site_key"])
            and self.chain_index > _as_int(row["chain_index"])
            and str(row["record_hash"]) in self.records
        )


def _header_intact(row: Mapping[str, Any]) -> bool:
    try:
        return bool(content_hash(stored_header(row)) == row["record_hash"])
    except Exception:  # a field of the wrong type cannot match its hash either
        return False


def stored_header(row: Mapping[str, Any]) -> dict[str, Any]:
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


def _check_record(
    store: EvidenceStore,
    row: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    keys: dict[str, Any],
    seals: dict[str, Seal],
    report: VerifyReport,
) -> str | None:
    # Header hashes were checked for every record first (see _verify).
    expected_index = 0 if before is None else int(before["chain_index"]) + 1
    if row["chain_index"] != expected_index:
        return (
            f"chain position {row['chain_index']} follows {expected_index - 1}: a record is missing"
        )
    expected_prev = GENESIS if before is None else before["record_hash"]
    if row["prev_hash"] != expected_prev:
        return "does not link to the previous record (prev_hash differs)"
    payload = row["payload"]
    if payload is None:
        seal = seals.get(str(row["pruned_by"] or ""))
        if seal is None or not seal.accounts_for(row):
            return "payload is missing and no retention seal accounts for it"
    elif not isinstance(payload, str):
        return "payload was altered (it is no longer text)"
    elif sha256_hex(payload.encode()) != row["content_sha256"]:
        return "payload was altered (content hash does not match)"
    if row["signature"] is None:
        report.unsigned += 1
    else:
        key = keys.get(str(row["key_id"] or ""))
        if key is None:
            return f"signed by unknown key {row['key_id']}"
        if not signature_valid(key, str(row["record_hash"]), str(row["signature"])):
            return "signature does not verify"
        report.signed += 1
    if row["kind"] == "attachment" and isinstance(payload, str):
        blob_hash = str(json.loads(payload).get("sha256", ""))
        data = store.get_blob(blob_hash)
        report.attachments += 1
        if data is None:
            return f"attachment blob {blob_hash[:12]} is missing"
        if sha256_hex(data) != blob_hash:
            return f"attachment blob {blob_hash[:12]} was altered"
    return None
