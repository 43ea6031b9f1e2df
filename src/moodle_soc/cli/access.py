"""``moodle-soc access ...``: the access-review commands (registered by the main CLI).

Connection options are the scan's own (``moodle_soc.cli.main._open_site``); heavy modules are
imported inside the command so that ``moodle-soc --help`` stays fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.options import (
    AskPasswordOption,
    AsOfOption,
    ConfigOption,
    DbOption,
    PrefixOption,
    SettingsOption,
    WwwrootOption,
)
from moodle_soc.errors import MoodleSocError

if TYPE_CHECKING:
    from moodle_soc.models.access import AccessInventory

access_app = typer.Typer(
    help="Access review: privileged-access inventory and HR roster.", no_args_is_help=True
)


@access_app.callback()
def access_callback() -> None:
    """Access review: privileged-access inventory and HR roster (SOC 2 CC6.2, CC6.3)."""


class InventoryFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    csv = "csv"
    html = "html"


class InventoryScope(StrEnum):
    privileged = "privileged"
    all = "all"


@access_app.command("inventory")
def inventory(
    db: DbOption = None,
    config: ConfigOption = None,
    prefix: PrefixOption = None,
    ask_password: AskPasswordOption = False,
    wwwroot: WwwrootOption = None,
    as_of: AsOfOption = None,
    roster: Annotated[
        Path | None,
        typer.Option(help="HR roster CSV (email/username, status, leave_date, manager)."),
    ] = None,
    scope: Annotated[
        InventoryScope, typer.Option(help="privileged accounts only, or every account.")
    ] = InventoryScope.privileged,
    fmt: Annotated[
        InventoryFormat, typer.Option("--format", "-f", help="Output format.")
    ] = InventoryFormat.terminal,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default stdout).")
    ] = None,
    settings: SettingsOption = None,
) -> None:
    """List every account with privileged access, why it has it, and its risk flags."""
    from moodle_soc.api.reviews import access_inventory
    from moodle_soc.cli.common import fail, open_site, parse_as_of
    from moodle_soc.inventory.roster import load_roster
    from moodle_soc.settings_file import find_settings_file

    try:
        policy = find_settings_file(settings).policy
        people = load_roster(roster) if roster is not None else None
        with open_site(db, config, prefix, ask_password, parse_as_of(as_of), wwwroot) as site:
            built = access_inventory(site, policy=policy, scope=scope.value, roster=people)
        _emit(built, fmt, output)
    except MoodleSocError as error:
        fail(error)


def _emit(inventory: AccessInventory, fmt: InventoryFormat, output: Path | None) -> None:
    from rich.console import Console

    from moodle_soc.reports.access import render_access_review, render_csv
    from moodle_soc.reports.access_terminal import render_inventory_terminal

    if fmt is InventoryFormat.terminal:
        if output is None:
            render_inventory_terminal(inventory, Console())
        else:
            with output.open("w", encoding="utf-8") as handle:
                render_inventory_terminal(inventory, Console(file=handle, width=140, no_color=True))
        return
    renderers = {
        InventoryFormat.json: lambda: inventory.model_dump_json(indent=2) + "\n",
        InventoryFormat.csv: lambda: render_csv(inventory),
        InventoryFormat.html: lambda: render_access_review(inventory),
    }
    document = renderers[fmt]()
    if output is None:
        sys.stdout.write(document)
        return
    output.write_text(document, encoding="utf-8", newline="")
    Console(stderr=True).print(f"Wrote {fmt.value.upper()} access inventory to {output}.")
