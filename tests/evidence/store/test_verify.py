"""``verify`` reads the store a page at a time in one snapshot: the report is the same whatever
the page size, tampered or not, and a store with nothing in it says so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from moodle_soc.evidence.store.attachments import attach_file
from moodle_soc.evidence.store.retention import apply_retention
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.evidence.store.verify import VerifyReport, verify_store
from moodle_soc.models.records import RecordKind, SiteRef

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
SITES = [SiteRef(key=f"{n}" * 32, name=f"Site {n}") for n in range(3)]
PAGES = (1, 2, 5, 1000)


def execute(store: EvidenceStore, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(sql), params)


def fill(store: EvidenceStore, tmp_path: Path) -> None:
    """Three interleaved chains, an attachment, and payloads cleared by retention."""
    for n in range(12):
        site = SITES[n % 3]
        store.append(site, RecordKind.RUN, {"n": n}, collected_at=T0 + timedelta(days=n))
    document = tmp_path / "policy.pdf"
    document.write_bytes(b"%PDF-1.4 signed policy")
    attach_file(store, SITES[0], document, control="CC1.1", effective_date=T0.date(),
                collected_by="al")  # fmt: skip
    apply_retention(store, SITES[1].key, date(2024, 3, 6), reason="Kept 5 days.",
                    operator="dpo", min_age_days=0)  # fmt: skip


def summary(report: VerifyReport) -> tuple[object, ...]:
    return (
        [(p.seq, p.message) for p in report.problems],
        report.heads,
        report.known_hashes,
        (report.chains, report.records, report.signed, report.unsigned, report.attachments),
    )


def test_an_empty_store_verifies_nothing_and_says_so(store: EvidenceStore) -> None:
    report = verify_store(store)
    assert report.ok and report.empty
    assert (report.chains, report.records, report.heads) == (0, 0, {})
    store.append(SITES[0], RecordKind.RUN, {}, collected_at=T0)
    assert not verify_store(store).empty
    only_other = verify_store(store, SITES[1].key)  # a site with no chain: nothing verified
    assert only_other.ok and only_other.empty


def test_the_report_does_not_depend_on_the_page_size(store: EvidenceStore, tmp_path: Path) -> None:
    fill(store, tmp_path)
    reports = [summary(verify_store(store, page=page)) for page in PAGES]
    assert reports == [reports[0]] * len(PAGES)
    problems, heads, _hashes, counts = reports[0]
    assert problems == [] and len(heads) == 3 and counts == (3, 14, 0, 14, 1)
    assert summary(verify_store(store, SITES[1].key, page=1)) == summary(
        verify_store(store, SITES[1].key)
    )


@pytest.mark.parametrize(
    "tamper",
    [
        # A middle record removed from one chain.
        "DELETE FROM evidence_records WHERE seq = 4",
        # Two rows' seq numbers exchanged (seq is outside the hash: no problem, same heads).
        "UPDATE evidence_records SET seq = -1 WHERE seq = 1;"
        " UPDATE evidence_records SET seq = 1 WHERE seq = 4;"
        " UPDATE evidence_records SET seq = 4 WHERE seq = -1",
        # A record moved to another chain position, and a payload changed in another chain.
        "UPDATE evidence_records SET chain_index = 99 WHERE seq = 7;"
        " UPDATE evidence_records SET payload = '[]' WHERE seq = 5",
    ],
    ids=["deleted", "renumbered", "moved-and-edited"],
)
def test_a_tampered_store_gets_the_same_report_at_any_page_size(
    store: EvidenceStore,
    tmp_path: Path,
    unguarded: Callable[[EvidenceStore], None],
    tamper: str,
) -> None:
    fill(store, tmp_path)
    clean = verify_store(store)
    unguarded(store)
    for statement in tamper.split(";"):
        execute(store, statement)
    reports = [summary(verify_store(store, page=page)) for page in PAGES]
    assert reports == [reports[0]] * len(PAGES)
    problems = reports[0][0]
    if "seq = -1" in tamper:
        assert problems == [] and reports[0][1] == clean.heads
    else:
        assert problems, "the change went unnoticed"
