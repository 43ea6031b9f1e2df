"""``moodle-soc plugins`` (the plugin inventory with risks, support status and advisories)
and ``moodle-soc advisories show|update`` (the known-advisories file in force)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moodle_soc.cli.changes import OutputOption, emit
from moodle_soc.cli.common import check_format, fail, open_site, parse_as_of, stderr
from moodle_soc.cli.options import (
    AskPasswordOption,
    AsOfOption,
    ConfigOption,
    DbOption,
    PrefixOption,
    WwwrootOption,
)
from moodle_soc.errors import MoodleSocError

if TYPE_CHECKING:
    from rich.console import Console

    from moodle_soc.changes.plugin_risk import PluginInventory

advisories_app = typer.Typer(
    help="Known Moodle security advisories: the file in force, and newer ones.",
    no_args_is_help=True,
)


class PluginsFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    csv = "csv"
    html = "html"


AdvisoriesOption = Annotated[
    Path | None,
    typer.Option("--advisories", help="Use this advisories file instead of the one in force."),
]


def plugins_command(
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    ask_password: AskPasswordOption = False,
    wwwroot: WwwrootOption = None,
    as_of: AsOfOption = None,
    fmt: Annotated[
        PluginsFormat, typer.Option("--format", "-f", help="Output format.")
    ] = PluginsFormat.terminal,
    output: OutputOption = None,
    advisories: AdvisoriesOption = None,
) -> None:
    """Installed plugins with risk flags, advisories and the branch's support status."""
    from moodle_soc.api.changes import plugin_inventory
    from moodle_soc.data.advisories import load_advisories

    try:
        loaded = load_advisories(advisories) if advisories is not None else None
        with open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot) as site:
            inventory = plugin_inventory(site, advisories=loaded)
        _emit_plugins(inventory, fmt, output)
    except MoodleSocError as error:
        fail(error)


def inventory_document(inventory: PluginInventory) -> dict[str, Any]:
    support = inventory.support
    return {
        "site": inventory.site,
        "release": inventory.release,
        "support": {
            "branch": support.branch,
            "release": support.release,
            "security_support_end": support.security_support_end.isoformat()
            if support.security_support_end
            else None,
            "supported": support.supported,
            "latest_release": support.latest,
        },
        "advisories_source": inventory.advisories_origin,
        "advisories": [
            {
                "id": m.advisory.id,
                "cve": m.advisory.cve,
                "component": m.component,
                "version": m.version,
                "range": m.range,
                "severity": m.advisory.severity,
                "remedy": m.remedy,
                "title": m.advisory.title,
                "source": m.advisory.source,
            }
            for m in inventory.matches
        ],
        "plugins": [row.as_dict() for row in inventory.rows],
    }


def _emit_plugins(inventory: PluginInventory, fmt: PluginsFormat, output: Path | None) -> None:
    from moodle_soc.changes.plugin_risk import PLUGIN_COLUMNS
    from moodle_soc.evidence.package.tables import Table, cell, csv_bytes
    from moodle_soc.reports.changes import render_plugins_html

    if fmt is PluginsFormat.terminal and output is None:
        from rich.console import Console

        _plugins_terminal(inventory, Console())
        return
    table = Table(
        "plugins",
        PLUGIN_COLUMNS,
        [[cell(list(v) if isinstance(v, tuple) else v) for v in row.as_dict().values()]
         for row in inventory.rows],
    )  # fmt: skip
    document = {
        PluginsFormat.json: lambda: json.dumps(inventory_document(inventory), indent=2),
        PluginsFormat.csv: lambda: csv_bytes(table).decode(),
        PluginsFormat.html: lambda: render_plugins_html(inventory),
        PluginsFormat.terminal: lambda: _text(inventory),
    }[fmt]()
    emit(document, output, f"the plugin inventory ({fmt.value})")


def _text(inventory: PluginInventory) -> str:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    _plugins_terminal(inventory, Console(file=buffer, width=160, no_color=True))
    return buffer.getvalue()


def _plugins_terminal(inventory: PluginInventory, console: Console) -> None:
    from rich.table import Table

    from moodle_soc.safety import terminal_markup

    shown = [r for r in inventory.rows if r.flags]
    table = Table(title=f"Plugins of {terminal_markup(inventory.site)} with a risk flag")
    for column in ("component", "version", "enabled", "origin", "flags", "advisories"):
        table.add_column(column, overflow="fold")
    for row in shown:
        values = (row.component, row.version, row.enabled, row.origin, ", ".join(row.flags),
                  ", ".join(row.advisories))  # fmt: skip
        table.add_row(*(terminal_markup("" if v is None else str(v)) for v in values))
    console.print(table)
    support = inventory.support
    verdict = {True: "in security support", False: "OUT of security support", None: "unknown"}
    console.print(
        f"Moodle {terminal_markup(inventory.release)}: branch {support.branch} is"
        f" {verdict[support.supported]} (until {support.security_support_end}); latest"
        f" release {support.latest or 'unknown'}."
    )
    console.print(
        f"{len(inventory.rows)} plugins installed, {len(shown)} with a flag;"
        f" {len(inventory.matches)} advisory match(es) from"
        f" {terminal_markup(inventory.advisories_origin)}."
    )
    for match in inventory.core_matches:
        console.print(
            f"  {match.advisory.id} {terminal_markup(match.advisory.title)} ({match.component}):"
            f" {terminal_markup(match.remedy)}"
        )


@advisories_app.command("show")
def advisories_show(
    fmt: Annotated[str, typer.Option("--format", "-f", help="terminal or json.")] = "terminal",
) -> None:
    """Which advisories file is in force, when it was updated, and what it lists."""
    from moodle_soc.api.changes import current_advisories

    try:
        check_format(fmt, ("terminal", "json"))
        loaded = current_advisories()
    except MoodleSocError as error:
        fail(error)
    if fmt == "json":
        typer.echo(json.dumps(loaded.file.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"{len(loaded.file.advisories)} advisories from {loaded.origin}, updated"
        f" {loaded.file.updated}."
    )
    for advisory in loaded.file.advisories:
        typer.echo(
            f"{advisory.id}  {advisory.cve or '-':16} {advisory.severity or 'unrated':8}"
            f" {advisory.component:24} {advisory.title}"
        )


@advisories_app.command("update")
def advisories_update(
    source: Annotated[Path, typer.Option("--from", help="A newer advisories YAML file.")],
) -> None:
    """Install a newer advisories file (validated as a whole: nothing changes on any error)."""
    from moodle_soc.api.changes import update_advisories

    try:
        loaded = update_advisories(source)
    except MoodleSocError as error:
        fail(error)
    stderr().print(
        f"Installed {len(loaded.file.advisories)} advisories (updated {loaded.file.updated})"
        f" at {loaded.origin}."
    )
