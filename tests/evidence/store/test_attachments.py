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


# --- in force: effective date, effective until, superseded -------------------------------------


def _policy(store: EvidenceStore, tmp_path: Path, name: str, effective: date, **extra: object):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(name.encode())
    return attach_file(
        store, SITE, path, control="CC1.1", effective_date=effective, collected_by="ciso",
        **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_policy_stays_in_force_until_it_ends_or_is_superseded(
    store: EvidenceStore, tmp_path: Path
) -> None:
    v1 = _policy(store, tmp_path, "v1.pdf", date(2026, 1, 1))
    v2 = _policy(store, tmp_path, "v2.pdf", date(2026, 6, 1), supersedes=str(v1.seq))
    temp = _policy(store, tmp_path, "t.pdf", date(2026, 3, 1), effective_until=date(2026, 3, 31))
    assert store.payload(v2)["supersedes"] == v1.record_hash
    assert store.payload(temp)["effective_until"] == "2026-03-31"
    spans = {
        i.record.seq: (i.start, i.until) for i in attachments.attachments_in_force(store, SITE.key)
    }
    assert spans == {
        v1.seq: (date(2026, 1, 1), date(2026, 5, 31)),
        v2.seq: (date(2026, 6, 1), None),
        temp.seq: (date(2026, 3, 1), date(2026, 3, 31)),
    }
    from moodle_soc.evidence.store.states import latest_attachments

    assert latest_attachments(store, SITE.key, date(2026, 3, 15)) == {"CC1.1": date(2026, 3, 1)}
    assert latest_attachments(store, SITE.key, date(2026, 4, 1)) == {"CC1.1": date(2026, 1, 1)}
    assert latest_attachments(store, SITE.key, date(2026, 12, 1)) == {"CC1.1": date(2026, 6, 1)}


@pytest.mark.parametrize(
    ("first", "last", "in_force"),
    [
        (date(2026, 5, 31), date(2026, 5, 31), True),  # its last day
        (date(2026, 6, 1), date(2026, 6, 30), False),  # superseded from 1 June
        (date(2025, 12, 1), date(2025, 12, 31), False),  # before it took effect
        (date(2025, 12, 1), date(2026, 1, 1), True),  # its first day
    ],
)
def test_in_force_during_any_part_of_a_period(
    store: EvidenceStore, tmp_path: Path, first: date, last: date, in_force: bool
) -> None:
    v1 = _policy(store, tmp_path, "v1.pdf", date(2026, 1, 1))
    _policy(store, tmp_path, "v2.pdf", date(2026, 6, 1), supersedes=v1.record_hash[:12])
    (item,) = [i for i in attachments.attachments_in_force(store, SITE.key) if i.record == v1]
    assert item.overlaps(first, last) is in_force


def test_bad_end_dates_and_supersessions_are_refused(store: EvidenceStore, tmp_path: Path) -> None:
    v1 = _policy(store, tmp_path, "v1.pdf", date(2026, 6, 1))
    with pytest.raises(BadInputError, match="before --effective-date"):
        _policy(store, tmp_path, "x.pdf", date(2026, 6, 1), effective_until=date(2026, 5, 1))
    with pytest.raises(BadInputError, match="takes effect on 2026-06-01, after the new"):
        _policy(store, tmp_path, "x.pdf", date(2026, 1, 1), supersedes=str(v1.seq))
    with pytest.raises(BadInputError, match="matches no record"):
        _policy(store, tmp_path, "x.pdf", date(2026, 7, 1), supersedes="999")
    other = store.append(SiteRef("other", "Other"), "run", {}, collected_at=datetime.now(UTC))
    with pytest.raises(BadInputError, match="is not an attachment of Attach"):
        _policy(store, tmp_path, "x.pdf", date(2026, 7, 1), supersedes=str(other.seq))
    assert len(store.records(site_key=SITE.key)) == 1
