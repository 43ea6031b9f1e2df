"""Manual evidence: a signed policy, a restore-test record, an access-review sign-off.

The file is stored once by its SHA-256; the record says who collected it, when, for which
control, and the date it is effective for (which may differ from the upload date).
"""

from __future__ import annotations

import mimetypes
import re
from datetime import UTC, date, datetime
from pathlib import Path

from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord

#: A plugin's vendor review (``vendor_review:local_reports``), read by plugins.* checks.
VENDOR_REVIEW = re.compile(r"^vendor_review:[a-z][a-z0-9]*_[a-z0-9_]+$")
MAX_ATTACHMENT_BYTES = 200 * 1024 * 1024


def known_control_ids() -> set[str]:
    """Ids an attachment may serve: the requirements of every built-in framework (SOC 2
    criteria, SOC 1 objectives, ISO 27001 and NIST 800-53 controls), evidence items, checks."""
    from moodle_soc.checks.registry import all_checks
    from moodle_soc.frameworks import builtin_frameworks, load_catalogue

    catalogue = load_catalogue()
    ids = {c.id for framework in builtin_frameworks() for c in framework.criteria}
    ids |= set(catalogue.manual_evidence)
    ids |= {e for framework in builtin_frameworks() for e in framework.manual_evidence}
    ids |= {item.id for item in catalogue.readiness}
    ids |= {spec.id for spec in all_checks()}
    return ids


def attach_file(
    store: EvidenceStore,
    site: SiteRef,
    path: Path,
    *,
    control: str,
    effective_date: date,
    collected_by: str,
    note: str = "",
) -> StoredRecord:
    if control not in known_control_ids() and not VENDOR_REVIEW.match(control):
        raise BadInputError(
            f"Unknown control {control!r}: use a criterion (CC6.1), SOC 1 objective, manual"
            " evidence id, check id from 'moodle-soc checks list', or"
            " vendor_review:<plugin component>."
        )
    try:
        size = path.stat().st_size
        if size > MAX_ATTACHMENT_BYTES:
            raise BadInputError(f"{path} is larger than {MAX_ATTACHMENT_BYTES // 2**20} MiB.")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    digest = store.put_blob(data)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    payload = {
        "filename": path.name,
        "sha256": digest,
        "size": len(data),
        "media_type": media_type,
        "control": control,
        "effective_date": effective_date.isoformat(),
        "collected_by": collected_by,
        "uploaded_at": datetime.now(UTC).isoformat(),
        "note": note,
    }
    return store.append(
        site,
        RecordKind.ATTACHMENT,
        payload,
        collected_at=datetime.now(UTC),
        effective_date=effective_date,
    )
