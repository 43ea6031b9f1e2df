"""The terminal report: what an administrator reads right after a scan, failures first.

Everything from Moodle is printed through ``Text`` objects (never parsed as Rich markup) after
``safety.terminal_safe``, so a username like ``[bold]x[/]`` or one carrying an escape
sequence prints literally and cannot restyle or take over the terminal.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from moodle_soc.checks.scoring import FORMULA
from moodle_soc.models.run import AuditRun, CategoryReadiness, Finding, Incomplete
from moodle_soc.reports.summaries import (
    EXAMPLE_LIMIT,
    Listed,
    examples_by_check,
    failing_checks,
)
from moodle_soc.results import Severity, Status
from moodle_soc.safety import terminal_safe

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "bold yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
STATUS_STYLE = {
    Status.FAIL: "bold red",
    Status.ERROR: "bold magenta",
    Status.ACCEPTED: "bold yellow",
    Status.MANUAL: "bold blue",
    Status.PASS: "green",
    Status.NOT_APPLICABLE: "dim",
}
STATUS_LABEL = {
    Status.FAIL: "failed",
    Status.ERROR: "error",
    Status.ACCEPTED: "accepted",
    Status.MANUAL: "manual",
    Status.PASS: "passed",
    Status.NOT_APPLICABLE: "not applicable",
}


def render_terminal(run: AuditRun, console: Console, *, verbose: bool = False) -> None:
    """Print the run: header, readiness, counts, failures (worst first), errors, then the rest.

    Passes, manual and not-applicable findings are listed only when ``verbose`` is set. Every
    list is made of the checks' examples and counts (``CheckSummary.examples``, ``by_status``),
    so the report costs the same for ten findings or ten million.
    """
    console.print(_header(run))
    if run.incomplete is not None:
        console.print(_incomplete(run.incomplete))
    console.print(_readiness(run))
    console.print()
    console.print(_counts(run))
    console.print()
    examples = examples_by_check(run)
    failing = failing_checks(run, examples)
    if failing:
        total = sum(c.count for c in failing)
        _section(
            console,
            f"Failures: fix these first ({len(failing)} checks, {total} findings)",
            "red",
        )
        for check in failing:
            console.print(_check_block(check.shown, check.count))
    else:
        console.print(Text("No failed findings.", style="bold green"))
    errors = Listed.of(run, examples, Status.ERROR)
    if errors.total:
        _section(console, f"Could not run ({errors.total})", "magenta")
        for item in errors.shown:
            console.print(_finding_block(item, show_fix=False))
        _count_rest(console, errors)
    accepted = Listed.of(run, examples, Status.ACCEPTED)
    if accepted.total:
        _section(
            console, f"Accepted risks: failing, under an exception ({accepted.total})", "yellow"
        )
        for item in accepted.shown:
            console.print(_finding_block(item, show_fix=True))
        _count_rest(console, accepted)
    hidden = [
        Listed.of(run, examples, s) for s in (Status.MANUAL, Status.PASS, Status.NOT_APPLICABLE)
    ]
    if verbose:
        titles = {
            Status.MANUAL: "Manual evidence needed",
            Status.PASS: "Passed",
            Status.NOT_APPLICABLE: "Not applicable",
        }
        for listed in hidden:
            if listed.total:
                _section(console, f"{titles[listed.status]} ({listed.total})", "dim")
                console.print(_compact_list(listed))
    else:
        counts = [
            f"{listed.total} {STATUS_LABEL[listed.status]}" for listed in hidden if listed.total
        ]
        if counts:
            console.print()
            console.print(
                Text(f"Not listed: {', '.join(counts)}. Use --verbose to list them.", style="dim")
            )


def _header(run: AuditRun) -> RenderableType:
    site = run.site
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    lts = " LTS" if site.moodle_lts else ""
    rows = [
        ("Site", site.name),
        ("URL", site.wwwroot or "not known"),
        (
            "Moodle",
            f"{site.moodle_label}{lts}, release {site.moodle_release}, band {site.moodle_band}",
        ),
        ("Audit time", _when(run)),
        ("Catalogue", f"SOC 2 ({run.catalogue_version})"),
        ("Tool", f"{run.tool.get('name', 'moodle-soc')} {run.tool.get('version', '')}".strip()),
    ]
    for label, value in rows:
        grid.add_row(Text(label), Text(terminal_safe(value)))
    return Padding(
        Group(Text("moodle-soc audit", style="bold underline"), grid),
        (1, 0, 1, 0),
    )


def _incomplete(incomplete: Incomplete) -> RenderableType:
    """The scan-level banner: some tables could not be read, and the GRANTs that fix it."""
    lines = [Text(terminal_safe(incomplete.message), style="bold red")]
    lines += [Text("  " + terminal_safe(grant)) for grant in incomplete.grants]
    return Padding(Group(*lines), (1, 0))


def _when(run: AuditRun) -> str:
    return run.audit_time.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _score_text(score: float | None) -> Text:
    if score is None:
        return Text("manual", style="dim")
    style = "bold green" if score >= 90 else "bold yellow" if score >= 70 else "bold red"
    return Text(f"{score:.1f}%", style=style)


def _readiness(run: AuditRun) -> Table:
    table = Table(
        title=Text("SOC 2 readiness by Trust Services category", style="bold"),
        title_justify="left",
        caption=Text(
            f"Scores weigh checks by severity: {FORMULA}; manual criteria need evidence from"
            " outside Moodle.",
            style="dim",
        ),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_footer=True,
        pad_edge=False,
    )
    table.add_column("Category", footer=Text("Overall", style="bold"), ratio=1)
    readiness = run.summary.readiness
    totals = {  # the overall row counts the categories in scope, as the overall score does
        name: sum(getattr(r, name) for r in readiness if r.in_scope)
        for name in ("criteria", "met", "gap", "error", "manual", "not_applicable")
    }
    for name, header in (
        ("criteria", "Criteria"),
        ("met", "Met"),
        ("gap", "Gap"),
        ("error", "Error"),
        ("manual", "Manual"),
        ("not_applicable", "N/A"),
    ):
        table.add_column(header, justify="right", footer=Text(str(totals[name]), style="bold"))
    table.add_column("Score", justify="right", footer=_score_text(run.summary.overall_score))
    for category in readiness:
        table.add_row(*_readiness_row(category))
    for category in readiness:
        if not category.in_scope:
            table.add_row(
                Text(
                    terminal_safe(f"  {category.category} out of scope: {category.scope_decision}"),
                    style="dim",
                ),
                *[Text("")] * 7,
            )
    return table


def _readiness_row(category: CategoryReadiness) -> list[Text]:
    counts = (
        category.criteria,
        category.met,
        category.gap,
        category.error,
        category.manual,
        category.not_applicable,
    )
    styles = ("", "green", "red", "magenta", "blue", "dim")
    name = f"{category.category} {category.name}"
    if not category.in_scope:
        name += " (out of scope)"
    cells = [Text(terminal_safe(name))]
    for count, style in zip(counts, styles, strict=True):
        cells.append(Text(str(count), style=style if count else "dim"))
    cells.append(_score_text(category.score))
    return cells


def _counts(run: AuditRun) -> Text:
    by_status = run.summary.by_status
    failed = by_status.get(Status.FAIL.value, 0)
    text = Text("Findings: ", style="bold")
    text.append(f"{failed} failed", style=STATUS_STYLE[Status.FAIL] if failed else "")
    checks = sum(1 for c in run.checks if c.by_status.get(Status.FAIL.value))
    if failed:
        text.append(f" in {checks} check{'s' if checks != 1 else ''}")
    severities = [
        (severity, run.summary.failed_by_severity.get(severity.value, 0))
        for severity in sorted(Severity, key=lambda s: -s.rank)
    ]
    parts = [(s, n) for s, n in severities if n]
    if parts:
        text.append(" (")
        for index, (severity, count) in enumerate(parts):
            if index:
                text.append(", ")
            text.append(f"{count} {severity.value}", style=SEVERITY_STYLE[severity])
        text.append(")")
    for status in (
        Status.ERROR,
        Status.ACCEPTED,
        Status.MANUAL,
        Status.PASS,
        Status.NOT_APPLICABLE,
    ):
        count = by_status.get(status.value, 0)
        text.append(" · ")
        label = "errors" if status is Status.ERROR and count != 1 else STATUS_LABEL[status]
        text.append(f"{count} {label}", style=STATUS_STYLE[status] if count else "")
    return text


def _section(console: Console, title: str, style: str) -> None:
    console.print()
    console.print(Rule(Text(title, style=f"bold {style}"), align="left", style=style))


def _label(item: Finding) -> Text:
    if item.status is Status.FAIL:
        return Text(f" {item.severity.value.upper()} ", style=SEVERITY_STYLE[item.severity])
    word = "N/A" if item.status is Status.NOT_APPLICABLE else item.status.value.upper()
    return Text(f" {word} ", style=STATUS_STYLE[item.status])


def _finding_block(item: Finding, *, show_fix: bool) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=10, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    heading = Text(terminal_safe(item.check_id), style="bold")
    heading.append(" · ")
    heading.append(terminal_safe(item.resource), style="italic")
    grid.add_row(_label(item), heading)
    grid.add_row(Text(""), Text(terminal_safe(item.reason)))
    if item.exception is not None:
        grid.add_row(Text("Exception", style="dim", justify="right"), _exception_text(item))
    if show_fix:
        grid.add_row(
            Text("Fix", style="dim", justify="right"), Text(terminal_safe(item.remediation))
        )
        if item.fix_command:
            grid.add_row(
                Text("$", style="dim", justify="right"), Text(terminal_safe(item.fix_command))
            )
    return Padding(grid, (1, 0, 0, 0))


def _check_block(group: list[Finding], count: int) -> RenderableType:
    """A failing check once: its worst severity, title, each listed resource with its
    sentence, how many more failed, and the fix once."""
    first = group[0]
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=10, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    heading = Text(terminal_safe(first.check_id), style="bold")
    heading.append(" · ")
    heading.append(terminal_safe(first.title))
    if count > 1:
        heading.append(f" ({count} resources)", style="italic")
    grid.add_row(_label(first), heading)
    for item in group[:EXAMPLE_LIMIT]:
        line = Text(terminal_safe(item.resource), style="italic")
        line.append(": ")
        line.append(terminal_safe(item.reason))
        grid.add_row(Text(""), line)
        if item.exception is not None:
            grid.add_row(Text("Exception", style="dim", justify="right"), _exception_text(item))
    rest = count - len(group[:EXAMPLE_LIMIT])
    if rest > 0:
        grid.add_row(Text(""), _more(rest))
    grid.add_row(Text("Fix", style="dim", justify="right"), Text(terminal_safe(first.remediation)))
    if first.fix_command:
        grid.add_row(
            Text("$", style="dim", justify="right"), Text(terminal_safe(first.fix_command))
        )
    return Padding(grid, (1, 0, 0, 0))


def _exception_text(item: Finding) -> Text:
    """The exception beside the scan's own verdict: an auditor sees what was excepted."""
    exc = item.exception
    assert exc is not None
    text = (
        f"{exc.id} ({exc.state}; the scan says {exc.scan_status.value}): approved by"
        f" {exc.approver} on {exc.approved_at}, owner {exc.owner}, expires {exc.expires}."
        f" Reason: {exc.reason}"
    )
    if exc.compensating_control:
        text += f" Compensating control: {exc.compensating_control}"
    if exc.revoked_reason:
        text += f" Revoked: {exc.revoked_reason}"
    return Text(terminal_safe(text), style="yellow")


def _compact_list(listed: Listed) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=10, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    shown: dict[str, int] = {}
    for item in listed.shown:
        shown[item.check_id] = shown.get(item.check_id, 0) + 1
        heading = Text(terminal_safe(item.check_id), style="bold")
        heading.append(" · ")
        heading.append(terminal_safe(item.resource), style="italic")
        grid.add_row(_label(item), heading)
        grid.add_row(Text(""), Text(terminal_safe(item.reason), style="dim"))
    for check_id, count in listed.counts.items():
        if count > shown.get(check_id, 0):
            line = _more(count - shown.get(check_id, 0))
            line.append(f" ({terminal_safe(check_id)})", style="dim")
            grid.add_row(Text(""), line)
    return Padding(grid, (1, 0, 0, 0))


def _count_rest(console: Console, listed: Listed) -> None:
    if listed.more:
        console.print(Padding(_more(listed.more), (1, 0, 0, 11)))


def _more(count: int) -> Text:
    """The line that stands for the resources not listed: how many, and where they all are.
    CSV or XLSX, as the HTML report says: this report is also ``evidence show``'s, whose
    ``--format json`` is the stored run record, without its findings."""
    noun = "resource" if count == 1 else "resources"
    return Text(
        f"… and {count} more {noun}: the full population (--format csv or xlsx) lists every"
        " finding",
        style="dim italic",
    )
