"""Offline checks of a package's records: headers, chain links, payloads, files, signatures.

``chain/records.jsonl`` holds the header of every record from the first included one to the
last, in chain order, so an auditor can recompute each record hash (SHA-256 of the RFC 8785
canonical header), see that each links to the one before, and see that every record left out
lies outside the period: nothing inside the range can be dropped unnoticed.
"""

from __future__ import annotations

import json
from typing import Any

from moodle_soc.evidence.package.manifest import (
    CHAIN,
    MANIFEST,
    Manifest,
    RecordEntry,
    in_period,
)
from moodle_soc.evidence.periods.populations import POPULATION_KINDS
from moodle_soc.evidence.store.canonical import canonical_bytes, sha256_hex
from moodle_soc.evidence.store.signing import load_public_key, signature_valid
from moodle_soc.models.records import RecordKind, StoredRecord

HEADER_KEYS = {"v", "site", "index", "kind", "created_at", "collected_at", "effective_date"}
HEADER_KEYS |= {"content", "prev"}


class Tampered(Exception):
    """The first problem found in a package: the file it is in and what differs."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


def chain_line(
    record: StoredRecord,
    *,
    included: bool,
    outside_period: dict[str, str] | None = None,
    in_force: dict[str, str | None] | None = None,
) -> bytes:
    """One line of ``chain/records.jsonl``: the record's header, hash and signature; for a
    population dated inside the period but built over a broader one, that broader period; for
    an attachment effective before the period but in force during it, from and until when."""
    line: dict[str, Any] = {
        "seq": record.seq,
        "included": included,
        "record_hash": record.record_hash,
        "signature": record.signature,
        "key_id": record.key_id,
        "header": record.header(),
    }
    if outside_period is not None:
        line["outside_period"] = outside_period
    if in_force is not None:
        line["in_force"] = in_force
    return json.dumps(line, ensure_ascii=False, sort_keys=True).encode() + b"\n"


def record_document(header: dict[str, Any], entry: RecordEntry, payload: Any) -> bytes:
    """``records/<seq>.json``: the header, its hash and the payload (null when cleared)."""
    document = {"seq": entry.seq, "record_hash": entry.record_hash, "header": header}
    document |= {"cleared_by": entry.cleared_by, "payload": payload}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


class ChainCheck:
    def __init__(self, manifest: Manifest, files: dict[str, bytes]) -> None:
        self.manifest = manifest
        self.files = files
        self.keys = {key: load_public_key(pem) for key, pem in manifest.public_keys.items()}
        self.signed = 0
        self.notes: list[str] = []
        self.range_head: str | None = None
        self.headers: dict[int, dict[str, Any]] = {}
        self.in_force: dict[int, dict[str, Any]] = {}  # included for being in force
        self.payloads: dict[int, Any] = {}  # verified; None for runs and cleared records

    def run(self) -> None:
        self._chain()
        cleared: dict[str, set[str]] = {}
        self.payloads = {entry.seq: self._payload(entry) for entry in self.manifest.records}
        for entry in self.manifest.records:
            payload = self.payloads[entry.seq]
            if entry.kind == RecordKind.RETENTION_SEAL and isinstance(payload, dict):
                listed = payload.get("cleared_records", [])
                cleared[entry.record_hash] = {
                    str(item.get("record_hash")) for item in listed if isinstance(item, dict)
                }
        for entry in self.manifest.records:
            if entry.cleared_by is None:
                continue
            # The seal must name this very record, not merely the same content.
            if entry.record_hash in cleared.get(entry.cleared_by, set()):
                continue
            if any(e.record_hash == entry.cleared_by for e in self.manifest.records):
                raise Tampered(
                    self._file(entry), "payload is missing and its retention seal does not list it"
                )
            self.notes.append(
                f"Record {entry.seq}'s payload was cleared by retention seal"
                f" {entry.cleared_by[:12]}, which is not in this package."
            )

    def _chain(self) -> None:
        chain = self.manifest.chain
        included = iter(self.manifest.records)
        previous: str | None = None
        lines = self.files.get(CHAIN, b"").splitlines()
        first, last = chain.first_index, chain.last_index
        if len(lines) != (0 if first is None or last is None else last - first + 1):
            raise Tampered(CHAIN, "does not hold every record from the first to the last index")
        for number, raw in enumerate(lines, start=1):
            line, header = self._line(number, raw, previous)
            if line["included"]:
                entry = next(included, None)
                if entry is None or _entry_fields(entry) != _line_fields(line, header):
                    raise Tampered(MANIFEST, f"its record at chain line {number} differs")
                self.headers[entry.seq] = header
            previous = str(line["record_hash"])
        if next(included, None) is not None:
            raise Tampered(MANIFEST, "lists records that are not in the chain")
        self.range_head = previous
        at_head = chain.last_index == chain.length_at_export - 1
        if previous != chain.range_head or (at_head and previous != chain.head_at_export):
            raise Tampered(MANIFEST, "its chain heads differ from chain/records.jsonl")

    def _line(
        self, number: int, raw: bytes, previous: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One line of the chain file: a well-formed header that hashes to its record hash,
        sits at its position, links to the line before, and is included exactly when it lies
        inside the period."""

        def fail(message: str) -> Tampered:
            return Tampered(CHAIN, f"line {number}: {message}")

        line = _json(CHAIN, raw, f"line {number}")
        header, record_hash = line.get("header"), line.get("record_hash")
        if not isinstance(header, dict) or set(header) != HEADER_KEYS:
            raise fail("the record header is malformed")
        if _digest(header) != record_hash:
            raise fail("the header does not hash to its record hash")
        if header["site"] != self.manifest.site.key:
            raise fail("belongs to another site's chain")
        if header["index"] != (self.manifest.chain.first_index or 0) + number - 1:
            raise fail(f"chain position {header['index']} is out of sequence")
        if previous is not None and header["prev"] != previous:
            raise fail("does not link to the record before it")
        self._signature(number, str(record_hash), line.get("signature"), line.get("key_id"))
        period = self.manifest.period
        try:
            inside = in_period(header, period.start, period.end)
        except (TypeError, ValueError):
            raise fail("the record's dates are malformed") from None
        broader, claim = line.get("outside_period"), line.get("in_force")
        if not inside and line.get("included") is True and isinstance(claim, dict):
            # An attachment adopted before the period and in force during part of it.
            if header["kind"] != RecordKind.ATTACHMENT:
                raise fail("only attachments can be included for being in force")
            until = claim.get("until")
            if claim.get("from") != header["effective_date"] or not (
                str(header["effective_date"]) < period.start.isoformat()
                and (until is None or str(until) >= period.start.isoformat())
            ):
                raise fail("the record is included as in force, but not during the period")
            self.in_force[int(line.get("seq", -1))] = claim
        elif inside and line.get("included") is False and isinstance(broader, dict):
            # A population over a broader period: left out, and the line must say so truly.
            own_start, own_end = str(broader.get("start")), str(broader.get("end"))
            if own_start >= period.start.isoformat() and own_end <= period.end.isoformat():
                raise fail("the record is left out, but its period lies inside the package's")
            if header["kind"] not in (*POPULATION_KINDS, RecordKind.SAMPLE):
                raise fail("only populations and samples can be left out for their period")
        elif line.get("included") is not inside:
            where, what = ("inside", "left out") if inside else ("outside", "included")
            raise fail(f"the record lies {where} the period but is {what}")
        return line, header

    def _signature(self, number: int, record_hash: str, signature: Any, key_id: Any) -> None:
        if signature is None:
            return
        key = self.keys.get(str(key_id))
        if key is None:
            raise Tampered(CHAIN, f"line {number}: signed by key {key_id}, not in the package")
        if not signature_valid(key, record_hash, str(signature)):
            raise Tampered(CHAIN, f"line {number}: the record signature does not verify")
        self.signed += 1

    def _payload(self, entry: RecordEntry) -> Any:
        """The record's payload, after checking it against the content hash in its header."""
        name = self._file(entry)
        data = self.files.get(name)
        if data is None:
            raise Tampered(name, f"record {entry.seq}'s file is missing")
        if entry.kind == RecordKind.RUN and entry.cleared_by is None:
            if sha256_hex(data) != entry.content_sha256:
                raise Tampered(name, f"does not hash to record {entry.seq}'s content_sha256")
            return None
        document = _json(name, data, "the file")
        if document.get("header") != self.headers.get(entry.seq):
            raise Tampered(name, "its header differs from chain/records.jsonl")
        if document.get("record_hash") != entry.record_hash:
            raise Tampered(name, "its record hash differs from the manifest")
        payload = document.get("payload")
        if entry.cleared_by is not None:
            if payload is not None or document.get("cleared_by") != entry.cleared_by:
                raise Tampered(name, "a cleared record must carry no payload")
            return None
        if _digest(payload) != entry.content_sha256:
            raise Tampered(name, f"its payload does not hash to record {entry.seq}'s content")
        if entry.kind == RecordKind.ATTACHMENT:
            self._attachment(entry, payload)
        return payload

    def _attachment(self, entry: RecordEntry, payload: Any) -> None:
        claim = self.in_force.get(entry.seq)
        if claim is not None and isinstance(payload, dict):
            ends = payload.get("effective_until")
            if ends is not None and (claim.get("until") is None or claim["until"] > ends):
                raise Tampered(
                    self._file(entry), "it is included as in force after its effective_until"
                )
        name = entry.attachment or f"attachments/{entry.seq}"
        data = self.files.get(name)
        if data is None:
            raise Tampered(name, f"attachment of record {entry.seq} is missing")
        if not isinstance(payload, dict) or sha256_hex(data) != payload.get("sha256"):
            raise Tampered(name, f"does not hash to the SHA-256 record {entry.seq} gives")
        if len(data) != payload.get("size"):
            raise Tampered(name, f"its size differs from the size record {entry.seq} gives")

    def _file(self, entry: RecordEntry) -> str:
        return entry.file or f"records/{entry.seq}.json"


def _digest(value: Any) -> str | None:
    """SHA-256 of the RFC 8785 form of ``value``; None when it has none (NaN, huge integers)."""
    try:
        return sha256_hex(canonical_bytes(value))
    except ValueError:
        return None


def _json(name: str, data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise Tampered(name, f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise Tampered(name, f"{what} is not a JSON object")
    return value


def _entry_fields(entry: RecordEntry) -> tuple[Any, ...]:
    return (entry.seq, entry.index, entry.kind, entry.collected_at, entry.effective_date,
            entry.record_hash, entry.content_sha256, entry.prev_hash, entry.signature,
            entry.key_id)  # fmt: skip


def _line_fields(line: dict[str, Any], header: dict[str, Any]) -> tuple[Any, ...]:
    return (line.get("seq"), header.get("index"), header.get("kind"), header.get("collected_at"),
            header.get("effective_date"), line.get("record_hash"), header.get("content"),
            header.get("prev"), line.get("signature"), line.get("key_id"))  # fmt: skip
