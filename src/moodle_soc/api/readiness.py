"""The readiness programme's workflows: decide the audit scope, show the programme, hand a
control to another owner, and accept (or revoke) a risk. Every decision is an append-only
record in the evidence store; nothing here prompts (the CLI asks, then calls these)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodle_soc.errors import UsageError

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.frameworks import FrameworkReadiness
    from moodle_soc.models.programme import (
        ExceptionView,
        Owner,
        QuestionnaireAnswer,
        ReadinessOverview,
        ReadinessReport,
        ReadinessScope,
        RemediationItem,
        RiskException,
    )
    from moodle_soc.models.records import SiteRef, StoredRecord
    from moodle_soc.policy import Policy
    from moodle_soc.site.moodle import MoodleSite


def site_payment_records(site: MoodleSite) -> int | None:
    """How many payment records the site holds (None before Moodle 3.10): the default answer
    to "does the site take payments"."""
    from moodle_soc.site.payments import payment_record_count

    return payment_record_count(site)


def decide_readiness_scope(
    store: EvidenceStore,
    *,
    answers: Path | Mapping[str, Any],
    site: str | MoodleSite | None,
    decided_by: str,
    now: datetime | None = None,
) -> ReadinessScope:
    """Decide the audit scope from ``answers`` (a YAML file or a mapping of the same keys) and
    store it. With an open ``site`` its payment records suggest ``takes_payments`` and are kept
    with the decision; with a site name the site must already be in the store."""
    from moodle_soc.programme.scope import answers_from, decide_scope, read_answers, store_scope

    data = read_answers(answers) if isinstance(answers, Path) else dict(answers)
    source = str(answers) if isinstance(answers, Path) else "The answers"
    ref, payments = _site_ref(store, site)
    scope = decide_scope(
        answers_from(data, source, payments, site_read=not (site is None or isinstance(site, str))),
        payment_records=payments,
        decided_by=decided_by,
        decided_at=now,
    )
    store_scope(store, ref, scope)
    return scope


def readiness_scope(store: EvidenceStore, *, site: str | None) -> ReadinessScope | None:
    """The scope in force for ``site`` (None: not decided yet)."""
    from moodle_soc.programme.scope import scope_in_force

    return scope_in_force(store, store.find_site(site).key)


def readiness_programme(
    store: EvidenceStore, *, site: str | None, as_of: datetime | None = None
) -> ReadinessOverview:
    """The whole programme on ``as_of`` (default now): scope, manual controls with owner and
    due date, the latest scan's checks, the seven checklist items, scores, exceptions."""
    from moodle_soc.frameworks import load_catalogue
    from moodle_soc.programme.overview import readiness_overview

    moment = as_of or datetime.now(UTC)
    return readiness_overview(store, store.find_site(site), moment, load_catalogue())


def readiness_report(
    store: EvidenceStore, *, site: str | None, as_of: datetime | None = None
) -> ReadinessReport:
    """The executive report: the programme plus top gaps with owners and effort, the
    shared-responsibility matrix, the evidence calendar, open exceptions and the band's
    guidance. Render it with ``readiness_report_html`` or ``readiness_report_pdf``."""
    from moodle_soc.frameworks import load_catalogue
    from moodle_soc.programme.report import build_report

    overview = readiness_programme(store, site=site, as_of=as_of)
    return build_report(store, overview, load_catalogue())


def readiness_report_html(
    report: ReadinessReport, frameworks: Sequence[FrameworkReadiness] = ()
) -> str:
    """The report as one HTML page; ``frameworks`` (``api.readiness_frameworks``) adds each
    framework's view of the programme to the score section."""
    from moodle_soc.reports.readiness import render_readiness_html

    return render_readiness_html(report, frameworks)


def readiness_report_pdf(
    report: ReadinessReport, frameworks: Sequence[FrameworkReadiness] = ()
) -> bytes:
    from moodle_soc.reports.readiness import render_readiness_pdf

    return render_readiness_pdf(report, frameworks)


def questionnaire_answers(
    store: EvidenceStore, *, site: str | None, as_of: datetime | None = None
) -> list[QuestionnaireAnswer]:
    """The common security-questionnaire questions (MFA, access reviews, logging, backups,
    change management, vulnerabilities, encryption in transit, incident response) answered
    from the evidence, each answer citing the checks and evidence records it relies on."""
    from moodle_soc.frameworks import load_catalogue
    from moodle_soc.programme.answers import answer_questions

    overview = readiness_programme(store, site=site, as_of=as_of)
    return answer_questions(store, overview, load_catalogue())


def write_questionnaire_answers(
    answers: list[QuestionnaireAnswer], output: Path, *, title: str = "Security questionnaire"
) -> None:
    """Write the answers sheet as CSV or XLSX (by ``output``'s suffix)."""
    from moodle_soc.programme.answers import answers_csv, write_answers_xlsx

    suffix = output.suffix.lower()
    if suffix == ".xlsx":
        write_answers_xlsx(answers, output, title)
    elif suffix == ".csv":
        try:
            output.write_text(answers_csv(answers), encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise UsageError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    else:
        raise UsageError(f"{output.name}: the answers sheet must end in .csv or .xlsx.")


def readiness_template(name: str, site: MoodleSite) -> str:
    """A core document as Markdown, filled from the open ``site`` (administrators, MFA,
    password policy, log stores and retention, backup schedule, plugins); the rest is marked
    ``[to complete: ...]``. Names: ``api.readiness_template_names()``."""
    from moodle_soc.programme.templates import TEMPLATES, site_facts
    from moodle_soc.reports.documents import render_document

    if name not in TEMPLATES:
        raise UsageError(f"Unknown template {name!r}; the templates are {', '.join(TEMPLATES)}.")
    return render_document(name, TEMPLATES[name], site_facts(site))


def readiness_template_names() -> dict[str, str]:
    """Template name -> the document's title."""
    from moodle_soc.programme.templates import TEMPLATES

    return dict(TEMPLATES)


def set_control_owner(
    store: EvidenceStore,
    *,
    site: str | None,
    control: str,
    owner: Owner,
    changed_by: str,
    note: str = "",
) -> StoredRecord:
    """Hand a manual control to another party of the shared-responsibility model."""
    from moodle_soc.frameworks import load_catalogue
    from moodle_soc.models.programme import ControlOwnerChange
    from moodle_soc.programme.controls import record_owner_change

    if owner not in ("moodle_core", "hosting", "client"):
        raise UsageError(f"--owner {owner!r} must be moodle_core, hosting or client.")
    change = ControlOwnerChange(
        control=control, owner=owner, changed_by=changed_by, changed_at=datetime.now(UTC), note=note
    )
    return record_owner_change(store, store.find_site(site), change, load_catalogue())


def add_exception(
    store: EvidenceStore,
    *,
    site: str | None,
    check: str,
    reason: str,
    owner: str,
    approver: str,
    expires: date,
    created_by: str,
    resource: str | None = None,
    approved_at: date | None = None,
    compensating_control: str = "",
    now: datetime | None = None,
) -> RiskException:
    """Record a risk exception: from its approval until it expires, the check's failing
    findings (for ``resource``, or all of them) are ``accepted`` in every scan."""
    from moodle_soc.checks.registry import all_checks
    from moodle_soc.programme.exceptions import ExceptionRequest
    from moodle_soc.programme.exceptions import add_exception as record

    request = ExceptionRequest(
        check_id=check,
        reason=reason,
        owner=owner,
        approver=approver,
        expires=expires,
        resource=resource,
        approved_at=approved_at,
        compensating_control=compensating_control,
    )
    known = frozenset(spec.id for spec in all_checks())
    exception, _ = record(
        store, store.find_site(site), request, created_by=created_by, known_checks=known, now=now
    )
    return exception


def list_exceptions(
    store: EvidenceStore, *, site: str | None, as_of: datetime | None = None
) -> list[ExceptionView]:
    """Every exception on record with its state on ``as_of``: active, expired, revoked or
    pending (approved after that day)."""
    from moodle_soc.models.programme import ExceptionView
    from moodle_soc.programme.exceptions import exceptions_on_record

    moment = as_of or datetime.now(UTC)
    return [
        ExceptionView(exception=e.exception, state=e.state_at(moment), revocation=e.revocation)
        for e in exceptions_on_record(store, store.find_site(site).key)
    ]


def revoke_exception(
    store: EvidenceStore,
    *,
    site: str | None,
    exception_id: str,
    reason: str,
    revoked_by: str,
    now: datetime | None = None,
) -> ExceptionView:
    """Revoke an exception (a second record; the first is never changed)."""
    from moodle_soc.models.programme import ExceptionView
    from moodle_soc.programme.exceptions import revoke_exception as revoke

    found, _ = revoke(
        store, store.find_site(site), exception_id, reason=reason, revoked_by=revoked_by, now=now
    )
    moment = now or datetime.now(UTC)
    return ExceptionView(
        exception=found.exception, state=found.state_at(moment), revocation=found.revocation
    )


def remediation_items(
    store: EvidenceStore,
    *,
    site: str | None,
    as_of: datetime | None = None,
    policy: Policy | None = None,
    status: str | None = None,
) -> list[RemediationItem]:
    """Every failing finding of the site's stored scans as an item: owner, due date (severity
    and ``policy``), ticket, and status ``open``, ``overdue``, ``accepted`` or ``closed`` (by
    the first later scan in which the check ran and the resource passed)."""
    from moodle_soc.programme.remediation import remediation_items as build

    if status is not None and status not in ("open", "overdue", "accepted", "closed"):
        raise UsageError(f"--status {status!r} must be open, overdue, accepted or closed.")
    moment = as_of or datetime.now(UTC)
    items = build(store, store.find_site(site).key, moment, policy)
    return [i for i in items if status is None or i.status == status]


def assign_remediation(
    store: EvidenceStore,
    *,
    site: str | None,
    item: str,
    owner: str,
    assigned_by: str,
    due: date | None = None,
    ticket: str = "",
    policy: Policy | None = None,
    now: datetime | None = None,
) -> RemediationItem:
    """Assign an open item (its ``REM-`` id, or its check id when that check has one item) to
    ``owner``, optionally with a due date and the ticket that tracks it; returns it updated."""
    from moodle_soc.programme.remediation import assign

    moment = now or datetime.now(UTC)
    ref = store.find_site(site)
    items = remediation_items(store, site=site, as_of=moment, policy=policy)
    found, _ = assign(store, ref, items, item=item, owner=owner, assigned_by=assigned_by,
                      due=due, ticket=ticket, now=moment)  # fmt: skip
    updated = remediation_items(store, site=site, as_of=moment, policy=policy)
    return next(i for i in updated if i.id == found.id)


def remediation_export(items: list[RemediationItem], fmt: str) -> str:
    """``csv`` (an issue tracker's import: Jira, GitHub) or ``json``."""
    from moodle_soc.programme.remediation import items_csv, items_json

    if fmt == "csv":
        return items_csv(items)
    if fmt == "json":
        return items_json(items) + "\n"
    raise UsageError(f"--format {fmt!r} must be csv or json.")


def _site_ref(store: EvidenceStore, site: str | MoodleSite | None) -> tuple[SiteRef, int | None]:
    if site is None or isinstance(site, str):
        return store.find_site(site), None
    from moodle_soc.evidence.store.runs import site_ref_for_site

    return site_ref_for_site(site), site_payment_records(site)
