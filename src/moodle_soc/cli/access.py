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
    from rich.console import Console

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

    if fmt is InventoryFormat.terminal:
        if output is None:
            render_terminal(inventory, Console())
        else:
            with output.open("w", encoding="utf-8") as handle:
                render_terminal(inventory, Console(file=handle, width=140, no_color=True))
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


def render_terminal(inventory: AccessInventory, console: Console) -> None:
    """The inventory as tables: accounts with grants and flags, flag counts, leavers."""
    from rich.table import Table
    from rich.text import Text

    console.print(
        Text(
            f"Access inventory of {inventory.site} ({inventory.moodle}) at"
            f" {inventory.audit_time:%Y-%m-%d %H:%M} UTC, scope {inventory.scope}."
        ),
        Text(inventory.mfa),
    )
    table = Table(title=f"{len(inventory.entries)} account(s)", show_lines=True)
    for column, ratio in (("Account", 2), ("State / last access", 2), ("Grants", 3), ("Flags", 7)):
        table.add_column(column, overflow="fold", ratio=ratio)
    for entry in inventory.entries:
        last = f"{entry.lastaccess:%Y-%m-%d}" if entry.lastaccess else "never"
        table.add_row(
            Text(f"{entry.username}\n{entry.key}"),
            Text(f"{entry.state}\n{last}"),
            Text("\n".join(g.key for g in entry.grants) or "-"),
            Text("\n".join(f"{f.code}: {f.reason}" for f in entry.flags) or "-"),
        )
    console.print(table)
    counts = ", ".join(f"{code} {n}" for code, n in inventory.flag_counts.items()) or "none"
    console.print(Text(f"Accounts per flag: {counts}."))
    reconciliation = inventory.roster
    if reconciliation is not None:
        console.print(
            Text(
                f"Roster {reconciliation.source}: {reconciliation.rows} row(s),"
                f" {len(reconciliation.unmatched)} unmatched,"
                f" {len(reconciliation.leavers_still_active)} leaver(s) still active."
            ),
        )
        for leaver in reconciliation.leavers_still_active:
            console.print(
                Text(
                    f"  {leaver.username} (line {leaver.line}) left {leaver.leave_date},"
                    f" still active {leaver.days_active_after_leave} days later."
                ),
            )
        for row in reconciliation.unmatched:
            console.print(Text(f"  line {row.line}: {row.who} matches no account."))
    for note in inventory.notes:
        console.print(Text(f"Note: {note}"))
