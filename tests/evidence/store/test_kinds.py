"""Record kinds: every kind has one handler; a record of any kind reads as one sentence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from moodle_soc.evidence.periods.populations import Period, Population, rows_sha256
from moodle_soc.evidence.periods.sampling import draw_sample, store_sample
from moodle_soc.evidence.store.attachments import attach_file
from moodle_soc.evidence.store.kinds import HANDLERS, describe, handler_for
from moodle_soc.evidence.store.retention import apply_retention
from moodle_soc.evidence.store.runs import site_ref_for, store_run
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.logreview.cursor import LogCursor
from moodle_soc.models.access import AccessInventory
from moodle_soc.models.logs import LogReviewSignOff
from moodle_soc.models.programme import (
    ControlOwnerChange,
    ExceptionRevocation,
    RemediationAssignment,
    RiskException,
    ScopeAnswers,
)
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord
from moodle_soc.models.reviews import (
    CampaignClose,
    CampaignStart,
    DecisionImport,
    FollowUpCheck,
    FollowUpStatus,
)
from moodle_soc.programme.scope import decide_scope
from moodle_soc.site.log_review import DayCount

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SITE = SiteRef(key="kinds-site", name="Kinds")


def test_every_kind_has_exactly_one_handler_and_the_stored_strings_never_change() -> None:
    assert set(HANDLERS) == set(RecordKind)
    assert all(kind is handler.kind for kind, handler in HANDLERS.items())
    assert [kind.value for kind in RecordKind] == [
        "run", "attachment", "population", "sample", "retention_seal", "review_campaign",
        "review_decisions", "review_close", "review_followup_check", "change_population",
        "log_review",
        "readiness_scope", "risk_exception", "exception_revocation", "control_owner",
        "remediation_assignment", "log_cursor",
    ]  # fmt: skip
    # A seal, and the readiness programme's decisions (small, and in force for years).
    assert [k for k, h in HANDLERS.items() if not h.retention_may_clear] == [
        RecordKind.RETENTION_SEAL, RecordKind.READINESS_SCOPE, RecordKind.RISK_EXCEPTION,
        RecordKind.EXCEPTION_REVOCATION, RecordKind.CONTROL_OWNER,
        RecordKind.REMEDIATION_ASSIGNMENT,
    ]  # fmt: skip
    assert [k for k, h in HANDLERS.items() if h.blobs] == [RecordKind.RUN, RecordKind.ATTACHMENT]
    assert handler_for("run") is HANDLERS[RecordKind.RUN]
    assert handler_for("note") is None and handler_for(b"run") is None
    assert RecordKind.known("sample") is RecordKind.SAMPLE and RecordKind.known(7) is None


def test_a_kind_without_a_handler_cannot_be_appended(sqlite_store: EvidenceStore) -> None:
    with pytest.raises(ValueError, match="'note' is not a valid RecordKind"):
        sqlite_store.append(SITE, "note", {}, collected_at=T0)  # type: ignore[arg-type]
    assert sqlite_store.records() == []


def review_payloads() -> dict[RecordKind, dict[str, Any]]:
    inventory = AccessInventory(
        site="Acme", wwwroot=None, moodle="4.5", audit_time=T0, scope="privileged",
        thresholds={}, mfa="none", entries=[], flag_counts={},
    )  # fmt: skip
    start = CampaignStart(
        campaign_id="abc123def456", site_key="kinds-site", site_name="Acme", wwwroot=None,
        scope="privileged", reviewer="rev@acme.test", started_by="ops", started_at=T0,
        audit_time=T0, previous_campaign=None, inventory=inventory, tags=[], removed=[],
    )  # fmt: skip
    imported = DecisionImport(
        campaign_id="abc123def456", imported_by="rev@acme.test", imported_at=T0,
        file_name="review.xlsx", file_sha256="0" * 64, file_format="xlsx", decisions=[],
    )  # fmt: skip
    close = CampaignClose(
        campaign_id="abc123def456", closed_by="ciso@acme.test", closed_at=T0,
        follow_up_days=14, counts={}, follow_ups=[],
    )  # fmt: skip
    status = FollowUpStatus(
        key="user:7", userid=7, username="support", status="overdue", reason="Still a manager.",
        due=date(2026, 3, 15), action="revoke", remaining_grants=[], account_state="active",
    )  # fmt: skip
    check = FollowUpCheck(
        campaign_id="abc123def456", audit_time=T0, checked_at=T0, checked_by="ops",
        database="sqlite://", statuses=[status],
    )  # fmt: skip
    return {
        RecordKind.REVIEW_CAMPAIGN: start.model_dump(mode="json"),
        RecordKind.REVIEW_DECISIONS: imported.model_dump(mode="json"),
        RecordKind.REVIEW_CLOSE: close.model_dump(mode="json"),
        RecordKind.REVIEW_FOLLOWUP_CHECK: check.model_dump(mode="json"),
    }


def programme_payloads() -> dict[RecordKind, dict[str, Any]]:
    answers = ScopeAnswers(
        hosted_for_customers=True, availability_commitments=False, confidential_data=True,
        processes_transactions=False, personal_information=False, takes_payments=True,
        revenue_recognition=False, erp_integration=False, customers_under_financial_audit=False,
        hosting_model="self-hosted", report_type="type2", period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )  # fmt: skip
    scope = decide_scope(answers, payment_records=3, decided_by="cco", decided_at=T0)
    exception = RiskException(
        id="EXC-0a1b2c3d", check_id="authentication.mfa_enabled", reason="Rollout in Q1.",
        owner="IT", approver="CISO", approved_at=date(2026, 3, 1), expires=date(2026, 6, 30),
        created_by="cco", created_at=T0,
    )  # fmt: skip
    revocation = ExceptionRevocation(
        exception_id="EXC-0a1b2c3d", reason="MFA is on.", revoked_by="cco", revoked_at=T0
    )
    owner = ControlOwnerChange(
        control="restore_test_record", owner="client", changed_by="cco", changed_at=T0
    )
    assignment = RemediationAssignment(
        check_id="authentication.mfa_enabled", resource="plugin:tool_mfa", owner="IT",
        due=date(2026, 4, 1), ticket="SEC-12", assigned_by="cco", assigned_at=T0,
    )  # fmt: skip
    return {
        RecordKind.READINESS_SCOPE: scope.model_dump(mode="json"),
        RecordKind.RISK_EXCEPTION: exception.model_dump(mode="json"),
        RecordKind.EXCEPTION_REVOCATION: revocation.model_dump(mode="json"),
        RecordKind.CONTROL_OWNER: owner.model_dump(mode="json"),
        RecordKind.REMEDIATION_ASSIGNMENT: assignment.model_dump(mode="json"),
    }


def test_a_record_of_every_kind_reads_as_one_sentence(
    sqlite_store: EvidenceStore, scans: Any, tmp_path: Path
) -> None:
    store = sqlite_store
    site = site_ref_for(scans.acme[0])
    records: list[StoredRecord] = [store_run(store, scans.acme[0])]
    document = tmp_path / "restore-test.pdf"
    document.write_bytes(b"%PDF-1.4 restore test")
    records.append(
        attach_file(store, site, document, control="A1.2", effective_date=date(2026, 3, 1),
                    collected_by="dba")
    )  # fmt: skip
    rows = [{"id": n} for n in range(12)]
    population = Population(
        name="users_created", description="d", period=Period(start=T0.date(), end=T0.date()),
        site="Acme", audit_time=T0, query_sql=[], notes=[], row_count=len(rows),
        sha256=rows_sha256(rows), columns=["id"], rows=rows,
    )  # fmt: skip
    records.append(store.append(site, RecordKind.POPULATION, population.model_dump(mode="json"),
                                collected_at=T0))  # fmt: skip
    sample = draw_sample(rows, frequency="weekly", seed=3)
    records.append(store_sample(store, records[-1], sample, collected_at=T0))
    changes = population.model_copy(update={"name": "changes"})
    records.append(store.append(site, RecordKind.CHANGE_POPULATION,
                                changes.model_dump(mode="json"), collected_at=T0))  # fmt: skip
    for kind, payload in (review_payloads() | programme_payloads()).items():
        records.append(store.append(site, kind, payload, collected_at=T0))
    signed = LogReviewSignOff.model_validate(
        {"site": "Acme", "wwwroot": None, "period": {"from": "2026-02-01", "to": "2026-02-28"},
         "audit_time": T0, "reviewer": "sam", "statement": "Reviewed.", "signed_at": T0,
         "review_sha256": "ab" * 32, "figures": {}, "review": {}}
    )  # fmt: skip
    records.append(store.append(site, RecordKind.LOG_REVIEW, signed.payload(), collected_at=T0))
    cursor = LogCursor("https://acme.test", date(2026, 2, 1), date(2026, 2, 28), last_id=90,
                       groups=[DayCount(0, "\\core\\event\\user_loggedin", 7, 0, 4, 90)],
                       rows_read=3)  # fmt: skip
    records.append(store.append(site, RecordKind.LOG_CURSOR, cursor.payload(), collected_at=T0))
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    old = store.append(site, RecordKind.RUN, {"cleared": "soon"}, collected_at=long_ago)
    result = apply_retention(
        store, site.key, date(2021, 1, 1), reason="Kept 1 year.", operator="dpo", min_age_days=0
    )
    assert result.seal is not None
    records.append(result.seal)

    described = {r.kind: describe(r, store.payload(r)) for r in records}
    assert set(described) == set(RecordKind)
    campaign = "campaign abc123def456"
    assert described == {
        "run": described["run"],
        "attachment": "restore-test.pdf for A1.2, effective 2026-03-01, collected by dba"
        " (21 bytes).",
        "population": "Population users_created for 2026-03-01 to 2026-03-01: 12 rows.",
        "sample": "Sample of 5 of 12 rows (weekly, seed 3) from population record"
        f" {records[2].seq}.",
        "retention_seal": "Retention by dpo: 1 payloads collected before 2021-01-01 cleared"
        " (Kept 1 year.).",
        "review_campaign": f"Access review {campaign} of Acme (privileged): 0 accounts for"
        " rev@acme.test.",
        "review_decisions": f"0 decisions for {campaign} from review.xlsx, imported by"
        " rev@acme.test.",
        "review_close": "Campaign abc123def456 signed off by ciso@acme.test: 0 follow-ups.",
        "review_followup_check": f"Follow-up check of {campaign}: 0 done, 0 pending, 1 overdue.",
        "change_population": "Population changes for 2026-03-01 to 2026-03-01: 12 rows.",
        "log_review": "Log review of Acme for 2026-02-01 to 2026-02-28 signed off by sam"
        " (review abababababab).",
        "readiness_scope": "Audit scope by cco: SOC 2 CC, C; SOC 1 applies; self-hosted, type2"
        " 2026-01-01 to 2026-12-31.",
        "risk_exception": "Risk exception EXC-0a1b2c3d for authentication.mfa_enabled, approved"
        " by CISO on 2026-03-01, owner IT, until 2026-06-30.",
        "exception_revocation": "Exception EXC-0a1b2c3d revoked by cco: MFA is on.",
        "control_owner": "Control restore_test_record assigned to client by cco.",
        "remediation_assignment": "Remediation of authentication.mfa_enabled plugin:tool_mfa"
        " assigned to IT by cco, due 2026-04-01.",
        "log_cursor": "Log analysis cursor for 2026-02-01 to 2026-02-28: 7 log rows counted to"
        " id 90 (3 read by this run); work state of incremental re-runs, not a review.",
    }
    run = scans.acme[0]
    assert described["run"].startswith(f"Scan of {run.site.name} at ")
    assert described["run"].endswith(f" of {len(run.findings)} findings.")
    # Modelled payloads parse back into their models.
    for record in records:
        handler = handler_for(record.kind)
        assert handler is not None
        parsed = handler.parse(store.payload(record))
        assert (handler.model is None) == isinstance(parsed, dict)
    # A cleared payload, a payload of another shape, a kind this version does not know.
    cleared = store.get(str(old.seq))
    assert describe(cleared, None) == (
        f"Scan run; its payload was cleared by retention (seal {result.seal.record_hash[:12]})."
    )
    assert describe(records[0], {"unexpected": True}) == (
        "Scan run (its payload does not have the shape this version expects)."
    )
    future = StoredRecord(**{**records[0].__dict__, "kind": "note"})
    assert describe(future, {}) == (
        "A note record (a kind this version of moodle-soc does not know)."
    )
