"""Access review: the privileged-access inventory, its risk flags, HR roster reconciliation and
the HTML access-review report (SOC 2 CC6.2 / CC6.3)."""

from __future__ import annotations

from moodle_soc.access.flags import FLAG_CODES, GENERIC_NAMES, Flag
from moodle_soc.access.inventory import (
    AccessEntry,
    AccessInventory,
    Grant,
    TokenInfo,
    build_inventory,
)
from moodle_soc.access.roster import (
    Leaver,
    Reconciliation,
    Roster,
    RosterLink,
    RosterRow,
    attach_roster,
    load_roster,
    parse_roster,
    reconcile,
    roster_for,
)

__all__ = [
    "FLAG_CODES",
    "GENERIC_NAMES",
    "AccessEntry",
    "AccessInventory",
    "Flag",
    "Grant",
    "Leaver",
    "Reconciliation",
    "Roster",
    "RosterLink",
    "RosterRow",
    "TokenInfo",
    "attach_roster",
    "build_inventory",
    "load_roster",
    "parse_roster",
    "reconcile",
    "roster_for",
]
