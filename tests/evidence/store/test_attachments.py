"""Manual evidence files: stored once by SHA-256, with who, when, control and effective date."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store import attachments
from moodle_soc.evidence.store.attachments import attach_file, known_control_ids
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import SiteRef

SITE = SiteRef(key="attach-site", name="Attach", wwwroot="https://lms.example.edu")
EFFECTIVE = date(2026, 6, 30)


def test_known_controls_cover_criteria_evidence_ids_and_checks() -> None:
    from moodle_soc.checks.registry import all_checks

    ids = known_control_ids()
    assert {"CC6.1", "CC6.3", "A1.2", "CC8.1"} <= ids
    assert {"A.8.17", "IA-2(1)", "clock_synchronisation_configuration"} <= ids  # ISO, NIST
    assert {spec.id for spec in all_checks()} <= ids
    assert "CC99.9" not in ids and "" not in ids


def test_an_attachment_is_stored_by_hash_with_its_context(
    store: EvidenceStore, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 40 + b"\x00\xff binary tail"
    path = tmp_path / "Access Review Q2 ✓.xlsx"
    path.write_bytes(data)
    before = datetime.now(UTC)
    record = attach_file(
        store, SITE, path, control="CC6.3", effective_date=EFFECTIVE,
        collected_by="j.auditor", note="signed by the registrar",
    )  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    assert record.kind == "attachment"
    assert record.effective_date == EFFECTIVE
    assert before - timedelta(seconds=1) <= record.collected_at <= datetime.now(UTC)
    payload = store.payload(record)
    assert payload == {
        "filename": "Access Review Q2 ✓.xlsx",
        "sha256": digest,
        "size": len(data),
        "media_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "control": "CC6.3",
        "effective_date": "2026-06-30",
        "collected_by": "j.auditor",
        "uploaded_at": payload["uploaded_at"],
        "note": "signed by the registrar",
    }
    assert datetime.fromisoformat(payload["uploaded_at"]) >= before - timedelta(seconds=1)
    assert store.get_blob(digest) == data
    report = verify_store(store)
    assert report.ok and report.attachments == 1


def test_the_same_file_twice_is_one_blob_and_two_records(
    store: EvidenceStore, tmp_path: Path
) -> None:
    path = tmp_path / "policy.pdf"
    path.write_bytes(b"%PDF-1.7 information security policy v3")
    first = attach_file(
        store, SITE, path, control="CC1.1", effective_date=EFFECTIVE, collected_by="a"
    )
    second = attach_file(
        store, SITE, path, control="CC5.3", effective_date=EFFECTIVE, collected_by="b"
    )
    assert (first.chain_index, second.chain_index) == (0, 1)
    assert store.payload(first)["sha256"] == store.payload(second)["sha256"]
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM evidence_blobs").scalar() == 1
    assert verify_store(store).attachments == 2


def test_an_empty_file_can_be_evidence(store: EvidenceStore, tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    record = attach_file(
        store, SITE, path, control="A1.2", effective_date=EFFECTIVE, collected_by="a"
    )
    assert store.payload(record)["size"] == 0
    assert store.get_blob(hashlib.sha256(b"").hexdigest()) == b""
    assert verify_store(store).ok


def test_refusals_store_nothing(
    store: EvidenceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "evidence.pdf"
    path.write_bytes(b"x" * 2000)
    with pytest.raises(BadInputError, match=r"Unknown control 'CC99\.9'"):
        attach_file(store, SITE, path, control="CC99.9", effective_date=EFFECTIVE, collected_by="a")
    with pytest.raises(BadInputError, match="Cannot read"):
        attach_file(store, SITE, tmp_path / "missing.pdf", control="CC6.1",
                    effective_date=EFFECTIVE, collected_by="a")  # fmt: skip
    with pytest.raises(BadInputError, match="Cannot read"):
        attach_file(
            store, SITE, tmp_path, control="CC6.1", effective_date=EFFECTIVE, collected_by="a"
        )
    monkeypatch.setattr(attachments, "MAX_ATTACHMENT_BYTES", 1000)
    with pytest.raises(BadInputError, match="larger than"):
        attach_file(store, SITE, path, control="CC6.1", effective_date=EFFECTIVE, collected_by="a")
    assert store.records() == []
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM evidence_blobs").scalar() == 0
