"""Moodle core's archetype defaults per branch, as shipped in ``archetypes.yaml``.

Moodle keeps a capability's default permission per role archetype in code (``lib/db/access.php``,
read by ``get_default_capabilities()`` and the role page's "Reset"), never in the database, so
judging whether a role drifted from its archetype needs this data. It covers core (``moodle/*``)
capabilities only; a plugin's defaults live in the plugin's own ``db/access.php``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from moodle_soc.data import data_file
from moodle_soc.yamlfile import safe_load

ARCHETYPES = (
    "manager",
    "coursecreator",
    "editingteacher",
    "teacher",
    "student",
    "guest",
    "user",
    "frontpage",
)


@dataclass(frozen=True)
class ArchetypeSource:
    """Where a branch's defaults were read: the tree, commit and path of ``lib/db/access.php``."""

    branch: str
    repository: str
    commit: str
    path: str
    release: str


@dataclass(frozen=True)
class ArchetypeDefaults:
    """One branch's core capabilities and what each archetype allows and prohibits."""

    source: ArchetypeSource
    known: frozenset[str]
    allow: Mapping[str, frozenset[str]]
    prohibit: Mapping[str, frozenset[str]]
    clones: Mapping[str, str]

    @property
    def branch(self) -> str:
        return self.source.branch

    def allows(self, archetype: str, capability: str) -> bool:
        """Whether a role of ``archetype`` gets ``capability`` from Moodle: by the archetype's
        defaults, or, on an upgraded site, copied from the capability it clones."""
        seen: set[str] = set()
        while capability not in seen:
            if capability in self.allow.get(archetype, frozenset()):
                return True
            seen.add(capability)
            source = self.clones.get(capability)
            if source is None:
                return False
            capability = source
        return False


def _key(branch: str) -> tuple[int, ...]:
    return tuple(int(part) for part in branch.split("."))


def _apply(
    current: dict[str, set[str]], changes: Mapping[str, Mapping[str, list[str]]]
) -> dict[str, set[str]]:
    updated = {name: set(values) for name, values in current.items()}
    for name, change in changes.items():
        updated.setdefault(name, set()).update(change.get("add", ()))
        updated[name].difference_update(change.get("remove", ()))
    return updated


@cache
def archetype_defaults() -> dict[str, ArchetypeDefaults]:
    """Every shipped branch's defaults by branch label (``"3.9"`` … ``"5.1"``)."""
    data: Any = safe_load(data_file("archetypes.yaml").read_text(encoding="utf-8"))
    sources = {
        s["branch"]: ArchetypeSource(
            s["branch"], s["repository"], s["commit"], s["path"], s["release"]
        )
        for s in data["sources"]
    }
    clones = dict(data["clonepermissionsfrom"])
    state: dict[str, dict[str, set[str]]] = {}
    found: dict[str, ArchetypeDefaults] = {}
    for entry in data["branches"]:
        for key in ("known", "allow", "prohibit"):
            if key in entry:  # the first branch, in full
                state[key] = {name: set(values) for name, values in entry[key].items()}
            else:
                state[key] = _apply(state[key], entry[f"{key}_changes"])
        known = frozenset(state["known"]["capabilities"])
        found[entry["branch"]] = ArchetypeDefaults(
            source=sources[entry["branch"]],
            known=known,
            allow={a: frozenset(state["allow"].get(a, ())) for a in ARCHETYPES},
            prohibit={a: frozenset(state["prohibit"].get(a, ())) for a in ARCHETYPES},
            clones={k: v for k, v in clones.items() if k in known},
        )
    return found


def defaults_for(label: str) -> ArchetypeDefaults | None:
    """The defaults of branch ``label``, else of the nearest earlier branch with data (a branch
    newer than the data gets the newest); None before the oldest branch."""
    shipped = archetype_defaults()
    earlier = [b for b in shipped if _key(b) <= _key(label)]
    return shipped[max(earlier, key=_key)] if earlier else None
