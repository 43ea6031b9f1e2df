"""One handler per record kind: what its payload is, how it reads in a listing, what the store
may do with it. A new kind is a ``RecordKind`` member and one entry in ``HANDLERS``.

Summaries read the stored JSON (``payload``) defensively: a record from an older version, or
one whose payload no longer has the shape expected, still gets a line, never an exception.
Payload models are imported only when a payload is parsed, so listing stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moodle_soc.models.records import RecordKind, StoredRecord

if TYPE_CHECKING:
    from pydantic import BaseModel

Payload = Any  # the record's JSON payload, as ``EvidenceStore.payload`` returns it


@dataclass(frozen=True)
class KindHandler:
    kind: RecordKind
    noun: str  # what one record is, in a sentence: "scan run"
    summary: Callable[[Payload], str]  # one sentence for listings, from the payload
    model: Callable[[], type[BaseModel]] | None = None  # the payload's model (lazy import)
    retention_may_clear: bool = True  # a seal is what retention leaves: never cleared
    blobs: Callable[[Payload], tuple[str, ...]] | None = None  # stored files it names
    blob_noun: str = "attachment"  # what such a file is, in ``verify``'s findings

    def parse(self, payload: Payload) -> Any:
        """The payload as its model (pydantic validation), or as stored when it has none."""
        return payload if self.model is None else self.model().model_validate(payload)


def handler_for(kind: object) -> KindHandler | None:
    """The handler of a stored kind; None for a kind this version does not know."""
    known = RecordKind.known(kind)
    return None if known is None else HANDLERS[known]


def describe(record: StoredRecord, payload: Payload) -> str:
    """One sentence saying what ``record`` holds (its payload as ``store.payload`` reads it)."""
    handler = handler_for(record.kind)
    if handler is None:
        return f"A {record.kind} record (a kind this version of moodle-soc does not know)."
    noun = handler.noun[:1].upper() + handler.noun[1:]
    if payload is None:
        seal = (record.pruned_by or "")[:12]
        return f"{noun}; its payload was cleared by retention (seal {seal})."
    try:
        return handler.summary(payload)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return f"{noun} (its payload does not have the shape this version expects)."


# --- summaries -------------------------------------------------------------------------------


def _run(p: Payload) -> str:
    by_status = p["summary"]["by_status"]
    # Schema 3.0 keeps the findings in populations, counted per check; 2.x listed them.
    findings = len(p["findings"]) if "findings" in p else sum(c["findings"] for c in p["checks"])
    return (
        f"Scan of {p['site']['name']} at {p['audit_time']}: {len(p['checks'])} checks,"
        f" {by_status.get('fail', 0)} failed of {findings} findings."
    )


def _run_blobs(p: Payload) -> tuple[str, ...]:
    from moodle_soc.evidence.store.runs import population_hashes

    return population_hashes(p)


def _attachment(p: Payload) -> str:
    until = f" until {p['effective_until']}" if p.get("effective_until") else ""
    replaces = f", supersedes {str(p['supersedes'])[:12]}" if p.get("supersedes") else ""
    return (
        f"{p['filename']} for {p['control']}, effective {p['effective_date']}{until}{replaces},"
        f" collected by {p['collected_by']} ({p['size']} bytes)."
    )


def _attachment_blobs(p: Payload) -> tuple[str, ...]:
    return (str(p.get("sha256", "")),)


def _population(p: Payload) -> str:
    period = p["period"]
    return (
        f"Population {p['name']} for {period['start']} to {period['end']}: {p['row_count']} rows."
    )


def _sample(p: Payload) -> str:
    sample = p["sample"]
    return (
        f"Sample of {sample['size']} of {sample['population_size']} rows"
        f" ({sample['frequency']}, seed {sample['seed']}) from population record"
        f" {p['population_record']['seq']}."
    )


def _seal(p: Payload) -> str:
    return (
        f"Retention by {p['operator']}: {len(p['cleared_records'])} payloads collected before"
        f" {p['before']} cleared ({p['reason']})."
    )


def _campaign(p: Payload) -> str:
    return (
        f"Access review campaign {p['campaign_id']} of {p['site_name']} ({p['scope']}):"
        f" {len(p['inventory']['entries'])} accounts for {p['reviewer']}."
    )


def _decisions(p: Payload) -> str:
    return (
        f"{len(p['decisions'])} decisions for campaign {p['campaign_id']} from"
        f" {p['file_name']}, imported by {p['imported_by']}."
    )


def _close(p: Payload) -> str:
    return (
        f"Campaign {p['campaign_id']} signed off by {p['closed_by']}:"
        f" {len(p['follow_ups'])} follow-ups."
    )


def _followup_check(p: Payload) -> str:
    states = [s["status"] for s in p["statuses"]]
    counts = ", ".join(f"{states.count(s)} {s}" for s in ("done", "pending", "overdue"))
    return f"Follow-up check of campaign {p['campaign_id']}: {counts}."


def _log_review(p: Payload) -> str:
    period = p["period"]
    return (
        f"Log review of {p['site']} for {period['from']} to {period['to']} signed off by"
        f" {p['reviewer']} (review {str(p['review_sha256'])[:12]})."
    )


def _log_cursor(p: Payload) -> str:
    period = p["period"]
    return (
        f"Log analysis cursor for {period['from']} to {period['to']}: {p['rows']} log rows"
        f" counted to id {p['last_id']} ({p['rows_read']} read by this run); work state of"
        " incremental re-runs, not a review."
    )


def _scope(p: Payload) -> str:
    soc1 = "SOC 1 applies" if p["soc1"] else "no SOC 1"
    answers = p["answers"]
    return (
        f"Audit scope by {p['decided_by']}: SOC 2 {', '.join(p['soc2_categories'])}; {soc1};"
        f" {answers['hosting_model']}, {answers['report_type']}"
        f" {answers['period_start']} to {answers['period_end']}."
    )


def _exception(p: Payload) -> str:
    resource = f" ({p['resource']})" if p.get("resource") else ""
    return (
        f"Risk exception {p['id']} for {p['check_id']}{resource}, approved by {p['approver']}"
        f" on {p['approved_at']}, owner {p['owner']}, until {p['expires']}."
    )


def _revocation(p: Payload) -> str:
    reason = str(p["reason"]).rstrip(".")
    return f"Exception {p['exception_id']} revoked by {p['revoked_by']}: {reason}."


def _owner(p: Payload) -> str:
    return f"Control {p['control']} assigned to {p['owner']} by {p['changed_by']}."


def _assignment(p: Payload) -> str:
    due = f", due {p['due']}" if p.get("due") else ""
    return (
        f"Remediation of {p['check_id']} {p['resource']} assigned to {p['owner']}"
        f" by {p['assigned_by']}{due}."
    )


# --- models (imported when a payload is parsed) ---------------------------------------------


def _audit_run() -> type[BaseModel]:
    from moodle_soc.models.run import AuditRun

    return AuditRun


def _campaign_start() -> type[BaseModel]:
    from moodle_soc.models.reviews import CampaignStart

    return CampaignStart


def _decision_import() -> type[BaseModel]:
    from moodle_soc.models.reviews import DecisionImport

    return DecisionImport


def _campaign_close() -> type[BaseModel]:
    from moodle_soc.models.reviews import CampaignClose

    return CampaignClose


def _log_sign_off() -> type[BaseModel]:
    from moodle_soc.models.logs import LogReviewSignOff

    return LogReviewSignOff


def _followup() -> type[BaseModel]:
    from moodle_soc.models.reviews import FollowUpCheck

    return FollowUpCheck


def _programme(name: str) -> Callable[[], type[BaseModel]]:
    def model() -> type[BaseModel]:
        from moodle_soc.models import programme

        found: type[BaseModel] = getattr(programme, name)
        return found

    return model


# Population and sample payloads are modelled in evidence.periods, above the store: their
# handlers read the JSON as stored.
HANDLERS: Mapping[RecordKind, KindHandler] = {
    handler.kind: handler
    for handler in (
        KindHandler(
            RecordKind.RUN, "scan run", _run, _audit_run, blobs=_run_blobs, blob_noun="population"
        ),
        KindHandler(RecordKind.ATTACHMENT, "attachment", _attachment, blobs=_attachment_blobs),
        KindHandler(RecordKind.POPULATION, "population", _population),
        KindHandler(RecordKind.CHANGE_POPULATION, "change population", _population),
        KindHandler(RecordKind.SAMPLE, "sample", _sample),
        KindHandler(RecordKind.RETENTION_SEAL, "retention seal", _seal, retention_may_clear=False),
        KindHandler(
            RecordKind.REVIEW_CAMPAIGN, "access review campaign", _campaign, _campaign_start
        ),
        KindHandler(
            RecordKind.REVIEW_DECISIONS, "access review decisions", _decisions, _decision_import
        ),
        KindHandler(RecordKind.REVIEW_CLOSE, "access review sign-off", _close, _campaign_close),
        KindHandler(
            RecordKind.REVIEW_FOLLOWUP_CHECK, "follow-up check", _followup_check, _followup
        ),
        KindHandler(RecordKind.LOG_REVIEW, "log review sign-off", _log_review, _log_sign_off),
        # Payload as stored: ``logreview.cursor`` reads it (the store layer sits above it).
        KindHandler(RecordKind.LOG_CURSOR, "log analysis cursor", _log_cursor),
        # The programme's decisions stay readable for as long as the chain: retention keeps them.
        KindHandler(
            RecordKind.READINESS_SCOPE,
            "audit scope",
            _scope,
            _programme("ReadinessScope"),
            retention_may_clear=False,
        ),
        KindHandler(
            RecordKind.RISK_EXCEPTION,
            "risk exception",
            _exception,
            _programme("RiskException"),
            retention_may_clear=False,
        ),
        KindHandler(
            RecordKind.EXCEPTION_REVOCATION,
            "exception revocation",
            _revocation,
            _programme("ExceptionRevocation"),
            retention_may_clear=False,
        ),
        KindHandler(
            RecordKind.CONTROL_OWNER,
            "control owner change",
            _owner,
            _programme("ControlOwnerChange"),
            retention_may_clear=False,
        ),
        KindHandler(
            RecordKind.REMEDIATION_ASSIGNMENT,
            "remediation assignment",
            _assignment,
            _programme("RemediationAssignment"),
            retention_may_clear=False,
        ),
    )
}
