"""Manual controls: missing -> ready -> due_soon -> overdue as the day judged moves on; a
document stays in force until a later one supersedes it; owners come from the catalogue and
can be handed over."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from moodle_soc import api
from moodle_soc.errors import UsageError
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import load_catalogue
from moodle_soc.programme.controls import EvidenceInForce, catalogue_owner, control_status

EFFECTIVE = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("frequency", "on", "expected"),
    [
        ("annual", date(2026, 1, 14), ("missing", None)),  # effective only from the 15th
        ("annual", date(2026, 12, 16), ("ready", date(2027, 1, 16))),  # 31 days before due
        ("annual", date(2026, 12, 17), ("due_soon", date(2027, 1, 16))),  # 30 days: notice
        ("annual", date(2027, 1, 16), ("due_soon", date(2027, 1, 16))),  # the due day itself
        ("annual", date(2027, 1, 17), ("overdue", date(2027, 1, 16))),
        ("quarterly", date(2026, 4, 1), ("ready", date(2026, 4, 17))),
        ("quarterly", date(2026, 4, 3), ("due_soon", date(2026, 4, 17))),
        ("monthly", date(2026, 2, 16), ("overdue", date(2026, 2, 15))),
        ("per_event", date(2030, 1, 1), ("ready", None)),  # never due by the calendar
    ],
)
def test_status_at_under_and_over_each_threshold(
    frequency: str, on: date, expected: tuple[str, date | None]
) -> None:
    evidence = EvidenceInForce(EFFECTIVE, 7) if on >= EFFECTIVE else None
    assert control_status(frequency, evidence, on) == expected


def test_owners_come_from_the_checklist_then_the_criteria() -> None:
    catalogue = load_catalogue()
    assert catalogue_owner(catalogue, "access_control_policy") == "client"
    assert catalogue_owner(catalogue, "restore_test_record") == "hosting"  # checklist item owner
    assert catalogue_owner(catalogue, "code_of_conduct_acknowledgements") == "client"


def overview(store: EvidenceStore, day: str) -> dict[str, Any]:
    moment = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    return api.readiness_programme(store, site="Acme", as_of=moment).model_dump(mode="json")


def control(document: dict[str, Any], control_id: str) -> dict[str, Any]:
    return next(c for c in document["controls"] if c["id"] == control_id)


def test_a_control_moves_missing_ready_due_soon_overdue_with_the_day_judged(
    store: EvidenceStore, scans: Any, tmp_path: Path
) -> None:
    store_run(store, scans.acme[-1])
    policy = tmp_path / "access-policy.pdf"
    policy.write_bytes(b"%PDF access control policy v1")
    before = overview(store, "2026-01-10")
    assert control(before, "access_control_policy")["status"] == "missing"
    record = api.attach_evidence(store, policy, site="Acme", control="access_control_policy",
                                 effective_date=EFFECTIVE, collected_by="cco")  # fmt: skip
    states = [
        (control(overview(store, day), "access_control_policy")["status"], day)
        for day in ("2026-01-10", "2026-06-01", "2026-12-20", "2027-01-20")
    ]
    assert states == [
        ("missing", "2026-01-10"),
        ("ready", "2026-06-01"),
        ("due_soon", "2026-12-20"),
        ("overdue", "2027-01-20"),
    ]
    ready = control(overview(store, "2026-06-01"), "access_control_policy")
    assert ready["evidence_record"] == record.seq and ready["due"] == "2027-01-16"
    # The next year's version supersedes it; the first stays in force until its effective date.
    api.attach_evidence(store, policy, site="Acme", control="access_control_policy",
                        effective_date=date(2027, 1, 10), collected_by="cco")  # fmt: skip
    assert control(overview(store, "2027-01-09"), "access_control_policy")["due"] == "2027-01-16"
    renewed = control(overview(store, "2027-01-20"), "access_control_policy")
    assert (renewed["status"], renewed["due"]) == ("ready", "2028-01-11")


def test_the_contract_keys_and_the_seven_checklist_items(store: EvidenceStore, scans: Any) -> None:
    store_run(store, scans.acme[-1])
    document = overview(store, "2026-11-29")
    assert document["scope"] is None  # not decided yet: everything is shown
    assert document["latest_run"] is not None
    assert {"id", "title", "owner", "frequency", "status", "due"} <= set(document["controls"][0])
    assert [item["id"] for item in document["checklist"]] == [
        "defined_audit_scope",
        "documented_access_policies",
        "formal_change_management",
        "centralized_logging",
        "backup_and_recovery_testing",
        "incident_response_procedures",
        "plugin_and_vendor_risk_reviews",
    ]
    assert {item["state"] for item in document["checklist"]} == {"incomplete"}
    scope_item = document["checklist"][0]
    assert scope_item["gaps"] == [
        "System description and audit scope is missing.",
        "Shared-responsibility matrix is missing.",
    ]


def test_a_checklist_item_is_ready_when_its_evidence_is_fresh_and_its_checks_pass(
    store: EvidenceStore, scans: Any, tmp_path: Path
) -> None:
    store_run(store, scans.acme[-1])
    document = tmp_path / "ir-plan.pdf"
    document.write_bytes(b"plan")
    for evidence in ("incident_response_plan", "incident_records", "incident_response_test"):
        api.attach_evidence(store, document, site="Acme", control=evidence,
                            effective_date=date(2026, 11, 1), collected_by="cco")  # fmt: skip
    items = {i["id"]: i for i in overview(store, "2026-11-29")["checklist"]}
    assert items["incident_response_procedures"]["state"] == "ready"
    assert items["incident_response_procedures"]["gaps"] == []
    later = {i["id"]: i for i in overview(store, "2027-10-20")["checklist"]}
    assert later["incident_response_procedures"]["state"] == "due_soon"


def test_scope_filters_the_controls_and_carves_out_the_hosts(
    store: EvidenceStore, scans: Any
) -> None:
    store_run(store, scans.acme[-1])
    everything = overview(store, "2026-11-29")
    api.decide_readiness_scope(
        store,
        answers={
            "hosted_for_customers": True, "availability_commitments": False,
            "confidential_data": False, "processes_transactions": False,
            "personal_information": False, "takes_payments": False,
            "revenue_recognition": False, "erp_integration": False,
            "customers_under_financial_audit": False, "hosting_model": "managed-carve-out",
            "subservice_organisation": "CloudHost", "report_type": "type2",
            "period": "2026-01-01..2026-12-31",
        },
        site="Acme",
        decided_by="cco",
    )  # fmt: skip
    scoped = overview(store, "2026-11-29")
    assert scoped["scope"]["soc2_categories"] == ["CC"] and scoped["scope"]["soc1"] is False
    assert len(scoped["controls"]) < len(everything["controls"])
    assert "consent_records" not in {c["id"] for c in scoped["controls"]}  # privacy only
    backups = control(scoped, "infrastructure_backup_records")
    assert backups["owner"] == "hosting" and backups["in_scope"] is False
    assert backups["status"] == "missing"  # the status stays visible beside the carve-out
    assert backups["scope_note"].startswith("Carved out: CloudHost operates this control")
    assert [c["in_scope"] for c in scoped["categories"]] == [True, False, False, False, False]


def test_an_owner_change_is_recorded_and_applies(store: EvidenceStore, scans: Any) -> None:
    store_run(store, scans.acme[-1])
    api.set_control_owner(store, site="Acme", control="restore_test_record", owner="client",
                          changed_by="cco", note="We run restores ourselves.")  # fmt: skip
    moved = control(overview(store, (date.today() + timedelta(days=1)).isoformat()),
                    "restore_test_record")  # fmt: skip
    assert moved["owner"] == "client" and moved["owner_source"].startswith("set by cco on ")
    with pytest.raises(UsageError, match=r"'CC6\.1' is not a manual control"):
        api.set_control_owner(store, site="Acme", control="CC6.1", owner="client", changed_by="x")
    with pytest.raises(UsageError, match="--owner 'vendor' must be moodle_core, hosting or"):
        api.set_control_owner(store, site="Acme", control="restore_test_record",
                              owner="vendor", changed_by="x")  # type: ignore[arg-type]  # fmt: skip
