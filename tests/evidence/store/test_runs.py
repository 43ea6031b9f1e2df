"""Scan runs as evidence: stored and read back unchanged, keyed by site, and compared."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from moodle_soc.evidence.store.canonical import canonical_bytes
from moodle_soc.evidence.store.runs import diff_runs, load_run, site_ref_for, store_run
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.reports.json_report import render_json
from moodle_soc.results import Severity, Status


def test_a_stored_run_reads_back_unchanged(store: EvidenceStore, scans: Any) -> None:
    for run in scans.acme:
        record = store_run(store, run)
        assert record.kind == "run"
        assert record.collected_at == run.audit_time  # audit time, not the time of storing
        loaded = load_run(store, record)
        assert loaded == run
        assert loaded.model_dump(mode="json") == run.model_dump(mode="json")
        assert store.payload_text(record) == canonical_bytes(run.model_dump(mode="json")).decode()
    assert verify_store(store).ok
    chain = store.records(site_key=site_ref_for(scans.acme[0]).key)
    assert [r.collected_at for r in chain] == [r.audit_time for r in scans.acme]


def test_runs_of_different_sites_form_different_chains(store: EvidenceStore, scans: Any) -> None:
    a = store_run(store, scans.acme[0])
    b = store_run(store, scans.other)
    c = store_run(store, scans.acme[1])
    assert a.site_key != b.site_key
    assert (a.chain_index, b.chain_index, c.chain_index) == (0, 0, 1)
    assert c.prev_hash == a.record_hash
    report = verify_store(store)
    assert report.ok and report.chains == 2 and report.records == 3


def test_the_site_key_is_moodles_siteidentifier_else_the_database(scans: Any) -> None:
    run: AuditRun = scans.acme[0]
    ref = site_ref_for(run)
    assert ref.key == run.site.siteidentifier
    assert (ref.name, ref.wwwroot) == (run.site.name, run.site.wwwroot)
    anonymous = run.model_copy(
        update={"site": run.site.model_copy(update={"siteidentifier": None})}
    )
    fallback = site_ref_for(anonymous)
    expected = hashlib.sha256(f"{run.site.database}|{run.site.prefix}".encode()).hexdigest()[:32]
    assert fallback.key == expected


def test_load_run_refuses_other_kinds_and_cleared_payloads(
    store: EvidenceStore, scans: Any
) -> None:
    note = store.append(site_ref_for(scans.acme[0]), "attachment", {"sha256": "0" * 64},
                        collected_at=scans.acme[0].audit_time)  # fmt: skip
    with pytest.raises(StoreError, match="is a attachment record, not a scan run"):
        load_run(store, note)


def finding(
    check: str, resource: str, status: Status, severity: Severity = Severity.HIGH
) -> Finding:
    return Finding(
        check_id=check, title=check, status=status, severity=severity, resource=resource,
        reason=f"{check} {status.value}", observed={}, moodle_check=None, criteria=("CC6.1",),
        remediation="",
    )  # fmt: skip


def test_diff_runs_classifies_new_fixed_and_changed(scans: Any) -> None:
    base: AuditRun = scans.acme[0]
    before = base.with_findings((
        finding("a", "site", Status.FAIL),          # stays failed: not listed
        finding("b", "site", Status.FAIL),          # fixed
        finding("c", "user:1", Status.PASS),        # newly failing
        finding("d", "site", Status.FAIL),          # severity changes while failing
        finding("e", "site", Status.PASS),          # becomes an error: changed
        finding("f", "site", Status.FAIL),          # disappears: fixed
    ))  # fmt: skip
    after = base.with_findings((
        finding("a", "site", Status.FAIL),
        finding("b", "site", Status.PASS),
        finding("c", "user:1", Status.FAIL),
        finding("d", "site", Status.FAIL, Severity.CRITICAL),
        finding("e", "site", Status.ERROR),
        finding("g", "user:2", Status.FAIL),        # appears failing: new
        finding("h", "site", Status.PASS),          # appears passing: not listed
    ))  # fmt: skip
    result = diff_runs(before, after)
    assert [c.key for c in result.new] == [("c", "user:1"), ("g", "user:2")]
    assert [c.key for c in result.fixed] == [("b", "site"), ("f", "site")]
    assert [c.key for c in result.changed] == [("d", "site"), ("e", "site")]
    as_dict = result.as_dict()
    assert as_dict["fixed"][1] == {
        "check_id": "f",
        "resource": "site",
        "before": {"status": "fail", "severity": "high", "reason": "f fail"},
        "after": None,
    }
    assert diff_runs(after, after).as_dict() == {"new": [], "fixed": [], "changed": []}


def test_diff_of_stored_real_runs_is_symmetric(store: EvidenceStore, scans: Any) -> None:
    first, _, last = (load_run(store, store_run(store, run)) for run in scans.acme)
    forward, backward = diff_runs(first, last), diff_runs(last, first)
    assert [c.key for c in forward.new] == [c.key for c in backward.fixed]
    assert [c.key for c in forward.fixed] == [c.key for c in backward.new]
    assert [c.key for c in forward.changed] == [c.key for c in backward.changed]


def test_a_run_is_stored_as_its_checks_and_one_hashed_population_per_check(
    store: EvidenceStore, scans: Any
) -> None:
    run: AuditRun = scans.acme[0]
    record = store_run(store, run)

    payload = store.payload(record)
    assert "findings" not in payload
    refs = {c["id"]: c["population"] for c in payload["checks"]}
    assert set(refs) == set(run.populations) == {c.id for c in run.checks}
    for check_id, ref in refs.items():
        data = store.get_blob(ref["sha256"])
        assert data == run.populations[check_id]
        assert hashlib.sha256(data).hexdigest() == ref["sha256"] and len(data) == ref["size"]
    loaded = load_run(store, record)
    assert loaded.findings == run.findings and len(run.findings) == sum(
        c["findings"] for c in payload["checks"]
    )


def test_a_run_stored_in_schema_2_with_its_findings_inline_still_loads(
    store: EvidenceStore, scans: Any
) -> None:
    run: AuditRun = scans.acme[0]
    legacy = run.expanded()  # the 2.x shape: every finding in full, checks without 3.0 fields
    legacy["schema_version"] = "2.1"
    for check in legacy["checks"]:
        for field in ("remediation", "fix_command", "by_status", "population", "examples"):
            del check[field]
    record = store.append(site_ref_for(run), "run", legacy, collected_at=run.audit_time)

    loaded = load_run(store, record)

    assert loaded.schema_version == "2.1"
    assert loaded.findings == run.findings
    assert json.loads(render_json(loaded))["schema_version"] == "3.1"  # written in today's shape
    assert loaded.summary == run.summary
    assert verify_store(store).ok


def test_a_run_carries_its_examples_and_a_3_0_run_finds_them_in_its_populations(
    store: EvidenceStore, scans: Any
) -> None:
    """A 3.1 run keeps each check's examples in its payload (a summary opens no population);
    a run stored as 3.0, without them, gives the same examples from its populations."""
    run: AuditRun = scans.acme[0]
    payload = run.model_dump(mode="json")
    assert all(check["examples"] is not None for check in payload["checks"])
    store.put_blobs(run.populations.values())
    old = {**payload, "schema_version": "3.0"}
    old["checks"] = [{k: v for k, v in c.items() if k != "examples"} for c in payload["checks"]]
    record = store.append(site_ref_for(run), "run", old, collected_at=run.audit_time)

    loaded = load_run(store, record)

    assert all(check.examples is None for check in loaded.checks)
    for before, after in zip(run.checks, loaded.checks, strict=True):
        assert loaded.check_examples(after) == run.check_examples(before)


def test_an_altered_or_missing_population_is_named_by_verify_and_never_read(
    store: EvidenceStore, scans: Any
) -> None:
    import gzip

    from moodle_soc.evidence.store import schema

    run: AuditRun = scans.acme[0]
    record = store_run(store, run)
    check = max(run.checks, key=lambda c: c.findings)
    assert check.population is not None
    digest = check.population.sha256
    forged = gzip.compress(gzip.decompress(run.populations[check.id]).replace(b"fail", b"pass"))
    b = schema.blobs
    with store.engine.begin() as connection:
        connection.execute(b.update().where(b.c.sha256 == digest).values(data=forged))

    assert [(p.seq, p.message) for p in verify_store(store).problems] == [
        (record.seq, f"population blob {digest[:12]} was altered")
    ]
    with pytest.raises(StoreError, match=f"The findings of {check.id} in record .* were altered"):
        load_run(store, record)

    with store.engine.begin() as connection:
        connection.execute(b.delete().where(b.c.sha256 == digest))
    assert [p.message for p in verify_store(store).problems] == [
        f"population blob {digest[:12]} is missing"
    ]
    with pytest.raises(StoreError, match=f"The findings of {check.id} in record .* are missing"):
        load_run(store, record)
