"""Access review: the privileged-access inventory, its risk flags, HR roster reconciliation and
the HTML access-review report (SOC 2 CC6.2 / CC6.3).

Names are imported on first use (PEP 562), so ``moodle-soc --help`` does not load the
database layer just because the ``access`` command group is registered.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FLAG_CODES": "flags",
    "GENERIC_NAMES": "flags",
    "Flag": "flags",
    "AccessEntry": "inventory",
    "AccessInventory": "inventory",
    "Grant": "inventory",
    "TokenInfo": "inventory",
    "build_inventory": "inventory",
    "Leaver": "roster",
    "Reconciliation": "roster",
    "Roster": "roster",
    "RosterLink": "roster",
    "RosterRow": "roster",
    "attach_roster": "roster",
    "load_roster": "roster",
    "parse_roster": "roster",
    "reconcile": "roster",
    "roster_for": "roster",
}

__all__ = sorted(_EXPORTS, key=lambda name: (not name.isupper(), name))


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'moodle_soc.access' has no attribute {name!r}")
    return getattr(importlib.import_module(f"moodle_soc.access.{_EXPORTS[name]}"), name)
