"""The readiness programme as stored: the audit scope, risk exceptions and their revocations,
control owner changes and remediation assignments.

Each is the payload of one append-only evidence record (``RecordKind.READINESS_SCOPE`` and
the others), so the programme's history is the chain's: nothing is edited, a later record
supersedes or revokes an earlier one, and every decision keeps who made it and when.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Owner = Literal["moodle_core", "hosting", "client"]
HostingModel = Literal["self-hosted", "managed-carve-out", "managed-inclusive"]
ReportType = Literal["type1", "type2"]
ExceptionState = Literal["active", "expired", "revoked", "pending"]

#: The answers file's boolean questions, in the order the questionnaire asks them.
QUESTIONS: dict[str, str] = {
    "hosted_for_customers": "Is the Moodle service hosted for customers (other organisations)?",
    "availability_commitments": "Do you commit to availability (an SLA or uptime promise)?",
    "confidential_data": "Does the site hold information customers designate confidential?",
    "processes_transactions": "Does the site process transactions customers rely on being"
    " complete and accurate (grades, certificates, enrolments sold)?",
    "personal_information": "Does the site collect personal information under a privacy notice?",
    "takes_payments": "Does the site take payments (enrolment fees, shop)?",
    "revenue_recognition": "Is activity on the site tied to revenue recognition?",
    "erp_integration": "Is the site integrated with accounting or ERP systems?",
    "customers_under_financial_audit": "Do customers rely on it for their own financial audit?",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class ScopeAnswers(_Frozen):
    """The questionnaire's answers (the ``readiness scope --answers`` YAML file)."""

    hosted_for_customers: bool
    availability_commitments: bool
    confidential_data: bool
    processes_transactions: bool
    personal_information: bool
    takes_payments: bool
    revenue_recognition: bool
    erp_integration: bool
    customers_under_financial_audit: bool
    hosting_model: HostingModel
    report_type: ReportType
    period_start: date
    period_end: date
    subservice_organisation: str = ""  # the managed host's name, when there is one


class ScopeDecision(_Frozen):
    """Why one category (or SOC 1) is in or out of scope."""

    id: str  # CC, A, C, PI, P or SOC1
    in_scope: bool
    reason: str


class ReadinessScope(_Frozen):
    """The audit scope decided from the answers: stored as evidence, read by every report."""

    answers: ScopeAnswers
    soc2_categories: tuple[str, ...]
    soc1: bool
    decisions: tuple[ScopeDecision, ...]
    #: Payment records the site held when the scope was decided (None: the site was not read).
    payment_records: int | None = None
    decided_by: str
    decided_at: datetime

    def decision(self, category: str) -> ScopeDecision | None:
        return next((d for d in self.decisions if d.id == category), None)


class RiskException(_Frozen):
    """A risk accepted for one check (optionally one resource), by whom, until when, and why."""

    id: str = Field(pattern=r"^EXC-[0-9a-f]{8}$")
    check_id: str
    resource: str | None = None  # None: every resource of the check
    reason: str
    owner: str
    approver: str
    approved_at: date
    expires: date
    compensating_control: str = ""
    created_by: str
    created_at: datetime


class ExceptionRevocation(_Frozen):
    exception_id: str
    reason: str
    revoked_by: str
    revoked_at: datetime


class ControlOwnerChange(_Frozen):
    """A manual control handed to another party of the shared-responsibility model."""

    control: str
    owner: Owner
    changed_by: str
    changed_at: datetime
    note: str = ""


class RemediationAssignment(_Frozen):
    """Who fixes a failing finding, by when, and the ticket that tracks it."""

    check_id: str
    resource: str
    owner: str
    due: date | None = None  # None: the due date the severity's policy gives
    ticket: str = ""
    assigned_by: str
    assigned_at: datetime


# --- the readiness overview (what ``moodle-soc readiness`` shows) ----------------------------

ControlStatus = Literal["missing", "ready", "due_soon", "overdue"]
ItemState = Literal["ready", "due_soon", "incomplete", "overdue"]


class ManualControl(_Frozen):
    """Evidence no database shows, as a control: who owns it, how often, and its state."""

    id: str
    title: str
    description: str
    owner: Owner
    owner_source: str  # "catalogue", or who changed it and when
    frequency: str
    criteria: tuple[str, ...]
    status: ControlStatus
    due: date | None  # when fresh evidence is next needed; None: per event, or missing
    evidence_date: date | None  # effective date of the evidence in force
    evidence_record: int | None  # its record number in the store
    in_scope: bool = True
    scope_note: str = ""


class CheckState(_Frozen):
    id: str
    status: str  # the check's status in the latest scan, or "not_scanned"


class ChecklistEntry(_Frozen):
    """One of the seven readiness checklist items, with what makes its state."""

    id: str
    title: str
    owner: Owner
    state: ItemState
    evidence: tuple[ManualControl, ...]
    checks: tuple[CheckState, ...]
    gaps: tuple[str, ...]  # one sentence per missing or failing part


class CategoryScore(_Frozen):
    category: str
    name: str
    in_scope: bool
    criteria: int
    met: int
    not_met: int
    not_applicable: int
    score: float | None


class ExceptionView(_Frozen):
    exception: RiskException
    state: ExceptionState
    revocation: ExceptionRevocation | None = None


class ScopeView(_Frozen):
    soc2_categories: tuple[str, ...]
    soc1: bool
    hosting_model: HostingModel
    report_type: ReportType
    period_start: date
    period_end: date
    decided_by: str
    decided_at: datetime
    decisions: tuple[ScopeDecision, ...]


class ReadinessOverview(_Frozen):
    schema_version: str = "1.0"
    site: str
    site_key: str
    moodle_band: str | None
    as_of: datetime
    scope: ScopeView | None  # None: no scope decided yet (everything is shown)
    latest_run: int | None  # record number of the scan judged, None: never scanned
    latest_run_time: datetime | None
    controls: tuple[ManualControl, ...]
    checks: tuple[CheckState, ...]
    checklist: tuple[ChecklistEntry, ...]
    categories: tuple[CategoryScore, ...]
    score_formula: str
    exceptions: tuple[ExceptionView, ...]
    next_due: tuple[ManualControl, ...]


# --- remediation ----------------------------------------------------------------------------

RemediationStatus = Literal["open", "overdue", "accepted", "closed"]


class RemediationItem(_Frozen):
    """A failing finding to fix: opened by the scan that first saw it fail, closed only by a
    later scan in which the check ran and the resource no longer failed."""

    id: str  # REM-<8 hex>, stable per check and resource
    check_id: str
    title: str
    resource: str
    severity: str
    reason: str  # the latest failing scan's sentence
    status: RemediationStatus
    first_seen: datetime
    first_seen_run: int
    last_failed: datetime
    last_failed_run: int
    due: date
    due_source: str  # "policy (high: 30 days)" or who set it
    owner: str  # "unassigned" until someone is assigned
    ticket: str = ""
    exception_id: str | None = None  # the active exception that accepts it
    closed_at: datetime | None = None
    closed_by_run: int | None = None
    recurrences: int = 0  # times it failed again after a closing scan


# --- the readiness report (HTML and PDF) ----------------------------------------------------


class ReportGap(_Frozen):
    """One of the top gaps an executive reads: what, who owns it, how much work."""

    kind: Literal["check", "evidence"]
    id: str
    title: str
    owner: str
    priority: str  # a severity for checks, the control's status for evidence
    effort: str  # an estimate, said as one: "small (one setting)", ...
    detail: str


class MatrixRow(_Frozen):
    """The shared-responsibility split of one checklist item."""

    item: str
    owner: Owner
    moodle_core: str
    hosting: str
    organisation: str


class CalendarEntry(_Frozen):
    due: date
    control: str
    title: str
    owner: str
    status: str


class BandNotes(_Frozen):
    band: str
    label: str
    core_provides: tuple[str, ...]
    limits: tuple[str, ...]


class ReadinessReport(_Frozen):
    overview: ReadinessOverview
    generated_at: datetime
    band: BandNotes | None
    top_gaps: tuple[ReportGap, ...]
    matrix: tuple[MatrixRow, ...]
    calendar: tuple[CalendarEntry, ...]  # overdue and due within CALENDAR_DAYS
    open_exceptions: tuple[ExceptionView, ...]
    failing_checks: int
    accepted_checks: int


# --- the answers sheet for security questionnaires ------------------------------------------

AnswerWord = Literal["Yes", "Partly", "No", "Not evidenced"]


class QuestionnaireAnswer(_Frozen):
    """A common security-questionnaire question answered from the evidence, citing it."""

    id: str
    topic: str
    question: str
    answer: AnswerWord
    statement: str
    citations: tuple[str, ...]  # one sentence per check or piece of evidence relied on


# --- facts the document templates are filled with -------------------------------------------


class AdminFact(_Frozen):
    username: str
    auth: str
    last_access: date | None
    suspended: bool


class SiteFacts(_Frozen):
    """What the templates state about the site, read from it at ``read_at``."""

    site: str
    wwwroot: str | None
    moodle_release: str
    moodle_band: str
    read_at: datetime
    admins: tuple[AdminFact, ...]
    mfa: str  # one sentence
    password_policy: str
    log_stores: tuple[str, ...]
    log_retention: str
    backup_schedule: str
    additional_plugins: tuple[tuple[str, str], ...]  # (component, version)
    plugin_count: int
