"""``moodle-soc scan`` and ``moodle-soc demo``: parse the options, call the API, render."""

from __future__ import annotations

import sys
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.common import fail, open_site, open_store, parse_as_of, stderr
from moodle_soc.cli.frameworks import FrameworkOption
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
from moodle_soc.safety import terminal_markup, terminal_safe

if TYPE_CHECKING:
    from collections.abc import Iterator

    from moodle_soc.api.scan import ScanProgress
    from moodle_soc.changes.drift import DriftSide
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.frameworks import FrameworkScore
    from moodle_soc.models.records import StoredRecord
    from moodle_soc.models.run import AuditRun
    from moodle_soc.settings_file import StagingSite


class OutputFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    html = "html"
    csv = "csv"  # the full population: every finding, one row each
    xlsx = "xlsx"


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"
    none = "none"


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[ScanProgress]:
    """A progress bar on stderr while the checks run (none with --quiet)."""
    if quiet:  # no bar: rich.progress is not even imported

        def ignore(done: int, total: int, check_id: str) -> None:
            return None

        yield ignore
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]Checking[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=stderr(),
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("", total=None)

        def advance(done: int, total: int, check_id: str) -> None:
            bar.update(task, completed=done + 1, total=total, description=check_id)

        yield advance


def _emit(
    run: AuditRun,
    fmt: OutputFormat,
    output: Path | None,
    verbose: bool,
    scores: tuple[FrameworkScore, ...] = (),
) -> None:
    if fmt is OutputFormat.terminal:
        from rich.console import Console

        from moodle_soc.cli.frameworks import print_scores
        from moodle_soc.reports.terminal import render_terminal

        if output is None:
            render_terminal(run, Console(), verbose=verbose)
            print_scores(Console(), scores)
            return
        try:
            with output.open("w", encoding="utf-8") as handle:
                console = Console(file=handle, width=120, no_color=True)
                render_terminal(run, console, verbose=verbose)
                print_scores(console, scores)
        except OSError as exc:
            raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
        return
    if fmt is OutputFormat.json:  # the HTML and terminal renderers stay unimported
        from moodle_soc.reports.json_report import write_json

        try:  # row by row: the findings never sit in memory as one document
            if output is None:
                write_json(run, sys.stdout, scores)
                return
            with output.open("w", encoding="utf-8") as handle:
                write_json(run, handle, scores)
        except OSError as exc:
            raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
        _wrote(fmt, output)
        return
    if fmt in (OutputFormat.csv, OutputFormat.xlsx):
        write_population(run, fmt, output)
        return
    from moodle_soc.reports import render

    document = render(run, "html", frameworks=scores)
    if output is None:
        sys.stdout.write(document)
        if not document.endswith("\n"):
            sys.stdout.write("\n")
        return
    try:
        output.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    _wrote(fmt, output)


def write_population(run: AuditRun, fmt: OutputFormat, output: Path | None) -> None:
    """Every finding of the run as CSV (to stdout without ``output``) or XLSX, streamed."""
    from moodle_soc.reports.population_table import write_csv, write_xlsx

    try:
        if fmt is OutputFormat.xlsx:
            if output is None:
                raise UsageError(_XLSX_NEEDS_OUTPUT)
            write_xlsx(run, output)
        elif output is None:
            write_csv(run, sys.stdout)
            return
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                write_csv(run, handle)
    except OSError as exc:
        raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    _wrote(fmt, output)


_XLSX_NEEDS_OUTPUT = "--format xlsx writes a workbook: name it with --output FILE.xlsx."


def _wrote(fmt: OutputFormat, output: Path) -> None:
    """typer.echo, not Rich: the one line a --quiet JSON scan prints need not import Rich."""
    where = typer.style(terminal_safe(output), bold=True)
    typer.echo(f"Wrote {fmt.value.upper()} report to {where}.", err=True)


def _exit_code(run: AuditRun, fail_on: FailOn) -> int:
    from moodle_soc.results import Severity

    if run.incomplete is not None:  # some tables could not be read: never a silent success
        return int(ExitCode.CANNOT_CONNECT)
    if fail_on is FailOn.none:
        return int(ExitCode.OK)
    worst = run.worst_failed_severity()
    threshold = Severity(fail_on.value)
    return int(ExitCode.FINDINGS) if worst and worst.rank >= threshold.rank else int(ExitCode.OK)


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
    approvals: Annotated[
        Path | None,
        typer.Option(help="Approved change tickets (CSV or JSON, docs/changes.md) to match."),
    ] = None,
    framework: FrameworkOption = None,
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Also probe the wwwroot from outside (read-only GET/HEAD, only to the"
            " wwwroot): public paths, dataroot, TLS, headers. Off by default.",
        ),
    ] = False,
) -> None:
    """Scan a Moodle site read-only, report every control's verdict, and store the run."""
    from moodle_soc.api.frameworks import load_frameworks, score_frameworks
    from moodle_soc.api.scan import judge_site
    from moodle_soc.settings_file import find_settings_file

    silent = quiet or nagios
    evidence = None
    if fmt is OutputFormat.xlsx and output is None and not nagios:
        fail(UsageError(_XLSX_NEEDS_OUTPUT))

    def stored(record: StoredRecord) -> None:
        if not silent:
            where = f" in {terminal_markup(evidence.display)}" if evidence is not None else ""
            stderr().print(f"Stored run as evidence record {record.seq} ({record.short}){where}.")

    try:
        frameworks = load_frameworks(framework or ())  # a bad file is refused before connecting
        settings_file = find_settings_file(settings)
        loaded_roster = None
        if roster is not None:
            from moodle_soc.inventory.roster import load_roster

            loaded_roster = load_roster(roster)
        from moodle_soc.api.scan import load_scan_inputs

        tickets, advisories = load_scan_inputs(approvals, None)
        with ExitStack() as opened:
            site = opened.enter_context(
                open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot)
            )
            if not no_store:
                evidence = opened.enter_context(
                    open_store(store, sign_key, create=True, configured=settings_file.store)
                )
            staging = _staging(settings_file.staging, evidence)
            progress = opened.enter_context(_progress_bar(silent))
            run = judge_site(
                site,
                policy=settings_file.policy,
                checks=check or (),
                roster=loaded_roster,
                store=evidence,
                progress=progress,
                on_stored=stored,
                approvals=tickets,
                staging=staging,
                advisories=advisories,
                probe=probe,
            )
        if nagios:
            from moodle_soc.reports.nagios import nagios_line

            line, code = nagios_line(run)
            typer.echo(line)
            raise typer.Exit(code)
        _emit(run, fmt, output, verbose, score_frameworks(run, frameworks))
    except MoodleSocError as error:
        if nagios:
            typer.echo(f"UNKNOWN: {terminal_safe(' '.join(error.message.split()))}")
            raise typer.Exit(3) from None
        fail(error)
    raise typer.Exit(_exit_code(run, fail_on))


def _staging(staging: StagingSite | None, store: EvidenceStore | None) -> DriftSide | None:
    """The staging site moodle-soc.yaml names (``staging:``), read once before the checks."""
    if staging is None:
        return None
    from moodle_soc.api.changes import read_environment

    return read_environment(
        config=Path(staging.config) if staging.config else None,
        db=staging.db,
        prefix=staging.prefix,
        label="staging",
        store=store,
    )


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
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print the full terminal report too.")
    ] = False,
) -> None:
    """Build the synthetic "Acme Academy" Moodle site, scan it, and write an HTML report.

    Prints a short summary and where the report is; --verbose prints the whole report."""
    import tempfile
    import time

    try:
        from moodle_soc.api.demo import build_demo_site, scan_demo_site

        audit_time = parse_as_of(as_of)
        with tempfile.TemporaryDirectory(prefix="moodle-soc-demo-") as tmp:
            path = site_db or Path(tmp) / "acme-academy.sqlite"
            began = time.perf_counter()
            with stderr().status("Building the synthetic Acme Academy site…"):
                demo_site = build_demo_site(path, users=users)
            kept = f" at {path}" if site_db is not None else ""
            stderr().print(
                f"Built the synthetic Acme Academy site ({users} users){kept} in"
                f" {time.perf_counter() - began:.1f} s."
            )
            with _progress_bar(False) as progress:
                run = scan_demo_site(demo_site, as_of=audit_time, progress=progress)
            if verbose:
                _emit(run, OutputFormat.terminal, None, verbose)
            _emit(run, OutputFormat.html, output, verbose)
            if not verbose:
                _demo_summary(run, output)
    except MoodleSocError as error:
        fail(error)


def _demo_summary(run: AuditRun, output: Path) -> None:
    """What a newcomer needs from the demo: how the site fared, its worst failures, and where
    the full report is (a dozen lines, not the whole terminal report)."""
    from moodle_soc.results import Status

    worst = sorted(
        (c for c in run.checks if c.status is Status.FAIL),
        key=lambda c: (-c.severity.rank, c.id),
    )
    by_severity: dict[str, int] = {}
    for check in worst:
        by_severity[check.severity.value] = by_severity.get(check.severity.value, 0) + 1
    failed = ", ".join(f"{n} {severity}" for severity, n in by_severity.items())
    manual = sum(1 for c in run.checks if c.status is Status.MANUAL)
    passed = sum(1 for c in run.checks if c.status is Status.PASS)
    # The rest, named only when present, so the counts always add up to the checks run.
    others = "".join(
        f", {n} {label}"
        for status, label in (
            (Status.ACCEPTED, "accepted"),
            (Status.ERROR, "could not run"),
            (Status.NOT_APPLICABLE, "not applicable"),
        )
        if (n := sum(1 for c in run.checks if c.status is status))
    )
    score = run.summary.overall_score
    lines = [
        f"{run.site.name} ({run.site.wwwroot or 'no wwwroot'}), Moodle {run.site.moodle_label},"
        f" audited {run.audit_time:%Y-%m-%d %H:%M} UTC:",
        f"  {len(run.checks)} checks: {len(worst)} failed"
        + (f" ({failed})" if failed else "")
        + f", {manual} need manual evidence, {passed} passed{others}.",
        f"  SOC 2 readiness {score:.1f}%." if score is not None else "  SOC 2 readiness: n/a.",
        "  Worst failures:",
    ]
    lines += [f"    {c.severity.value.upper():8} {c.id}: {c.title}" for c in worst[:5]]
    lines.append(f"Full report: {output} (or run 'moodle-soc demo --verbose').")
    for line in lines:
        typer.echo(terminal_safe(line))
