"""``moodle-soc logs``: the audit-log review of a period. Parsing and rendering only; the
workflow is ``moodle_soc.api.logs``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moodle_soc.cli.common import fail, open_site, open_store, parse_as_of, stderr
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
from moodle_soc.errors import MoodleSocError
from moodle_soc.safety import terminal_markup

if TYPE_CHECKING:
    from rich.console import Console

    from moodle_soc.models.logs import LogReview


class LogsFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    html = "html"
    csv = "csv"
    xlsx = "xlsx"


PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="FROM..TO in UTC days, inclusive, e.g. 2026-01-01..2026-12-31 (default: the"
        " policy's log_review_days up to the audit day).",
    ),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here (default stdout).")
]

logs_app = typer.Typer(
    help="Audit-log review: security events of a period, from the standard log (docs/logs.md).",
    no_args_is_help=False,
    invoke_without_command=True,
)


@logs_app.callback(invoke_without_command=True)
def logs_command(
    ctx: typer.Context,
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    ask_password: AskPasswordOption = False,
    wwwroot: WwwrootOption = None,
    as_of: AsOfOption = None,
    period: PeriodOption = None,
    fmt: Annotated[
        LogsFormat, typer.Option("--format", "-f", help="Output format.")
    ] = LogsFormat.terminal,
    output: OutputOption = None,
    settings: SettingsOption = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Keep the cursor in the evidence store (--store, or the default as for"
            " scan): a re-run of the same site and period reads only the rows added since.",
        ),
    ] = False,
    store: StoreOption = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Read the whole period, not from the kept cursor."),
    ] = False,
    verify_cursor: Annotated[
        bool,
        typer.Option(
            "--verify-cursor/--no-verify-cursor",
            help="Count the ids the kept cursor covered again, to notice rows deleted below"
            " it (on by default; --no-verify-cursor skips that count).",
        ),
    ] = True,
    sign_key: SignKeyOption = None,
    cursor: Annotated[
        Path | None,
        typer.Option(
            "--cursor",
            help="Deprecated: keep the cursor in this local JSON file (use --incremental).",
        ),
    ] = None,
) -> None:
    """Logins, failed logins by reason, bursts, spraying, administrative actions and the log's
    integrity for a period (read-only on the site; --incremental or --store keeps a cursor
    in the evidence store)."""
    if ctx.invoked_subcommand is not None:
        return
    from contextlib import ExitStack

    from moodle_soc.api.evidence import parse_period
    from moodle_soc.api.logs import incremental_log_review, log_review
    from moodle_soc.errors import UsageError
    from moodle_soc.settings_file import find_settings_file

    try:
        keep = incremental or store is not None
        if cursor is not None and keep:
            raise UsageError("--cursor FILE and --incremental/--store: choose one.")
        if full and not keep:
            raise UsageError("--full goes with --incremental or --store.")
        if not verify_cursor and not keep:
            raise UsageError("--no-verify-cursor goes with --incremental or --store.")
        if cursor is not None:
            stderr().print(
                "Note: --cursor FILE is deprecated; --incremental keeps the cursor in the"
                " evidence store."
            )
        found = find_settings_file(settings)
        span = parse_period(period) if period else (None, None)
        with ExitStack() as opened:
            site = opened.enter_context(
                open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot)
            )
            if not keep:
                review = log_review(site, *span, policy=found.policy, cursor=cursor)
            else:
                evidence = opened.enter_context(
                    open_store(store, sign_key, create=True, configured=found.store)
                )
                done = incremental_log_review(
                    site, *span, store=evidence, policy=found.policy, full=full,
                    verify=verify_cursor,
                )  # fmt: skip
                review = done.review
                for note in done.notes:
                    stderr().print(f"Note: {terminal_markup(note)}")
                stderr().print(
                    f"Kept the log cursor as evidence record {done.record.seq}"
                    f" ({done.record.short}): {done.rows_read} log rows grouped by this run."
                )
        emit_review(review, fmt, output)
    except MoodleSocError as error:
        fail(error)


@logs_app.command("review")
def review_command(
    reviewer: Annotated[str, typer.Option(help="Who reviewed the log (name or e-mail).")],
    statement: Annotated[
        str,
        typer.Option(
            "--sign-off",
            help="The reviewer's statement, e.g. 'Reviewed; bursts traced to ticket SEC-12.'",
        ),
    ],
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    ask_password: AskPasswordOption = False,
    wwwroot: WwwrootOption = None,
    as_of: AsOfOption = None,
    period: PeriodOption = None,
    fmt: Annotated[
        LogsFormat, typer.Option("--format", "-f", help="Also write the signed-off review.")
    ] = LogsFormat.terminal,
    output: OutputOption = None,
    settings: SettingsOption = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
) -> None:
    """Sign off the period's log review: the review, its SHA-256 and figures stored as evidence
    (the period report and export package show which days were reviewed, by whom, when)."""
    from contextlib import ExitStack

    from moodle_soc.api.evidence import parse_period
    from moodle_soc.api.logs import sign_off_log_review
    from moodle_soc.settings_file import find_settings_file

    try:
        found = find_settings_file(settings)
        span = parse_period(period) if period else (None, None)
        with ExitStack() as opened:
            site = opened.enter_context(
                open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot)
            )
            evidence = opened.enter_context(
                open_store(store, sign_key, create=True, configured=found.store)
            )
            signed = sign_off_log_review(
                site, *span, reviewer=reviewer, statement=statement, store=evidence,
                policy=found.policy,
            )  # fmt: skip
        period_text = f"{signed.signed.period.start} to {signed.signed.period.end}"
        stderr().print(
            f"Stored the log review of {period_text}, signed off by"
            f" {terminal_markup(signed.signed.reviewer)}, as evidence record"
            f" {signed.record.seq} ({signed.record.short}); review SHA-256"
            f" {signed.signed.review_sha256}."
        )
        emit_review(signed.review, fmt, output)
    except MoodleSocError as error:
        fail(error)


def emit_review(review: LogReview, fmt: LogsFormat, output: Path | None) -> None:
    from moodle_soc.cli.changes import _terminal_text, emit
    from moodle_soc.evidence.package.tables import Table, cell, csv_bytes, xlsx_bytes
    from moodle_soc.reports.logs import ITEM_COLUMNS, daily_rows, render_logs_html, review_items

    if fmt is LogsFormat.terminal and output is None:
        from rich.console import Console

        _terminal(review, Console())
        return
    items = Table("Items to review", ITEM_COLUMNS, [[cell(_plain(v)) for v in row]
                                                    for row in review_items(review)])  # fmt: skip
    columns, daily = daily_rows(review)
    series = Table("Daily series", columns, [[cell(v) for v in row] for row in daily])
    renderers: dict[LogsFormat, Any] = {
        LogsFormat.json: lambda: json.dumps(review.document(), indent=2, ensure_ascii=False),
        LogsFormat.csv: lambda: csv_bytes(items).decode(),
        LogsFormat.xlsx: lambda: xlsx_bytes([items, series], review.audit_time),
        LogsFormat.html: lambda: render_logs_html(review),
        LogsFormat.terminal: lambda: _terminal_text(lambda c: _terminal(review, c)),
    }
    emit(renderers[fmt](), output, f"the log review ({fmt.value})")


def _plain(value: Any) -> Any:
    from moodle_soc.reports.changes import text

    return value if value is None or isinstance(value, (int, str)) else text(value)


def _terminal(review: LogReview, console: Console) -> None:
    from rich.table import Table

    from moodle_soc.reports.changes import text
    from moodle_soc.reports.logs import ITEM_COLUMNS, review_items, summary_facts
    from moodle_soc.safety import terminal_markup

    facts = Table(
        title=f"Log review of {terminal_markup(review.site)}, {review.period.start} to"
        f" {review.period.end}",
        show_header=False,
    )
    facts.add_column("fact")
    facts.add_column("value", overflow="fold")
    for label, value in summary_facts(review):
        facts.add_row(label, terminal_markup(value))
    console.print(facts)
    rows = review_items(review)
    if rows:
        table = Table(title="Items to review")
        for column in ITEM_COLUMNS[:-1]:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(terminal_markup(text(v)) for v in row[:-1]))
        console.print(table)
    else:
        console.print("Nothing to review in the period.")
    for note in review.notes:
        console.print(f"[dim]Note: {terminal_markup(note)}[/]")
