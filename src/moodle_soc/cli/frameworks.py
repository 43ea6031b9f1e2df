"""``moodle-soc frameworks list|show|validate`` and ``moodle-soc trust export``; and the one
``--framework`` option the scan and evidence commands share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moodle_soc.cli.common import check_format, fail, open_store, stderr, write_text
from moodle_soc.cli.options import SiteOption, StoreOption
from moodle_soc.errors import MoodleSocError, UsageError
from moodle_soc.safety import terminal_markup, terminal_safe

if TYPE_CHECKING:
    from rich.console import Console

    from moodle_soc.frameworks import Framework
    from moodle_soc.models.frameworks import FrameworkPeriod, FrameworkReadiness, FrameworkScore

FrameworkOption = Annotated[
    list[str] | None,
    typer.Option(
        "--framework",
        help="Report against this framework: soc2, soc1, iso27001, nist-800-53 or the path of"
        " your own framework file (repeatable; see 'moodle-soc frameworks list').",
    ),
]

frameworks_app = typer.Typer(
    help="Frameworks: SOC 2, SOC 1, ISO 27001, NIST 800-53 and your own files.",
    no_args_is_help=True,
)
trust_app = typer.Typer(help="The public trust page for a site's customers.", no_args_is_help=True)


def _coverage_row(framework: Framework) -> dict[str, object]:
    coverage = framework.coverage()
    return {
        "id": framework.id,
        "name": framework.name,
        "version": framework.version,
        "requirements": len(framework.criteria),
        "automated": coverage["automated"],
        "partly": coverage["partly"],
        "manual": coverage["manual"],
        "source": framework.source,
    }


@frameworks_app.command("list")
def frameworks_list(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """List the built-in frameworks with how many requirements checks cover."""
    from rich.console import Console
    from rich.table import Table

    from moodle_soc.api.frameworks import list_frameworks

    check_format(fmt, ("table", "json"))  # a UsageError ends through the root group
    rows = [_coverage_row(framework) for framework in list_frameworks()]
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(
        title="Built-in frameworks (add your own with --framework path/to/file.yaml)",
        caption="Automated: checks alone evidence the requirement; partly: checks and manual"
        " evidence; manual: only manual evidence can.",
        caption_justify="left",
    )
    for column in ("Id", "Name", "Version"):
        table.add_column(column)
    for column in ("Requirements", "Automated", "Partly", "Manual"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(terminal_markup(str(row[key])) for key in list(row)[:7]))
    Console().print(table)


@frameworks_app.command("show")
def frameworks_show(
    framework: Annotated[str, typer.Argument(help="A framework id or the path of a file.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Show a framework's requirements, the checks and manual evidence mapped to each."""
    from rich.console import Console

    from moodle_soc.api.frameworks import load_framework

    check_format(fmt, ("table", "json"))  # a UsageError ends through the root group
    try:
        loaded = load_framework(framework)
    except MoodleSocError as error:
        fail(error)
    if fmt == "json":
        document = {
            **_coverage_row(loaded),
            "categories": {k: c.model_dump(mode="json") for k, c in loaded.categories.items()},
            "requirements": [
                {**c.model_dump(mode="json"), "coverage": c.coverage} for c in loaded.criteria
            ],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    _print_framework(Console(), loaded)


def _print_framework(console: Console, framework: Framework) -> None:
    from rich.table import Table

    row = _coverage_row(framework)
    console.print(
        f"[bold]{terminal_markup(framework.name)}[/] ({terminal_markup(framework.version)})"
    )
    if framework.source:
        console.print(f"Source: {terminal_markup(framework.source)}")
    console.print(
        f"{row['requirements']} requirements: {row['automated']} automated,"
        f" {row['partly']} partly automated, {row['manual']} manual."
    )
    for key, category in framework.categories.items():
        criteria = [c for c in framework.criteria if c.category == key]
        table = Table(title=terminal_markup(f"{key} {category.name}"), title_justify="left")
        for column in ("Requirement", "Title", "Coverage", "Checks", "Manual evidence"):
            table.add_column(column, overflow="fold")
        for criterion in criteria:
            table.add_row(
                terminal_markup(criterion.id),
                terminal_markup(criterion.title),
                criterion.coverage,
                "\n".join(map(terminal_markup, criterion.checks)) or "-",
                "\n".join(map(terminal_markup, criterion.manual_evidence)) or "-",
            )
        console.print(table)


@frameworks_app.command("validate")
def frameworks_validate(
    path: Annotated[Path, typer.Argument(help="The framework file to check.")],
) -> None:
    """Check a framework file: its format, and that every check id it maps exists."""
    from moodle_soc.api.frameworks import validate_framework_file

    try:
        framework = validate_framework_file(path)
    except MoodleSocError as error:
        fail(error)
    row = _coverage_row(framework)
    typer.echo(
        terminal_safe(
            f"{path} is a valid framework file: {framework.id} ({framework.name}),"
            f" {row['requirements']} requirements: {row['automated']} automated,"
            f" {row['partly']} partly automated, {row['manual']} manual."
        )
    )


def print_scores(console: Console, scores: tuple[FrameworkScore, ...]) -> None:
    """Each framework's readiness table and its gap list, for the terminal."""
    from rich.table import Table
    from rich.text import Text

    for score in scores:
        coverage = score.coverage
        table = Table(
            title=Text(f"{score.name} ({score.version})", style="bold"),
            title_justify="left",
            caption=f"{sum(coverage.values())} requirements: {coverage['automated']} automated,"
            f" {coverage['partly']} partly automated, {coverage['manual']} manual. Scores weigh"
            " checks by severity (docs/severity.md).",
            caption_justify="left",
            show_footer=True,
        )
        table.add_column("Category", footer="Overall", overflow="fold")
        totals = {
            n: sum(getattr(r, n) for r in score.readiness)
            for n in ("criteria", "met", "gap", "accepted", "error", "manual", "not_applicable")
        }
        for name, header in (
            ("criteria", "Requirements"),
            ("met", "Met"),
            ("gap", "Gap"),
            ("accepted", "Accepted"),
            ("error", "Error"),
            ("manual", "Manual"),
            ("not_applicable", "N/A"),
        ):
            table.add_column(header, justify="right", footer=str(totals[name]))
        overall = "manual" if score.overall_score is None else f"{score.overall_score:.1f}%"
        table.add_column("Score", justify="right", footer=overall)
        for r in score.readiness:
            shown = "manual" if r.score is None else f"{r.score:.1f}%"
            counts = (r.criteria, r.met, r.gap, r.accepted, r.error, r.manual, r.not_applicable)
            table.add_row(Text(terminal_safe(f"{r.category} {r.name}")), *map(str, counts), shown)
        console.print(table)
        gaps = score.gaps()
        if gaps:
            console.print(Text(f"Gaps ({len(gaps)}):", style="bold"))
            for gap in gaps:
                line = f"  {gap.id} {gap.title}: {gap.state}, held back by"
                console.print(Text(terminal_safe(f"{line} {', '.join(gap.failing_checks)}.")))
        console.print()


def print_framework_periods(console: Console, views: tuple[FrameworkPeriod, ...]) -> None:
    """Each framework's requirements over a period: counts, then each exception."""
    from rich.text import Text

    for view in views:
        counts = view.counts
        console.print(
            Text(
                terminal_safe(
                    f"{view.name} ({view.version}): {len(view.requirements)} requirements,"
                    f" {counts['operated']} operated throughout, {counts['exception']} with an"
                    f" exception, {counts['incomplete']} without passing evidence every day,"
                    f" {counts['manual']} manual."
                ),
                style="bold",
            )
        )
        for r in view.requirements:
            if r.state == "exception":
                line = (
                    f"  {r.id} {r.title}: failed on {r.days_fail} day(s) from {r.first_failure},"
                    f" by {', '.join(r.exception_checks)}."
                )
                console.print(Text(terminal_safe(line)))
        console.print()


def print_framework_readiness(console: Any, views: tuple[FrameworkReadiness, ...]) -> None:
    """Each framework's readiness per category (``readiness --framework``)."""
    from rich.table import Table
    from rich.text import Text

    for view in views:
        overall = "n/a" if view.score is None else f"{view.score:.1f}%"
        table = Table(
            title=Text(terminal_safe(f"{view.name} ({view.version}): {overall}"), style="bold"),
            title_justify="left",
            caption="A requirement is met when its checks passed in the latest scan and its"
            " manual evidence is ready or due soon.",
            caption_justify="left",
        )
        table.add_column("Category", overflow="fold")
        for header in ("Requirements", "Met", "Not met", "N/A", "Score"):
            table.add_column(header, justify="right")
        for c in view.categories:
            score = "n/a" if c.score is None else f"{c.score:.1f}%"
            counts = (c.criteria, c.met, c.not_met, c.not_applicable)
            table.add_row(Text(terminal_safe(f"{c.category} {c.name}")), *map(str, counts), score)
        console.print(table)


@trust_app.command("export")
def trust_export(
    contact: Annotated[
        str,
        typer.Option(help="Where customers request the full report: an https:// URL or an email."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the HTML page.")],
    framework: FrameworkOption = None,
    period: Annotated[
        list[str] | None,
        typer.Option(
            help="A report period to list, FROM..TO (repeatable), e.g. 2026-01-01..2026-12-31;"
            " default the audit period of the readiness scope ('moodle-soc readiness scope')."
        ),
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="One sentence on what is in scope (default: the site).")
    ] = None,
    site: SiteOption = None,
    store: StoreOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write the site's public trust page (static HTML): frameworks, the state of their
    requirements in counts, report periods, the last scan date. No finding is ever shown."""
    from moodle_soc.api.evidence import parse_period
    from moodle_soc.api.frameworks import latest_run, render_trust_page

    try:
        if output.exists() and not force:
            raise UsageError(f"{output} already exists; use --force to replace it.")
        periods = [parse_period(text) for text in period or ()]
        with open_store(store) as evidence:
            run = latest_run(evidence, site)
            if not periods:  # the audit period the readiness scope decided, if any
                from moodle_soc.api.readiness import readiness_scope

                decided = readiness_scope(evidence, site=site)
                if decided is not None:
                    periods = [(decided.answers.period_start, decided.answers.period_end)]
        page = render_trust_page(
            run, contact=contact, frameworks=framework or ["soc2"], periods=periods, scope=scope
        )
        write_text(output, page)
    except MoodleSocError as error:
        fail(error)
    stderr().print(
        f"Wrote the trust page of {terminal_markup(run.site.name)} (last scan"
        f" {run.audit_time.date()}) to [bold]{terminal_markup(output)}[/]."
    )
