"""The access inventory for a terminal: accounts with grants and flags, flag counts, leavers.

Usernames, role names, flag reasons and roster rows are untrusted (Moodle data and an HR
file): every line goes through ``safety.terminal_safe`` into a Rich ``Text`` (never parsed as
markup), so an escape sequence in a username prints as ``\\x1b[2J`` instead of clearing the
screen, and ``[bold]`` prints as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moodle_soc.safety import terminal_safe

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from moodle_soc.models.access import AccessInventory


def _text(value: object) -> Text:
    from rich.text import Text

    return Text(terminal_safe(value))


def _lines(values: list[str]) -> Text:
    """One value per line, or "-" for none."""
    from rich.text import Text

    return Text("\n".join(terminal_safe(v) for v in values) or "-")


def render_inventory_terminal(inventory: AccessInventory, console: Console) -> None:
    """The inventory as tables: accounts with grants and flags, flag counts, leavers."""
    from rich.table import Table

    console.print(
        _text(
            f"Access inventory of {inventory.site} ({inventory.moodle}) at"
            f" {inventory.audit_time:%Y-%m-%d %H:%M} UTC, scope {inventory.scope}."
        ),
        _text(inventory.mfa),
    )
    table = Table(title=f"{len(inventory.entries)} account(s)", show_lines=True)
    for column, ratio in (("Account", 2), ("State / last access", 2), ("Grants", 3), ("Flags", 7)):
        table.add_column(column, overflow="fold", ratio=ratio)
    for entry in inventory.entries:
        last = f"{entry.lastaccess:%Y-%m-%d}" if entry.lastaccess else "never"
        table.add_row(
            _lines([entry.username, entry.key]),
            _lines([entry.state, last]),
            _lines([g.summary for g in entry.grants]),
            _lines([f"{f.code}: {f.reason}" for f in entry.flags]),
        )
    console.print(table)
    counts = ", ".join(f"{code} {n}" for code, n in inventory.flag_counts.items()) or "none"
    console.print(_text(f"Accounts per flag: {counts}."))
    reconciliation = inventory.roster
    if reconciliation is not None:
        console.print(
            _text(
                f"Roster {reconciliation.source}: {reconciliation.rows} row(s),"
                f" {len(reconciliation.unmatched)} unmatched,"
                f" {len(reconciliation.leavers_still_active)} leaver(s) still active."
            ),
        )
        for leaver in reconciliation.leavers_still_active:
            console.print(
                _text(
                    f"  {leaver.username} (line {leaver.line}) left {leaver.leave_date},"
                    f" still active {leaver.days_active_after_leave} days later."
                ),
            )
        for row in reconciliation.unmatched:
            console.print(_text(f"  line {row.line}: {row.who} matches no account."))
    for note in inventory.notes:
        console.print(_text(f"Note: {note}"))
