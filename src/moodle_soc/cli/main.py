"""The ``moodle-soc`` command line. Heavy modules are imported inside commands, so that
``moodle-soc --help`` starts fast."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from moodle_soc import __version__
from moodle_soc.cli.options import (
    AskPasswordOption,
    AsOfOption,
    ConfigOption,
    DbOption,
    PrefixOption,
    SettingsOption,
    WwwrootOption,
)
from moodle_soc.errors import BadInputError, ExitCode, MoodleSocError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.run import AuditRun
    from moodle_soc.policy import Policy
    from moodle_soc.site.moodle import MoodleSite

app = typer.Typer(
    name="moodle-soc",
    help="Read-only SOC 2 / SOC 1 readiness and evidence for Moodle sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
checks_app = typer.Typer(help="The control catalogue: checks, criteria, remediation.")
app.add_typer(checks_app, name="checks")


def _register_subcommands() -> None:
    from moodle_soc.cli.access import access_app
    from moodle_soc.cli.evidence import evidence_app
    from moodle_soc.cli.oscal import oscal_command
    from moodle_soc.cli.package import (
        export_command,
        retention_command,
        verify_package_command,
    )
    from moodle_soc.cli.period import period_app, populations_command, sample_command
    from moodle_soc.cli.review import review_app

    evidence_app.command("export")(export_command)
    evidence_app.command("verify-package")(verify_package_command)
    evidence_app.command("retention")(retention_command)
    evidence_app.command("oscal")(oscal_command)
    evidence_app.command("populations")(populations_command)
    evidence_app.command("sample")(sample_command)
    app.add_typer(evidence_app, name="evidence")
    app.add_typer(access_app, name="access")
    app.add_typer(period_app, name="period")
    app.add_typer(review_app, name="review")


_register_subcommands()


class OutputFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    html = "html"


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"
    none = "none"


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _fail(error: MoodleSocError) -> NoReturn:
    message = " ".join(error.message.split())
    typer.echo(f"moodle-soc: error: {message}", err=True)
    raise typer.Exit(int(error.exit_code))


def parse_as_of(value: str | None) -> datetime | None:
    """ISO 8601 audit time; a time without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"--as-of {value!r} is not an ISO 8601 time such as 2026-11-29T12:00:00Z."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"moodle-soc {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Read-only SOC 2 / SOC 1 readiness and evidence for Moodle sites."""


def _open_site(
    db: str | None,
    config: Path | None,
    prefix: str | None,
    ask_password: bool,
    as_of: datetime | None,
    wwwroot: str | None,
) -> MoodleSite:
    from moodle_soc.site.connect import open_site, spec_from_config, spec_from_url
    from moodle_soc.site.phpconfig import load_config_php

    if (db is None) == (config is None):
        raise UsageError("Give exactly one of --db URL or --config /path/to/config.php.")
    password = typer.prompt("Database password", hide_input=True) if ask_password else None
    config_php = load_config_php(config) if config is not None else None
    if config_php is not None:
        spec = spec_from_config(config_php, password)
        if prefix is not None:
            spec = type(spec)(url=spec.url, prefix=prefix, schema=spec.schema)
    else:
        spec = spec_from_url(db or "", prefix if prefix is not None else "mdl_", password)
    return open_site(spec, config_php=config_php, audit_time=as_of, wwwroot=wwwroot)


def _run_checks(site: MoodleSite, policy: Policy, only: list[str], quiet: bool) -> AuditRun:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from moodle_soc.checks.registry import CheckSpec, all_checks
    from moodle_soc.checks.runner import run_scan

    specs = list(all_checks())
    if only:
        known = {spec.id for spec in specs}
        unknown = [
            item for item in only if item not in known and item not in {s.area for s in specs}
        ]
        if unknown:
            raise UsageError(f"Unknown check or area {unknown[0]!r}; see 'moodle-soc checks list'.")
        specs = [s for s in specs if s.id in only or s.area in only]
    with Progress(
        TextColumn("[bold]Checking[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=_stderr(),
        transient=True,
        disable=quiet,
    ) as progress:
        task = progress.add_task("", total=len(specs))

        def advance(spec: CheckSpec) -> None:
            progress.update(task, advance=1, description=spec.id)

        return run_scan(site, policy, checks=specs, progress=advance)


def _emit(
    run: AuditRun,
    fmt: OutputFormat,
    output: Path | None,
    verbose: bool,
) -> None:
    from rich.console import Console

    from moodle_soc.reports import render
    from moodle_soc.reports.terminal import render_terminal

    if fmt is OutputFormat.terminal:
        if output is None:
            render_terminal(run, Console(), verbose=verbose)
            return
        try:
            with output.open("w", encoding="utf-8") as handle:
                render_terminal(
                    run, Console(file=handle, width=120, no_color=True), verbose=verbose
                )
        except OSError as exc:
            raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
        return
    document = render(run, "json" if fmt is OutputFormat.json else "html")
    if output is None:
        sys.stdout.write(document)
        if not document.endswith("\n"):
            sys.stdout.write("\n")
        return
    try:
        output.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    _stderr().print(f"Wrote {fmt.value.upper()} report to [bold]{output}[/].")


def _store_run(run: AuditRun, evidence: EvidenceStore, quiet: bool) -> None:
    from moodle_soc.evidence.store.runs import store_run

    record = store_run(evidence, run)
    if not quiet:
        _stderr().print(
            f"Stored run as evidence record {record.seq} ({record.short}) in {evidence.display}."
        )


def _exit_code(run: AuditRun, fail_on: FailOn) -> int:
    from moodle_soc.results import Severity

    if fail_on is FailOn.none:
        return int(ExitCode.OK)
    worst = run.worst_failed_severity()
    threshold = Severity(fail_on.value)
    return int(ExitCode.FINDINGS) if worst and worst.rank >= threshold.rank else int(ExitCode.OK)


@app.command()
def scan(
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    ask_password: AskPasswordOption = False,
    wwwroot: WwwrootOption = None,
    as_of: AsOfOption = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Report format.")
    ] = OutputFormat.terminal,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here (default stdout).")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a failed finding is at least this severe.")
    ] = FailOn.none,
    nagios: Annotated[
        bool,
        typer.Option(help="Print one Nagios status line and exit 0/1/2/3 (OK/WARN/CRIT/UNKNOWN)."),
    ] = False,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", "-c", help="Run only this check id or area (repeatable)."),
    ] = None,
    settings: SettingsOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Terminal: also list passes.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    store: Annotated[
        str | None,
        typer.Option(
            help="Evidence store for this run: SQLite path or postgresql:// URL (default"
            " $MOODLE_SOC_STORE, moodle-soc.yaml's store:, or the user data directory)."
        ),
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not record this run in the evidence store.")
    ] = False,
    sign_key: Annotated[
        Path | None, typer.Option(help="Ed25519 private key (PEM) to sign the stored run.")
    ] = None,
    roster: Annotated[
        Path | None,
        typer.Option(help="HR roster CSV (see docs/access-review.md) to reconcile leavers."),
    ] = None,
) -> None:
    """Scan a Moodle site read-only, report every control's verdict, and store the run."""
    try:
        from moodle_soc.settings_file import find_settings_file

        settings_file = find_settings_file(settings)
        policy = settings_file.policy
        loaded_roster = None
        if roster is not None:
            from moodle_soc.inventory.roster import load_roster

            loaded_roster = load_roster(roster)
        site = _open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot)
        if loaded_roster is not None:
            from moodle_soc.inventory.roster import attach_roster

            attach_roster(site, loaded_roster)
        evidence = None
        if not no_store:
            from moodle_soc.evidence.store.signing import load_signer
            from moodle_soc.evidence.store.store import default_location, open_store
            from moodle_soc.reviews.campaigns import attach_store

            try:
                signer = load_signer(sign_key) if sign_key else None
                location = store or default_location(settings_file.store)
                evidence = open_store(location, signer=signer)
            except MoodleSocError:
                site.db.close()
                raise
            attach_store(site, evidence)  # the reviews.* checks read campaigns from it
        try:
            run = _run_checks(site, policy, check or [], quiet or nagios)
            if evidence is not None:
                _store_run(run, evidence, quiet or nagios)
        finally:
            site.db.close()
            if evidence is not None:
                evidence.close()
        if nagios:
            from moodle_soc.reports.nagios import nagios_line

            line, code = nagios_line(run)
            typer.echo(line)
            raise typer.Exit(code)
        _emit(run, fmt, output, verbose)
    except MoodleSocError as error:
        if nagios:
            typer.echo(f"UNKNOWN: {' '.join(error.message.split())}")
            raise typer.Exit(3) from None
        _fail(error)
    raise typer.Exit(_exit_code(run, fail_on))


@app.command()
def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the HTML report.")
    ] = Path("acme-academy-report.html"),
    users: Annotated[int, typer.Option(min=20, help="Size of the synthetic site.")] = 300,
    site_db: Annotated[
        Path | None,
        typer.Option(help="Keep the synthetic SQLite site at this path (default: temporary)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Audit time (ISO 8601); default the demo site's 'now'.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list passes.")] = False,
) -> None:
    """Build the synthetic "Acme Academy" Moodle site, scan it, and write an HTML report."""
    import tempfile

    try:
        from moodle_soc.api.demo import build_demo_site
        from moodle_soc.policy import Policy
        from moodle_soc.site.connect import open_site

        audit_time = parse_as_of(as_of)
        with tempfile.TemporaryDirectory(prefix="moodle-soc-demo-") as tmp:
            path = site_db or Path(tmp) / "acme-academy.sqlite"
            demo_site = build_demo_site(path, users=users, console=_stderr())
            site = open_site(
                demo_site.spec,
                config_php=demo_site.config_php,
                audit_time=audit_time or demo_site.now,
            )
            try:
                run = _run_checks(site, Policy(), [], quiet=False)
            finally:
                site.db.close()
            _emit(run, OutputFormat.terminal, None, verbose)
            _emit(run, OutputFormat.html, output, verbose)
    except MoodleSocError as error:
        _fail(error)


@checks_app.command("list")
def checks_list(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or markdown.")] = "table",
) -> None:
    """List every automated check with its severity, criteria and mirrored Moodle check."""
    import json

    from rich.console import Console
    from rich.table import Table

    from moodle_soc.checks.registry import all_checks
    from moodle_soc.frameworks import load_catalogue

    if fmt not in ("table", "json", "markdown"):
        _fail(UsageError(f"--format {fmt!r} is not one of table, json, markdown."))
    if fmt == "markdown":
        from moodle_soc.checks.docs import render_checks_markdown

        sys.stdout.write(render_checks_markdown())
        return
    catalogue = load_catalogue()
    specs = all_checks()
    if fmt == "json":
        rows = [
            {
                "id": s.id,
                "title": s.title,
                "severity": s.severity.value,
                "moodle_check": s.moodle_check,
                "criteria": list(catalogue.criteria_for_check(s.id)),
                "remediation": s.remediation,
                "fix_command": s.fix_command,
            }
            for s in specs
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(specs)} automated checks")
    for column in ("Check", "Severity", "Criteria", "Moodle check"):
        table.add_column(column)
    for s in specs:
        table.add_row(
            s.id,
            s.severity.value,
            ", ".join(catalogue.criteria_for_check(s.id)),
            s.moodle_check or "",
        )
    Console().print(table)


@checks_app.command("show")
def checks_show(check_id: Annotated[str, typer.Argument(help="A check id.")]) -> None:
    """Show one check: why it matters, criteria, remediation and the fix command."""
    from rich.console import Console
    from rich.markup import escape

    from moodle_soc.checks.registry import get_check
    from moodle_soc.frameworks import load_catalogue

    try:
        spec = get_check(check_id)
    except KeyError:
        _fail(UsageError(f"Unknown check {check_id!r}; see 'moodle-soc checks list'."))
    console = Console()
    console.print(f"[bold]{escape(spec.id)}[/]: {escape(spec.title)}")
    console.print(f"Severity: {spec.severity.value}")
    console.print(f"Why: {escape(spec.rationale)}")
    console.print(f"Criteria: {', '.join(load_catalogue().criteria_for_check(spec.id))}")
    console.print(f"Mirrors Moodle check: {spec.moodle_check or '(none)'}")
    console.print(f"Remediation: {escape(spec.remediation)}")
    if spec.fix_command:
        console.print(f"Fix: {escape(spec.fix_command)}")


@checks_app.command("policy")
def checks_policy(settings: SettingsOption = None) -> None:
    """Show every policy threshold, its value and why it exists."""
    from rich.console import Console
    from rich.table import Table

    from moodle_soc.settings_file import find_settings_file

    try:
        policy = find_settings_file(settings).policy
    except MoodleSocError as error:
        _fail(error)
    table = Table(title="Policy thresholds (override in moodle-soc.yaml under policy:)")
    for column in ("Name", "Value", "Why"):
        table.add_column(column)
    for name, value, reason in policy.thresholds():
        shown = ", ".join(value) if isinstance(value, tuple) else str(value)
        table.add_row(name, shown, reason)
    Console().print(table)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("moodle-soc: interrupted.", err=True)
        sys.exit(130)
