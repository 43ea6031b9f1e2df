"""``moodle-soc checks``: the control catalogue, its criteria, remediation and policy."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from moodle_soc.cli.common import check_format, fail
from moodle_soc.cli.frameworks import FrameworkOption
from moodle_soc.cli.options import SettingsOption
from moodle_soc.errors import MoodleSocError, UsageError
from moodle_soc.safety import terminal_markup

checks_app = typer.Typer(help="The control catalogue: checks, criteria, remediation.")


@checks_app.command("list")
def checks_list(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or markdown.")] = "table",
    framework: FrameworkOption = None,
) -> None:
    """List every automated check with its severity, criteria and mirrored Moodle check; with
    --framework, the requirements of each framework it gives evidence for."""
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from moodle_soc.checks.registry import all_checks
    from moodle_soc.frameworks import load_catalogue

    check_format(fmt, ("table", "json", "markdown"))  # a UsageError ends through the root group
    if framework:
        _list_by_framework(fmt, framework)
        return
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
    # A check id is never cut: its column is as wide as the longest id, and the title (and the
    # Moodle check it mirrors) wraps under it; severity and criteria share the second column,
    # so the table fits 80 columns.
    console = Console()
    first = max(max(len(s.id) for s in specs), console.width - 7 - 40)  # 7: borders, padding
    table = Table(title=f"{len(specs)} automated checks", show_lines=True)
    table.add_column("Check", width=first)
    table.add_column("Severity, criteria", width=max(12, console.width - 7 - first))
    for s in specs:
        mirrors = f"\n[dim]mirrors {s.moodle_check}[/]" if s.moodle_check else ""
        table.add_row(
            f"[bold]{s.id}[/]\n{escape(s.title)}{mirrors}",
            f"{s.severity.value}\n{', '.join(catalogue.criteria_for_check(s.id))}",
        )
    console.print(table)


def _list_by_framework(fmt: str, references: list[str]) -> None:
    """``checks list --framework``: each check with the requirements it evidences per framework."""
    import json

    from rich.console import Console
    from rich.table import Table

    from moodle_soc.api.frameworks import load_frameworks
    from moodle_soc.checks.registry import all_checks

    if fmt == "markdown":
        fail(UsageError("--format markdown lists the SOC 2 catalogue; use table or json."))
    try:
        frameworks = load_frameworks(references)
    except MoodleSocError as error:
        fail(error)
    specs = all_checks()
    if fmt == "json":
        rows = [
            {
                "id": s.id,
                "title": s.title,
                "severity": s.severity.value,
                "requirements": {f.id: list(f.requirements_for_check(s.id)) for f in frameworks},
            }
            for s in specs
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(specs)} automated checks")
    table.add_column("Check", overflow="fold")
    table.add_column("Severity")
    for f in frameworks:
        table.add_column(terminal_markup(f.id), overflow="fold")
    for s in specs:
        cells = [
            ", ".join(map(terminal_markup, f.requirements_for_check(s.id))) for f in frameworks
        ]
        table.add_row(s.id, s.severity.value, *cells)
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
        fail(UsageError(f"Unknown check {check_id!r}; {_did_you_mean(check_id)}"))
    console = Console()
    console.print(f"[bold]{escape(spec.id)}[/]: {escape(spec.title)}")
    console.print(f"Severity: {spec.severity.value}")
    console.print(f"Why: {escape(spec.rationale)}")
    console.print(f"Criteria: {', '.join(load_catalogue().criteria_for_check(spec.id))}")
    console.print(f"Mirrors Moodle check: {spec.moodle_check or '(none)'}")
    console.print(f"Remediation: {escape(spec.remediation)}")
    if spec.fix_command:
        console.print(f"Fix: {escape(spec.fix_command)}")


def _did_you_mean(text: str) -> str:
    """A suggestion for a partial or mistyped check id, else where to look them up."""
    import difflib

    from moodle_soc.checks.registry import all_checks

    ids = [spec.id for spec in all_checks()]
    wanted = text.strip().lower()
    partial = [i for i in ids if wanted and (wanted in i or i.endswith("." + wanted))]
    close = partial or difflib.get_close_matches(wanted, ids, n=3, cutoff=0.6)
    if not close:
        names = sorted({i.split(".")[1] for i in ids if "." in i})
        close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
        close = [i for i in ids if i.split(".", 1)[-1] in close]
    if not close:
        return "see 'moodle-soc checks list'."
    return "did you mean " + " or ".join(close[:3]) + "?"


@checks_app.command("policy")
def checks_policy(settings: SettingsOption = None) -> None:
    """Show every policy threshold, its value and why it exists."""
    from rich.console import Console
    from rich.table import Table

    from moodle_soc.settings_file import find_settings_file

    try:
        policy = find_settings_file(settings).policy
    except MoodleSocError as error:
        fail(error)
    table = Table(title="Policy thresholds (override in moodle-soc.yaml under policy:)")
    for column in ("Name", "Value", "Why"):
        table.add_column(column)
    for name, value, reason in policy.thresholds():
        shown = ", ".join(value) if isinstance(value, tuple) else str(value)
        table.add_row(name, shown, reason)
    Console().print(table)
