"""``evidence export``: one site's evidence for one period, as a ZIP an auditor verifies offline.

The package holds the period report (HTML and PDF), the control matrix, every finding, the
populations and samples, every run exactly as stored, every attachment, the headers of the
chain segment, and a manifest with every file's SHA-256 (optionally signed). Entries are
ordered and timestamped deterministically, so the same evidence exports to the same bytes
(given the same ``generated_at``). The written package is verified before it is kept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from moodle_soc import __version__
from moodle_soc.errors import BadInputError, UsageError
from moodle_soc.evidence.package.archive import deflate, write_archive
from moodle_soc.evidence.package.chain import chain_line
from moodle_soc.evidence.package.content import Progress, collect
from moodle_soc.evidence.package.manifest import (
    CHAIN,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SUMS,
    FileEntry,
    comment_for,
    in_period,
    manifest_bytes,
    signed_digest,
    sums_text,
)
from moodle_soc.evidence.package.readme import README, readme_bytes
from moodle_soc.evidence.periods.populations import POPULATION_KINDS
from moodle_soc.evidence.store.canonical import sha256_hex
from moodle_soc.evidence.store.signing import Signer, public_pem
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.frameworks import Framework
from moodle_soc.models.records import (
    DEFAULT_MAX_RECORDING_DELAY_HOURS,
    GENESIS,
    RecordKind,
    SiteRef,
    StoredRecord,
)

_COMPRESSED = (".json", ".jsonl", ".csv", ".html", ".txt")  # PDF, XLSX, attachments: as is


@dataclass(frozen=True)
class PackageSummary:
    path: Path
    site: SiteRef
    start: date
    end: date
    files: int
    records: int
    kinds: dict[str, int]
    size: int
    manifest_sha256: str
    range_head: str | None
    head_at_export: str
    signed_by: tuple[str, ...]


def _broader_periods(
    store: EvidenceStore, records: list[StoredRecord], start: date, end: date
) -> dict[str, dict[str, str]]:
    """Populations (and their samples) built for a period reaching outside ``start..end``.

    Their effective date (the population period's end) lies inside the export period, but
    their rows do not all belong to it, so they are left out and the chain says why.
    """
    broader: dict[str, dict[str, str]] = {}
    for record in records:
        if record.kind not in POPULATION_KINDS:
            continue
        payload = store.payload(record) or {}
        period = payload.get("period") if isinstance(payload, dict) else None
        if not isinstance(period, dict):
            continue
        own = {"start": str(period.get("start")), "end": str(period.get("end"))}
        if own["start"] < start.isoformat() or own["end"] > end.isoformat():
            broader[record.record_hash] = own
    for record in records:
        if record.kind != RecordKind.SAMPLE:
            continue
        payload = store.payload(record) or {}
        source = payload.get("population_record", {}) if isinstance(payload, dict) else {}
        parent = broader.get(str(source.get("record_hash")))
        if parent is not None:
            broader[record.record_hash] = parent
    return broader


def export_package(
    store: EvidenceStore,
    site_key: str,
    start: date,
    end: date,
    output: Path,
    *,
    signer: Signer | None = None,
    progress: Progress | None = None,
    generated_at: datetime | None = None,
    frameworks: Sequence[Framework] = (),
    max_recording_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS,
) -> PackageSummary:
    """Write ``site_key``'s evidence for ``start``..``end`` to ``output`` (replacing it); with
    ``frameworks``, each one's requirements over the period (``frameworks/<id>.csv``, and the
    mapping itself as ``frameworks/<id>.json``) and its section in the period report.

    The manifest is signed by ``signer`` and by the store's own signer, when there are any.
    """
    if end < start:
        raise UsageError(f"The period ends ({end}) before it starts ({start}).")
    site = next((s for s in store.sites() if s.key == site_key), None)
    if site is None:
        raise StoreError(f"No site with key {site_key!r} in {store.display}.")
    moment = (generated_at or datetime.now(UTC)).astimezone(UTC)
    chain = store.records(site_key=site_key)
    forced = _in_force_before(store, site_key, start, end)
    by_date = [
        n
        for n, record in enumerate(chain)
        if in_period(record.header(), start, end) or record.record_hash in forced
    ]
    broader = _broader_periods(store, [chain[n] for n in by_date], start, end)
    inside = [n for n in by_date if chain[n].record_hash not in broader]
    segment = chain[by_date[0] : by_date[-1] + 1] if by_date else []
    included = [chain[n] for n in inside]
    content = collect(
        store,
        site,
        included,
        start,
        end,
        moment,
        progress,
        frameworks,
        max_recording_delay_hours=max_recording_delay_hours,
    )
    content.files[CHAIN] = b"".join(
        chain_line(
            r,
            included=(in_period(r.header(), start, end) and r.record_hash not in broader)
            or r.record_hash in forced,
            outside_period=broader.get(r.record_hash),
            in_force=forced.get(r.record_hash),
        )
        for r in segment
    )
    newest = max((chain[n].collected_at for n in inside), default=None)
    archive_time = (newest or datetime.combine(end, time.min, UTC)).astimezone(UTC)
    signers = {s.key_id: s for s in (signer, store.signer) if s is not None}
    head = chain[-1].record_hash if chain else GENESIS
    readme = readme_bytes(
        site,
        start,
        end,
        moment,
        content.kinds,
        content.summary,
        segment[-1].record_hash if segment else None,
        head,
        [r.key_id for r in segment if r.key_id],
        sorted(signers),
    )
    files = {README: readme, **content.files}
    entries = [_file_entry(path, data) for path, data in files.items()]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool": {"name": "moodle-soc", "version": __version__},
        "site": {"key": site.key, "name": site.name, "wwwroot": site.wwwroot},
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "generated_at": _z(moment),
        "archive_time": _z(archive_time),
        "files": [entry.model_dump() for entry in entries],
        "records": [entry.model_dump() for entry in content.records],
        "chain": _chain_info(segment, head, len(chain)),
        "public_keys": _public_keys(store, segment, signers),
        "signatures": [],
    }
    digest = signed_digest(manifest)
    manifest["signatures"] = [
        {"key_id": key_id, "algorithm": "Ed25519", "signature": signers[key_id].sign(digest)}
        for key_id in sorted(signers)
    ]
    document = manifest_bytes(manifest)
    manifest_sha256 = sha256_hex(document)
    members = [(SUMS, sums_text(manifest_sha256, entries), False), (MANIFEST, document, False)]
    members += [(path, data, path.endswith(_COMPRESSED)) for path, data in files.items()]
    content.step(progress, "Writing the package")
    _write(output, members, archive_time, comment_for(manifest_sha256))
    content.step(progress, "Verified the package")
    return PackageSummary(
        path=output,
        site=site,
        start=start,
        end=end,
        files=len(members),
        records=len(content.records),
        kinds=dict(content.kinds),
        size=output.stat().st_size,
        manifest_sha256=manifest_sha256,
        range_head=segment[-1].record_hash if segment else None,
        head_at_export=head,
        signed_by=tuple(sorted(signers)),
    )


def _in_force_before(
    store: EvidenceStore, site_key: str, start: date, end: date
) -> dict[str, dict[str, str | None]]:
    """Attachments effective before the period and still in force during part of it (a policy
    adopted earlier): included, each chain line saying from when and until when."""
    from moodle_soc.evidence.store.attachments import attachments_in_force

    return {
        item.record.record_hash: {
            "from": item.start.isoformat(),
            "until": item.until.isoformat() if item.until else None,
        }
        for item in attachments_in_force(store, site_key)
        if item.start < start and item.overlaps(start, end)
    }


def _chain_info(segment: list[StoredRecord], head: str, length: int) -> dict[str, Any]:
    """The included range (first to last included record) and the chain at export time."""
    return {
        "first_index": segment[0].chain_index if segment else None,
        "last_index": segment[-1].chain_index if segment else None,
        "range_head": segment[-1].record_hash if segment else None,
        "head_at_export": head,
        "length_at_export": length,
    }


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _file_entry(path: str, data: bytes) -> FileEntry:
    packed = deflate(data) if path.endswith(_COMPRESSED) else data
    return FileEntry(
        path=path, sha256=sha256_hex(data), size=len(data), packed_sha256=sha256_hex(packed)
    )


def _public_keys(
    store: EvidenceStore, segment: list[StoredRecord], signers: dict[str, Signer]
) -> dict[str, str]:
    """The public key of every record signer in the segment and of every manifest signer."""
    stored = store.public_keys()
    keys = {s.key_id: public_pem(s.public_key) for s in signers.values()}
    for record in segment:
        if record.key_id and record.key_id not in keys:
            if record.key_id not in stored:
                raise StoreError(f"Record {record.seq} is signed by unknown key {record.key_id}.")
            keys[record.key_id] = stored[record.key_id]
    return dict(sorted(keys.items()))


def _write(
    output: Path, members: list[tuple[str, bytes, bool]], moment: datetime, comment: bytes
) -> None:
    """Write next to ``output``, verify, then move into place: never a half-written package."""
    from moodle_soc.evidence.package.verify import verify_package

    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        write_archive(partial, members, moment, comment)
        report = verify_package(partial, reprint=False)  # the PDF was printed from this HTML
        if report.problem is not None:
            raise StoreError(f"The package failed its own verification: {report.problem}.")
        os.replace(partial, output)
    except OSError as exc:
        raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    finally:
        partial.unlink(missing_ok=True)
