"""``moodle-soc period report`` and ``moodle-soc evidence populations|sample``: Type II evidence.

Register with ``app.add_typer(period_app, name="period")``,
``evidence_app.command("populations")(populations_command)`` and
``evidence_app.command("sample")(sample_command)``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moodle_soc.cli.common import (
    check_format,
    fail,
    max_recording_delay,
    open_store,
    required_period,
)
from moodle_soc.cli.frameworks import FrameworkOption, print_framework_periods
from moodle_soc.cli.options import (
    AskPasswordOption,
    AsOfOption,
    ConfigOption,
    DbOption,
    FromDayOption,
    PeriodOption,
    PrefixOption,
    SettingsOption,
    SignKeyOption,
    SiteOption,
    StoreOption,
    ToDayOption,
    WwwrootOption,
)
from moodle_soc.errors import BadInputError, MoodleSocError
from moodle_soc.safety import neutralize_formula, terminal_markup

if TYPE_CHECKING:
    from datetime import date

    from rich.console import Console

    from moodle_soc.evidence.periods.populations import Population
    from moodle_soc.models.period import DayCell, PeriodReport
    from moodle_soc.models.records import StoredRecord
    from moodle_soc.site.moodle import MoodleSite

period_app = typer.Typer(help="SOC 2 Type II periods: did each control operate throughout?")
_LETTER = {
    "pass": "[green]P[/]",
    "fail": "[bold red]F[/]",
    "unknown": "[dim]?[/]",
    "reconstructed": "[yellow]r[/]",
}


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None


@period_app.command("report")
def report(
    period: PeriodOption = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="terminal, json or html.")
    ] = "terminal",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    site: SiteOption = None,
    store: StoreOption = None,
    settings: SettingsOption = None,
    from_: FromDayOption = None,
    to: ToDayOption = None,
    framework: FrameworkOption = None,
) -> None:
    """For every control: passing, failing and unknown days, first failure, fix date, gaps.

    Only runs recorded within the policy's max_recording_delay_hours of their audit time
    count as monitored days; later ones (backdated --as-of scans) are shown as reconstructed.
    """
    from moodle_soc.api.evidence import period_report
    from moodle_soc.api.frameworks import load_frameworks, period_frameworks
    from moodle_soc.reports.period import render_period_html

    try:
        check_format(fmt, ("terminal", "json", "html"))
        start, end = required_period(period, from_, to)
        delay = max_recording_delay(settings)
        frameworks = load_frameworks(framework or ())
        with open_store(store, settings=settings) as evidence:
            result = period_report(
                evidence, site=site, start=start, end=end, max_recording_delay_hours=delay
            )
        views = period_frameworks(result, frameworks)
    except MoodleSocError as error:
        fail(error)
    try:
        if fmt == "html":
            _write(render_period_html(result, views), output)
            return
        if fmt == "json":
            if not views:
                _write(result.model_dump_json(indent=2), output)
                return
            document = result.model_dump(mode="json")
            document["frameworks"] = [view.model_dump(mode="json") for view in views]
            _write(json.dumps(document, indent=2, ensure_ascii=False), output)
            return
        from rich.console import Console

        if output is None:
            render_period_terminal(result, Console())
            print_framework_periods(Console(), views)
            return
        with output.open("w", encoding="utf-8") as handle:
            console = Console(file=handle, width=120, no_color=True)
            render_period_terminal(result, console)
            print_framework_periods(console, views)
    except OSError as exc:
        fail(BadInputError(f"Cannot write {output}: {exc.strerror or exc}."))
    except MoodleSocError as error:
        fail(error)


def render_period_terminal(report: PeriodReport, console: Console) -> None:
    """The period report for a terminal: summary, gaps, exceptions, one line per control."""
    from rich.table import Table

    exceptions = [c for c in report.controls if c.exception]
    throughout = sum(1 for c in report.controls if c.operated_throughout)
    console.print(
        f"[bold]{terminal_markup(report.site_name)}[/]: {report.start} to {report.end}"
        f" ({report.days} days)"
        f" · {report.days_scanned} days monitored live · {len(report.runs)} runs · {throughout}"
        f" of {len(report.controls)} controls operated throughout"
        f" · {len(exceptions)} exception(s)."
    )
    gaps = "; ".join(f"{g.start} to {g.end} ({g.days} d)" for g in report.monitoring_gaps)
    console.print(f"Monitoring gaps (days with no live scan): {gaps or 'none'}.")
    if report.reconstructed_runs:
        late = ", ".join(
            f"#{r.seq} ({r.day}, recorded {r.recorded_at:%Y-%m-%d %H:%M}Z)"
            if r.recorded_at
            else f"#{r.seq} ({r.day})"
            for r in report.reconstructed_runs
        )
        console.print(
            f"[yellow]Reconstructed[/], not counted as monitoring (recorded more than"
            f" {report.max_recording_delay_hours} h after their audit time): {late}."
        )
    if exceptions:
        table = Table(title="Exceptions: controls that failed on at least one day")
        for column in ("Control", "Severity", "First failure", "Fixed on", "Failed days"):
            table.add_column(column)
        for c in exceptions:
            ranges = c.exception_ranges
            days = "; ".join(f"{r.start}..{r.end}" if r.days > 1 else f"{r.start}" for r in ranges)
            fixed = str(c.fixed_on) if c.fixed_on else "[bold red]still failing[/]"
            table.add_row(
                terminal_markup(c.check_id), c.severity, str(c.first_failure), fixed, days
            )
        console.print(table)
    legend = "P pass, F fail, ? unknown" + (
        ", r reconstructed only" if report.reconstructed_runs else ""
    )
    table = Table(title=f"Controls ({legend})")
    for column in ("Control", "Pass", "Fail", "Unknown", "Timeline"):
        table.add_column(column)
    for c in report.controls:
        cells = [_LETTER[_shown(cell)] for cell in c.timeline]
        timeline = "".join(cells) if len(cells) <= 62 else _compressed(c.timeline)
        table.add_row(
            terminal_markup(c.check_id),
            str(c.days_pass),
            str(c.days_fail),
            str(c.days_unknown),
            timeline,
        )
    console.print(table)


def _shown(cell: DayCell) -> str:
    """A day's letter: its live status, or ``r`` when only reconstructed runs covered it."""
    if cell.status == "unknown" and cell.runs == 0 and cell.reconstructed_runs:
        return "reconstructed"
    return cell.status


def _compressed(timeline: list[DayCell]) -> str:
    """Long timelines as runs: ``P×40 F×2 P×48``."""
    runs = groupby(_shown(cell) for cell in timeline)
    return " ".join(f"{_LETTER[status]}×{len(list(cells))}" for status, cells in runs)


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (Moodle data is untrusted)."""
    text = "" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
    return neutralize_formula(text)


# --- moodle-soc evidence populations -----------------------------------------------------------


def populations_command(
    period: PeriodOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    wwwroot: WwwrootOption = None,
    ask_password: AskPasswordOption = False,
    as_of: AsOfOption = None,
    population: Annotated[
        list[str] | None, typer.Option("--population", "-p", help="Only this one (repeatable).")
    ] = None,
    burst_threshold: Annotated[
        int, typer.Option(min=2, help="Failed logins per username, IP and hour that make a burst.")
    ] = 5,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not store as evidence.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write <name>.csv/.json/.jsonl here.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    from_: FromDayOption = None,
    to: ToDayOption = None,
) -> None:
    """Build the period's complete populations from the live site (read-only) and store them."""
    from moodle_soc.cli.common import open_site, parse_as_of
    from moodle_soc.evidence.periods.populations import POPULATIONS, store_population
    from moodle_soc.evidence.store.runs import site_ref_for_site

    try:
        check_format(fmt, ("table", "json", "csv"))
        start, end = required_period(period, from_, to)
        names = population or list(POPULATIONS)
        for name in names:
            check_format(name, tuple(POPULATIONS), "--population")
        with open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot) as site:
            built = _build(site, names, (start, end), burst_threshold, quiet)
            ref = site_ref_for_site(site)
        records: list[StoredRecord | None] = [None] * len(built)
        if not no_store:
            with open_store(store, sign_key, create=True) as evidence:
                records = [store_population(evidence, ref, pop) for pop in built]
    except MoodleSocError as error:
        fail(error)
    summary = []
    for pop, record in zip(built, records, strict=True):
        row = {"name": pop.name, "rows": pop.row_count, "sha256": pop.sha256}
        row["record_seq"] = record.seq if record else None
        row["record_hash"] = record.record_hash if record else None
        row["files"] = _write_population(pop, output) if output else []
        summary.append(row)
    _print_summary(summary, fmt, "Populations", ("name", "rows", "sha256", "record_seq"))


def _build(
    site: MoodleSite, names: list[str], period: tuple[date, date], threshold: int, quiet: bool
) -> list[Population]:
    """Each population in turn, with a spinner and a row count on stderr."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from moodle_soc.evidence.periods.populations import build_population

    columns = (SpinnerColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=_stderr(), transient=True, disable=quiet) as bar:
        task = bar.add_task("")

        def advance(name: str, rows: int) -> None:
            bar.update(task, description=f"Population {name}: {rows:,} rows read")

        built = []
        for name in names:
            advance(name, 0)
            built.append(
                build_population(site, name, *period, burst_threshold=threshold, progress=advance)
            )
        return built


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _write_population(pop: Population, directory: Path) -> list[str]:
    """<name>.jsonl (canonical: its ``sha256sum`` is the population's hash), .json and .csv."""
    from moodle_soc.evidence.store.canonical import canonical_bytes

    directory.mkdir(parents=True, exist_ok=True)
    jsonl, full, table = (directory / f"{pop.name}.{ext}" for ext in ("jsonl", "json", "csv"))
    jsonl.write_bytes(b"".join(canonical_bytes(row) + b"\n" for row in pop.rows))
    full.write_text(pop.model_dump_json(indent=2) + "\n", encoding="utf-8")
    table.write_text(_csv(pop.columns, pop.rows), encoding="utf-8")
    return [str(path) for path in (jsonl, full, table)]


def _print_summary(
    rows: list[dict[str, Any]], fmt: str, title: str, shown: tuple[str, ...]
) -> None:
    if fmt == "json":
        _write(json.dumps(rows, indent=2, ensure_ascii=False), None)
    elif fmt == "csv":
        _write(_csv(list(shown), rows), None)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for column in shown:
            table.add_column(column)
        for row in rows:
            table.add_row(
                *(terminal_markup("" if row.get(c) is None else row.get(c)) for c in shown)
            )
        Console().print(table)


# --- moodle-soc evidence sample ----------------------------------------------------------------


def sample_command(
    population_record: Annotated[str, typer.Argument(help="Population record number or hash.")],
    frequency: Annotated[
        str, typer.Option(help="annual, quarterly, monthly, weekly, daily or many-times-daily.")
    ],
    seed: Annotated[int | None, typer.Option(help="Seed (default: a new random one).")] = None,
    size: Annotated[int | None, typer.Option(min=1, help="Override the sample size.")] = None,
    store: StoreOption = None,
    sign_key: SignKeyOption = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not store the sample.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Draw a reproducible sample from a stored population; the seed is recorded."""
    from moodle_soc.evidence.periods.populations import POPULATION_KINDS, Population
    from moodle_soc.evidence.periods.sampling import draw_sample, store_sample
    from moodle_soc.evidence.store.store import StoreError

    try:
        check_format(fmt, ("table", "json", "csv"))
        with open_store(store, sign_key) as evidence:
            record = evidence.get(population_record)
            payload = evidence.payload(record)
            if record.kind not in POPULATION_KINDS or payload is None:
                raise StoreError(f"Record {record.seq} is not a population with its rows.")
            pop = Population.model_validate(payload)
            sample = draw_sample(pop.rows, frequency=frequency, seed=seed, size=size)
            stored = None if no_store else store_sample(evidence, record, sample)
    except MoodleSocError as error:
        fail(error)
    rows = [{"index": i, **row} for i, row in zip(sample.indices, sample.rows, strict=True)]
    where = f"record {stored.seq} ({stored.short})" if stored else "not stored"
    if fmt == "json":
        body = {"record": stored.seq if stored else None, **sample.model_dump(mode="json")}
        _write(json.dumps(body, indent=2, ensure_ascii=False), None)
        return
    _stderr().print(
        f"{pop.name}: {sample.size} of {sample.population_size} rows, seed {sample.seed}"
        f" ({sample.size_rule}); {where}."
    )
    _print_summary(rows, fmt, f"Sample of {pop.name}", ("index", *pop.columns))
