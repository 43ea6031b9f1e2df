"""Walk every chain and recompute every hash: the first broken record is named precisely."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from moodle_soc.evidence import schema
from moodle_soc.evidence.canonical import content_hash, sha256_hex
from moodle_soc.evidence.signing import load_public_key, signature_valid
from moodle_soc.evidence.store import GENESIS, EvidenceStore, StoredRecord, _record


@dataclass(frozen=True)
class Problem:
    seq: int | None
    site_key: str
    chain_index: int | None
    record_hash: str | None
    message: str

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

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(store: EvidenceStore, site_key: str | None = None) -> VerifyReport:
    """Recompute payload hashes, header hashes, links, signatures and attachment blobs."""
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
    query = query.order_by(r.c.site_key, r.c.chain_index)
    seals: dict[str, set[str]] = {}
    chain: list[tuple[StoredRecord, str | None]] = []
    with store.engine.connect() as connection:
        for row in connection.execute(query):
            chain.append((_record(row._mapping), row.payload))
    for record, payload in chain:
        if record.kind == "retention_seal" and payload is not None:
            seals[record.record_hash] = set(_sealed_hashes(payload))
    previous: dict[str, StoredRecord] = {}
    for record, payload in chain:
        report.records += 1
        before = previous.get(record.site_key)
        if before is None:
            report.chains += 1
        problem = _check_record(store, record, payload, before, keys, seals, report)
        if problem is not None and not any(p.site_key == record.site_key for p in report.problems):
            report.problems.append(problem)
        previous[record.site_key] = record
        report.heads[record.site_key] = record.record_hash
    return report


def _sealed_hashes(payload: str) -> list[str]:
    import json

    data: Any = json.loads(payload)
    return [str(item) for item in data.get("cleared_content", [])] if isinstance(data, dict) else []


def _check_record(
    store: EvidenceStore,
    record: StoredRecord,
    payload: str | None,
    before: StoredRecord | None,
    keys: dict[str, Any],
    seals: dict[str, set[str]],
    report: VerifyReport,
) -> Problem | None:
    def problem(message: str) -> Problem:
        return Problem(record.seq, record.site_key, record.chain_index, record.record_hash, message)

    expected_index = 0 if before is None else before.chain_index + 1
    if record.chain_index != expected_index:
        return problem(
            f"chain position {record.chain_index} follows {expected_index - 1}: a record is missing"
        )
    expected_prev = GENESIS if before is None else before.record_hash
    if record.prev_hash != expected_prev:
        return problem("does not link to the previous record (prev_hash differs)")
    if content_hash(record.header()) != record.record_hash:
        return problem("header was altered (record hash does not match its fields)")
    if payload is None:
        seal = seals.get(record.pruned_by or "")
        if seal is None or record.content_sha256 not in seal:
            return problem("payload is missing and no retention seal accounts for it")
    elif sha256_hex(payload.encode()) != record.content_sha256:
        return problem("payload was altered (content hash does not match)")
    if record.signature is not None:
        key = keys.get(record.key_id or "")
        if key is None:
            return problem(f"signed by unknown key {record.key_id}")
        if not signature_valid(key, record.record_hash, record.signature):
            return problem("signature does not verify")
        report.signed += 1
    if record.kind == "attachment" and payload is not None:
        import json

        blob_hash = json.loads(payload).get("sha256", "")
        data = store.get_blob(blob_hash)
        report.attachments += 1
        if data is None:
            return problem(f"attachment blob {blob_hash[:12]} is missing")
        if sha256_hex(data) != blob_hash:
            return problem(f"attachment blob {blob_hash[:12]} was altered")
    return None
