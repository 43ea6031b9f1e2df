"""``moodle-soc changes`` (the change population of a period, matched to approvals) and
``moodle-soc drift`` (two environments compared). Parsing and rendering only; the workflows
are ``moodle_soc.api.changes``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moodle_soc.cli.common import fail, open_site, open_store, parse_as_of, stderr, write_text
from moodle_soc.cli.options import (
    AskPasswordOption,
    AsOfOption,
    ConfigOption,
    DbOption,
    PrefixOption,
    SettingsOption,
    SignKeyOption,
    StoreOption,
    WwwrootOption,
)
from moodle_soc.errors import BadInputError, MoodleSocError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from moodle_soc.api.changes import ChangeReport
    from moodle_soc.changes.drift import Drift


class ChangesFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    html = "html"


class DriftFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    html = "html"


OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here (default stdout).")
]


def emit(document: str | bytes, output: Path | None, what: str) -> None:
    """Write a document to ``output`` (a workbook needs one) or stdout."""
    if isinstance(document, bytes):
        if output is None:
            raise UsageError("An Excel workbook needs --output FILE.xlsx.")
        try:
            output.write_bytes(document)
        except OSError as exc:
            raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    elif output is None:
        sys.stdout.write(document if document.endswith("\n") else document + "\n")
        return
    else:
        write_text(output, document)
    stderr().print(f"Wrote {what} to [bold]{output}[/].")


def changes_command(
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    ask_password: AskPasswordOption = False,
    wwwroot: WwwrootOption = None,
    as_of: AsOfOption = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="FROM..TO in UTC days, e.g. 2026-01-01..2026-12-31 (default: the policy's"
            " change_review_days up to the audit day).",
        ),
    ] = None,
    approvals: Annotated[
        Path | None,
        typer.Option(help="Approved tickets (CSV or JSON; see docs/changes.md) to match."),
    ] = None,
    fmt: Annotated[
        ChangesFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ChangesFormat.terminal,
    output: OutputOption = None,
    settings: SettingsOption = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Neither read stored scans nor store the result.")
    ] = False,
) -> None:
    """The period's changes, who made them and their approval; stored as evidence.

    Settings, plugins, core, config.php and role definitions (docs/changes.md)."""
    from contextlib import ExitStack
    from datetime import timedelta

    from moodle_soc.api.changes import change_population
    from moodle_soc.api.evidence import parse_period
    from moodle_soc.changes.approvals import load_approvals
    from moodle_soc.settings_file import find_settings_file

    try:
        found = find_settings_file(settings)
        span = parse_period(period) if period else None
        tickets = load_approvals(approvals) if approvals is not None else None
        with ExitStack() as opened:
            site = opened.enter_context(
                open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot)
            )
            evidence = None
            if not no_store:
                evidence = opened.enter_context(
                    open_store(store, sign_key, create=True, configured=found.store)
                )
            if span is None:
                end = site.audit_time.date()
                span = (end - timedelta(days=found.policy.change_review_days), end)
            report = change_population(
                site, *span, approvals=tickets, store=evidence, keep=not no_store
            )
        if report.record is not None:
            stderr().print(
                f"Stored the change population as evidence record {report.record.seq}"
                f" ({report.record.short})."
            )
        _emit_changes(report, fmt, output)
    except MoodleSocError as error:
        fail(error)


def _emit_changes(report: ChangeReport, fmt: ChangesFormat, output: Path | None) -> None:
    from moodle_soc.evidence.package.tables import Table, cell, csv_bytes, xlsx_bytes
    from moodle_soc.reports.changes import render_changes_html

    population = report.population
    if fmt is ChangesFormat.terminal and output is None:
        from rich.console import Console

        _changes_terminal(report, Console())
        return
    table = Table(
        "changes",
        tuple(population.columns),
        [[cell(row.get(c)) for c in population.columns] for row in population.rows],
    )
    renderers: dict[ChangesFormat, Any] = {
        ChangesFormat.json: lambda: population.model_dump_json(indent=2) + "\n",
        ChangesFormat.csv: lambda: csv_bytes(table).decode(),
        ChangesFormat.xlsx: lambda: xlsx_bytes([table], population.audit_time),
        ChangesFormat.html: lambda: render_changes_html(report.changes, sha256=population.sha256),
        ChangesFormat.terminal: lambda: _terminal_text(lambda c: _changes_terminal(report, c)),
    }
    emit(renderers[fmt](), output, f"the change population ({fmt.value})")


def _terminal_text(draw: Any) -> str:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    draw(Console(file=buffer, width=160, no_color=True))
    return buffer.getvalue()


def _changes_terminal(report: ChangeReport, console: Console) -> None:
    from rich.table import Table

    from moodle_soc.safety import terminal_markup

    changes = report.changes
    table = Table(
        title=f"Changes to {terminal_markup(changes.site)}, {changes.start} to {changes.end}"
    )
    for column in ("at (UTC)", "kind", "what", "old → new", "by", "approval"):
        table.add_column(column, overflow="fold")
    for c in changes.changes:
        what = c.name if c.component == "core" else f"{c.component}/{c.name}"
        if c.kind == "role":
            what = f"{what}: {c.detail}"
        when = f"{c.at:%Y-%m-%d %H:%M}"
        if c.at_from is not None:
            when = f"{c.at_from:%Y-%m-%d %H:%M}..{when}"
        approval = f"{c.approval} {c.ticket or ''}".strip() if c.approval else ""
        who = c.by_username or ("system" if c.by_id == 0 else "unknown")
        values = (when, c.kind, what, f"{c.old} → {c.new}", who, approval)
        style = "red" if c.approval not in (None, "approved") else None
        table.add_row(*(terminal_markup("" if v is None else str(v)) for v in values), style=style)
    console.print(table)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(changes.counts().items()))
    console.print(f"{len(changes.changes)} change(s); {terminal_markup(counts) or 'none'}.")
    for note in changes.notes:
        console.print(f"[dim]Note: {terminal_markup(note)}[/]")


def _side_options(value: str, prefix: str | None) -> dict[str, Any]:
    """``--from``/``--to``: a database URL (has ``://``) or a config.php path."""
    if "://" in value:
        return {"db": value, "prefix": prefix}
    return {"config": Path(value), "prefix": prefix}


def drift_command(
    source: Annotated[str, typer.Option("--from", help="Staging: its config.php or database URL.")],
    target: Annotated[
        str, typer.Option("--to", help="Production: its config.php or database URL.")
    ],
    from_prefix: Annotated[str | None, typer.Option(help="Table prefix of --from.")] = None,
    to_prefix: Annotated[str | None, typer.Option(help="Table prefix of --to.")] = None,
    fmt: Annotated[
        DriftFormat, typer.Option("--format", "-f", help="Output format.")
    ] = DriftFormat.terminal,
    output: OutputOption = None,
    store: Annotated[
        str | None,
        typer.Option(help="Evidence store whose scans of --from count as versions it ran."),
    ] = None,
) -> None:
    """Compare two environments; flag production versions staging never ran."""
    from moodle_soc.api.changes import drift, read_environment

    try:
        evidence = open_store(store) if store is not None else None
        try:
            before = read_environment(**_side_options(source, from_prefix), store=evidence)
            after = read_environment(**_side_options(target, to_prefix))
        finally:
            if evidence is not None:
                evidence.close()
        found = drift(before, after)
        _emit_drift(found, fmt, output)
    except MoodleSocError as error:
        fail(error)


def _emit_drift(found: Drift, fmt: DriftFormat, output: Path | None) -> None:
    from moodle_soc.reports.changes import drift_rows, render_drift_html

    if fmt is DriftFormat.terminal and output is None:
        from rich.console import Console

        _drift_terminal(found, Console())
        return
    document = {
        DriftFormat.json: lambda: json.dumps(
            {
                "from": found.from_label,
                "to": found.to_label,
                "flagged": len(found.flagged),
                "ignored_settings": found.ignored_settings,
                "items": drift_rows(found),
            },
            indent=2,
            ensure_ascii=False,
        ),
        DriftFormat.html: lambda: render_drift_html(found),
        DriftFormat.terminal: lambda: _terminal_text(lambda c: _drift_terminal(found, c)),
    }[fmt]()
    emit(document, output, f"the drift report ({fmt.value})")


def _drift_terminal(found: Drift, console: Console) -> None:
    from rich.table import Table

    from moodle_soc.safety import terminal_markup

    table = Table(
        title=f"Drift {terminal_markup(found.from_label)} → {terminal_markup(found.to_label)}"
    )
    for column in ("area", "key", "status", "from", "to", "flagged"):
        table.add_column(column, overflow="fold")
    for item in found.items:
        style = "bold red" if item.flagged else None
        values = (item.area, item.key, item.status, item.from_value, item.to_value, item.flagged)
        table.add_row(*(terminal_markup("" if v is None else str(v)) for v in values), style=style)
    console.print(table)
    console.print(
        f"{len(found.items)} difference(s), {len(found.flagged)} flagged (a version"
        f" {terminal_markup(found.to_label)} runs that"
        f" {terminal_markup(found.from_label)} never ran);"
        f" {found.ignored_settings} instance-specific setting(s) left out."
    )
