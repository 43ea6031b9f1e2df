"""``moodle-soc readiness``: the readiness programme (scope, manual controls, checklist) and
``moodle-soc exception``: risk acceptance. Thin: the workflows live in ``moodle_soc.api``."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moodle_soc.cli.common import fail, open_store, parse_as_of, parse_day, write_text
from moodle_soc.cli.frameworks import FrameworkOption, print_framework_readiness
from moodle_soc.cli.options import (
    AskPasswordOption,
    AsOfOption,
    ConfigOption,
    DbOption,
    PrefixOption,
    SignKeyOption,
    SiteOption,
    StoreOption,
    WwwrootOption,
)
from moodle_soc.errors import MoodleSocError, UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from moodle_soc.frameworks.catalogue import Framework
    from moodle_soc.models.programme import ReadinessScope

readiness_app = typer.Typer(
    help="The readiness programme: scope, manual controls, checklist, templates.",
    invoke_without_command=True,
)
exception_app = typer.Typer(
    help="Risk exceptions: accept a failing check until a date, with owner and approver.",
    no_args_is_help=True,
)

ByOption = Annotated[
    str | None, typer.Option("--by", help="Who records this (default: the current OS user).")
]


class OverviewFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    html = "html"


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"


class ScopeFormat(StrEnum):
    terminal = "terminal"
    json = "json"


@readiness_app.callback()
def readiness_command(
    ctx: typer.Context,
    store: StoreOption = None,
    site: SiteOption = None,
    as_of: AsOfOption = None,
    fmt: Annotated[
        OverviewFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OverviewFormat.terminal,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default stdout).")
    ] = None,
    framework: FrameworkOption = None,
) -> None:
    """The whole programme: scope, automated checks and manual controls together, a score per
    category, the seven checklist items and the next due dates."""
    if ctx.invoked_subcommand is not None:
        return
    from moodle_soc.api.frameworks import load_frameworks, readiness_frameworks
    from moodle_soc.api.readiness import readiness_programme

    try:
        moment = parse_as_of(as_of)
        frameworks = load_frameworks(framework or ())
        if fmt is OverviewFormat.html:
            _write_report(store, site, moment, ReportFormat.html, output, frameworks)
            return
        with open_store(store) as evidence:
            overview = readiness_programme(evidence, site=site, as_of=moment)
            views = readiness_frameworks(
                evidence, site=site, frameworks=frameworks, as_of=overview.as_of
            )
        if fmt is OverviewFormat.json:
            text = overview.model_dump_json(indent=2) + "\n"
            if views:
                document = overview.model_dump(mode="json")
                document["frameworks"] = [view.model_dump(mode="json") for view in views]
                text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
            if output:
                write_text(output, text)
            else:
                typer.echo(text, nl=False)
            return
    except MoodleSocError as error:
        fail(error)
    from moodle_soc.reports.readiness_terminal import render_readiness_terminal

    console = _console(output)
    render_readiness_terminal(overview, console)
    print_framework_readiness(console, views)


@readiness_app.command("report")
def report_command(
    site: SiteOption = None,
    store: StoreOption = None,
    as_of: AsOfOption = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.html,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (PDF needs a file).")
    ] = None,
    framework: FrameworkOption = None,
) -> None:
    """The executive readiness report: scope, scores and formula, checklist, top gaps with
    owners and effort, shared responsibility, evidence calendar, open exceptions."""
    from moodle_soc.api.frameworks import load_frameworks

    try:
        frameworks = load_frameworks(framework or ())
        _write_report(store, site, parse_as_of(as_of), fmt, output, frameworks)
    except MoodleSocError as error:
        fail(error)


@readiness_app.command("answers")
def answers_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="answers.csv or answers.xlsx.")],
    site: SiteOption = None,
    store: StoreOption = None,
    as_of: AsOfOption = None,
) -> None:
    """The answers sheet for security questionnaires (MFA, access reviews, logging, backups,
    change management, vulnerabilities, encryption, incident response), citing the evidence."""
    from moodle_soc.api.readiness import questionnaire_answers, write_questionnaire_answers

    try:
        with open_store(store) as evidence:
            answers = questionnaire_answers(evidence, site=site, as_of=parse_as_of(as_of))
            name = evidence.find_site(site).name
        write_questionnaire_answers(answers, output, title=f"Security questionnaire: {name}")
    except MoodleSocError as error:
        fail(error)
    counts = ", ".join(
        f"{sum(1 for a in answers if a.answer == w)} {w.lower()}"
        for w in ("Yes", "Partly", "No", "Not evidenced")
    )
    typer.echo(f"Wrote {len(answers)} answers to {output} ({counts}).")


@readiness_app.command("template")
def template_command(
    name: Annotated[
        str,
        typer.Argument(
            help="access-control-policy, change-management-procedure,"
            " incident-response-plan, backup-restore-test-record,"
            " plugin-vendor-review-record or log-review-record."
        ),
    ],
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    ask_password: AskPasswordOption = False,
    wwwroot: WwwrootOption = None,
    as_of: AsOfOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """A core document as Markdown, filled from the site (administrators, MFA, password
    policy, logs, backups, plugins); what only you know is marked [to complete: ...]."""
    from moodle_soc.api.readiness import readiness_template, readiness_template_names
    from moodle_soc.cli.common import open_site

    try:
        if name not in readiness_template_names():
            known = ", ".join(readiness_template_names())
            raise UsageError(f"Unknown template {name!r}; the templates are {known}.")
        with open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot) as site:
            text = readiness_template(name, site)
        if output:
            write_text(output, text)
            typer.echo(f"Wrote {name} to {output}.")
        else:
            typer.echo(text, nl=False)
    except MoodleSocError as error:
        fail(error)


def _write_report(
    store: str | None,
    site: str | None,
    moment: datetime | None,
    fmt: ReportFormat,
    output: Path | None,
    frameworks: Sequence[Framework] = (),
) -> None:
    from moodle_soc.api.frameworks import readiness_frameworks
    from moodle_soc.api.readiness import (
        readiness_report,
        readiness_report_html,
        readiness_report_pdf,
    )

    if fmt is ReportFormat.pdf and output is None:
        raise UsageError("A PDF needs --output FILE.")
    with open_store(store) as evidence:
        report = readiness_report(evidence, site=site, as_of=moment)
        views = readiness_frameworks(
            evidence, site=site, frameworks=frameworks, as_of=report.overview.as_of
        )
    if fmt is ReportFormat.pdf:
        assert output is not None
        data = readiness_report_pdf(report, views)
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"Cannot write {output}: {exc.strerror or exc}.") from None
        typer.echo(f"Wrote the readiness report to {output} ({len(data)} bytes).")
        return
    html = readiness_report_html(report, views)
    if output:
        write_text(output, html)
        typer.echo(f"Wrote the readiness report to {output}.")
    else:
        typer.echo(html)


@readiness_app.command("scope")
def scope_command(
    answers: Annotated[
        Path | None,
        typer.Option("--answers", help="YAML answers file (no prompts); see docs/readiness.md."),
    ] = None,
    store: StoreOption = None,
    site: SiteOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    ask_password: AskPasswordOption = False,
    wwwroot: WwwrootOption = None,
    by: ByOption = None,
    fmt: Annotated[ScopeFormat, typer.Option("--format", "-f")] = ScopeFormat.terminal,
    sign_key: SignKeyOption = None,
) -> None:
    """Decide the audit scope (SOC 2 categories, SOC 1, hosting model, report type) from the
    questionnaire or --answers, and store it as evidence. Give --site (a site in the store;
    default its only site) or the site's connection (--db/--config: its payment records
    suggest the payments answer)."""
    from moodle_soc.api.readiness import decide_readiness_scope, site_payment_records
    from moodle_soc.cli.common import open_site

    try:
        connected = db is not None or config is not None
        if connected and site is not None:
            raise UsageError("Give --site SITE (already in the store) or --db/--config, not both.")
        with open_store(store, sign_key, create=True) as evidence:
            if connected:
                with open_site(db, config, prefix, ask_password, None, wwwroot) as moodle:
                    given = answers or _ask(site_payment_records(moodle))
                    decided = decide_readiness_scope(
                        evidence, answers=given, site=moodle, decided_by=by or getpass.getuser()
                    )
            else:
                given = answers or _ask(None)
                decided = decide_readiness_scope(
                    evidence, answers=given, site=site, decided_by=by or getpass.getuser()
                )
    except MoodleSocError as error:
        fail(error)
    if fmt is ScopeFormat.json:
        typer.echo(decided.model_dump_json(indent=2))
        return
    _print_scope(decided)


@readiness_app.command("owner")
def owner_command(
    control: Annotated[str, typer.Argument(help="A manual control id (see 'readiness').")],
    owner: Annotated[str, typer.Option("--owner", help="moodle_core, hosting or client.")],
    site: SiteOption = None,
    store: StoreOption = None,
    by: ByOption = None,
    note: Annotated[str, typer.Option(help="Why the owner changes.")] = "",
    sign_key: SignKeyOption = None,
) -> None:
    """Hand a manual control to another party of the shared-responsibility model."""
    from moodle_soc.api.readiness import set_control_owner

    try:
        with open_store(store, sign_key, create=True) as evidence:
            record = set_control_owner(
                evidence,
                site=site,
                control=control,
                owner=owner,  # type: ignore[arg-type]  # checked by the api
                changed_by=by or getpass.getuser(),
                note=note,
            )
    except MoodleSocError as error:
        fail(error)
    typer.echo(f"Control {control} is now owned by {owner} (record {record.seq}).")


# --- exceptions ------------------------------------------------------------------------------


@exception_app.command("add")
def exception_add(
    check: Annotated[str, typer.Option("--check", help="The check id the exception covers.")],
    reason: Annotated[str, typer.Option(help="Why the risk is accepted.")],
    owner: Annotated[str, typer.Option(help="Who owns the risk.")],
    approver: Annotated[str, typer.Option(help="Who approved accepting it.")],
    expires: Annotated[str, typer.Option(help="Last day it applies (YYYY-MM-DD).")],
    site: SiteOption = None,
    resource: Annotated[
        str | None, typer.Option(help="Only this resource (e.g. user:42); default all.")
    ] = None,
    approved_at: Annotated[
        str | None,
        typer.Option(
            "--approved-at", help="When it was approved (e.g. in a ticket); default today."
        ),
    ] = None,
    compensating_control: Annotated[
        str, typer.Option("--compensating-control", help="What reduces the risk meanwhile.")
    ] = "",
    store: StoreOption = None,
    by: ByOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Accept a failing check's risk until a date: its findings become 'accepted', never pass."""
    from moodle_soc.api.readiness import add_exception

    try:
        expiry = parse_day(expires, "--expires")
        approved = parse_day(approved_at, "--approved-at") if approved_at else None
        with open_store(store, sign_key, create=True) as evidence:
            exception = add_exception(
                evidence,
                site=site,
                check=check,
                reason=reason,
                owner=owner,
                approver=approver,
                expires=expiry,
                resource=resource,
                approved_at=approved,
                compensating_control=compensating_control,
                created_by=by or getpass.getuser(),
            )
    except MoodleSocError as error:
        fail(error)
    typer.echo(
        f"Exception {exception.id} recorded: {exception.check_id} accepted by"
        f" {exception.approver} until {exception.expires}."
    )


@exception_app.command("list")
def exception_list(
    site: SiteOption = None,
    store: StoreOption = None,
    as_of: AsOfOption = None,
    fmt: Annotated[ScopeFormat, typer.Option("--format", "-f")] = ScopeFormat.terminal,
) -> None:
    """Every exception on record with its state: active, expired, revoked or pending."""
    from moodle_soc.api.readiness import list_exceptions

    try:
        with open_store(store) as evidence:
            views = list_exceptions(evidence, site=site, as_of=parse_as_of(as_of))
    except MoodleSocError as error:
        fail(error)
    if fmt is ScopeFormat.json:
        typer.echo(json.dumps([v.model_dump(mode="json") for v in views], indent=2))
        return
    from rich.table import Table

    from moodle_soc.safety import terminal_markup

    table = Table(title=f"{len(views)} risk exceptions")
    for column in ("Id", "State", "Check", "Resource", "Approver", "Owner", "Expires", "Reason"):
        table.add_column(column)
    for view in views:
        e = view.exception
        state = view.state + (f" ({view.revocation.reason})" if view.revocation else "")
        cells = (e.id, state, e.check_id, e.resource or "all", e.approver, e.owner)
        table.add_row(
            *(terminal_markup(c) for c in cells), str(e.expires), terminal_markup(e.reason)
        )
    _console(None).print(table)


@exception_app.command("revoke")
def exception_revoke(
    exception_id: Annotated[str, typer.Argument(help="The exception id (EXC-...).")],
    reason: Annotated[str, typer.Option(help="Why it is revoked.")],
    site: SiteOption = None,
    store: StoreOption = None,
    by: ByOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Revoke an exception: its findings fail again from the next scan on."""
    from moodle_soc.api.readiness import revoke_exception

    try:
        with open_store(store, sign_key, create=True) as evidence:
            view = revoke_exception(
                evidence,
                site=site,
                exception_id=exception_id,
                reason=reason,
                revoked_by=by or getpass.getuser(),
            )
    except MoodleSocError as error:
        fail(error)
    typer.echo(f"Exception {view.exception.id} revoked.")


# --- helpers ---------------------------------------------------------------------------------


def _console(output: Path | None) -> Any:
    from rich.console import Console

    if output is None:
        return Console()
    try:
        return Console(file=output.open("w", encoding="utf-8"), width=120, no_color=True)
    except OSError as exc:
        fail(UsageError(f"Cannot write {output}: {exc.strerror or exc}."))


def _ask(payment_records: int | None) -> dict[str, Any]:
    """The questionnaire, asked on the terminal (defaults shown; payments from the site)."""
    from moodle_soc.models.programme import QUESTIONS

    answers: dict[str, Any] = {}
    for key, question in QUESTIONS.items():
        default = False
        if key == "takes_payments" and payment_records is not None:
            question += f" (the site holds {payment_records} payment records)"
            default = payment_records > 0
        answers[key] = typer.confirm(question, default=default)
    answers["hosting_model"] = typer.prompt(
        "Hosting model (self-hosted, managed-carve-out, managed-inclusive)", default="self-hosted"
    )
    if answers["hosting_model"] != "self-hosted":
        answers["subservice_organisation"] = typer.prompt("The managed host's name", default="")
    answers["report_type"] = typer.prompt("Report type (type1, type2)", default="type2")
    year = datetime.now(UTC).year
    answers["period"] = typer.prompt(
        "Period FROM..TO (Type I: the report date)", default=f"{year}-01-01..{year}-12-31"
    )
    return answers


def _print_scope(scope: ReadinessScope) -> None:
    answers = scope.answers
    typer.echo(
        f"Scope decided by {scope.decided_by}: SOC 2 {', '.join(scope.soc2_categories)};"
        f" SOC 1 {'applies' if scope.soc1 else 'does not apply'}."
    )
    period = (
        f"{answers.period_start}"
        if answers.report_type == "type1"
        else f"{answers.period_start} to {answers.period_end}"
    )
    typer.echo(f"Hosting: {answers.hosting_model}; report: {answers.report_type}, {period}.")
    for decision in scope.decisions:
        typer.echo(f"  {decision.id}: {decision.reason}")


# --- remediation -----------------------------------------------------------------------------

remediation_app = typer.Typer(
    help="Remediation: every failing finding as an item with owner and due date; a passing"
    " scan closes it.",
    no_args_is_help=True,
)


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


@remediation_app.command("list")
def remediation_list(
    site: SiteOption = None,
    store: StoreOption = None,
    as_of: AsOfOption = None,
    status: Annotated[
        str | None, typer.Option(help="Only open, overdue, accepted or closed items.")
    ] = None,
    fmt: Annotated[ScopeFormat, typer.Option("--format", "-f")] = ScopeFormat.terminal,
) -> None:
    """Every failing finding of the stored scans: owner, due date, status, ticket."""
    from moodle_soc.api.readiness import remediation_items

    try:
        with open_store(store) as evidence:
            items = remediation_items(
                evidence, site=site, as_of=parse_as_of(as_of), policy=_policy(), status=status
            )
    except MoodleSocError as error:
        fail(error)
    if fmt is ScopeFormat.json:
        typer.echo(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    from moodle_soc.safety import terminal_safe

    overdue = sum(1 for i in items if i.status == "overdue")
    table = Table(title=f"{len(items)} remediation items, {overdue} overdue", title_justify="left")
    for column in ("Id", "Status", "Severity", "Check", "Resource", "Owner", "Due", "Ticket"):
        table.add_column(column, overflow="fold")
    styles = {"overdue": "bold red", "open": "yellow", "accepted": "magenta", "closed": "green"}
    for i in items:
        cells = (i.check_id, i.resource, i.owner)
        table.add_row(i.id, Text(i.status, style=styles[i.status]), i.severity,
                      *(Text(terminal_safe(c)) for c in cells), str(i.due),
                      Text(terminal_safe(i.ticket)))  # fmt: skip
    _console(None).print(table)


@remediation_app.command("assign")
def remediation_assign(
    item: Annotated[str, typer.Argument(help="The item's REM- id (or its check id).")],
    owner: Annotated[str, typer.Option(help="Who fixes it.")],
    site: SiteOption = None,
    due: Annotated[
        str | None, typer.Option(help="Due date (YYYY-MM-DD); default from severity and policy.")
    ] = None,
    ticket: Annotated[str, typer.Option(help="The tracking ticket, e.g. SEC-123.")] = "",
    store: StoreOption = None,
    by: ByOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Assign an open item to an owner, with a due date and ticket (recorded as evidence)."""
    from moodle_soc.api.readiness import assign_remediation

    try:
        day = parse_day(due, "--due") if due else None
        with open_store(store, sign_key, create=True) as evidence:
            updated = assign_remediation(evidence, site=site, item=item, owner=owner,
                                         assigned_by=by or getpass.getuser(), due=day,
                                         ticket=ticket, policy=_policy())  # fmt: skip
    except MoodleSocError as error:
        fail(error)
    typer.echo(f"{updated.id} ({updated.check_id}, {updated.resource}) assigned to"
               f" {updated.owner}, due {updated.due}.")  # fmt: skip


@remediation_app.command("export")
def remediation_export_command(
    site: SiteOption = None,
    store: StoreOption = None,
    as_of: AsOfOption = None,
    status: Annotated[str | None, typer.Option(help="Only items with this status.")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Write the items as CSV (Jira or GitHub import) or JSON."""
    from moodle_soc.api.readiness import remediation_export, remediation_items

    try:
        with open_store(store) as evidence:
            items = remediation_items(
                evidence, site=site, as_of=parse_as_of(as_of), policy=_policy(), status=status
            )
        text = remediation_export(items, fmt.value)
        if output:
            write_text(output, text)
        else:
            typer.echo(text, nl=False)
    except MoodleSocError as error:
        fail(error)


def _policy() -> Any:
    """The policy of ./moodle-soc.yaml when there is one (remediation due days)."""
    from moodle_soc.settings_file import find_settings_file

    return find_settings_file(None).policy
