"""What Moodle declares per branch for the settings the checks read or fix: whether the setting
exists, the installer's default and the admin page that shows it (``setting_versions.yaml``,
read from ``admin/settings/*.php`` and plugin ``settings.php`` of real trees 3.9–5.1 by
``scripts/build_setting_versions.py``).

Defaults are used only when a site has no row for a setting (it was never saved): the value
Moodle itself would then apply on that branch. Keys are (plugin, name) with plugin ``core`` for
the ``config`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from moodle_soc.site.version import RELEASES
from moodle_soc.yamlfile import safe_load

#: Branch labels oldest first ("3.9" … "5.1").
BRANCHES: tuple[str, ...] = tuple(label for _base, label, _code, _lts in RELEASES)
NEWEST = BRANCHES[-1]


@dataclass(frozen=True)
class Declared:
    """How one branch declares a setting."""

    section: str
    default: str | None  # None: computed at install (e.g. from is_https()), unknown here
    source: str

    @property
    def admin_path(self) -> str:
        return f"admin/settings.php?section={self.section}"


def _key(label: str) -> tuple[str, str]:
    plugin, _, name = label.rpartition("/")
    return (plugin or "core", name)


@cache
def _table() -> dict[tuple[str, str], dict[str, Declared]]:
    text = resources.files(__package__).joinpath("setting_versions.yaml").read_text("utf-8")
    table: dict[tuple[str, str], dict[str, Declared]] = {}
    for label, entries in safe_load(text)["settings"].items():
        per_branch: dict[str, Declared] = {}
        for entry in entries:
            span = BRANCHES[BRANCHES.index(entry["from"]) : BRANCHES.index(entry["until"]) + 1]
            default = entry["default"]
            # A default written as PHP ("php: ini_get_bool(...)") depends on the server.
            known = None if default is None or str(default).startswith("php: ") else default
            for branch in span:
                per_branch[branch] = Declared(entry["section"], known, entry["source"])
        table[_key(label)] = per_branch
    return table


def tracked_settings() -> frozenset[tuple[str, str]]:
    """Every (plugin, name) the shipped table follows."""
    return frozenset(_table())


def declared(plugin: str | None, name: str, branch: str) -> Declared | None:
    """How ``branch`` declares the setting; None when that branch has no such setting (or the
    table does not follow it)."""
    return _table().get((plugin or "core", name), {}).get(branch)


@cache
def defaults_for(branch: str) -> dict[tuple[str, str], str]:
    """Install defaults on ``branch`` of the settings whose default the table knows."""
    found = {}
    for key, per_branch in _table().items():
        seen = per_branch.get(branch)
        if seen is not None and seen.default is not None:
            found[key] = seen.default
    return found


#: The newest branch's defaults (a site whose branch is not known is judged as the newest).
DEFAULTS: dict[tuple[str, str], str] = defaults_for(NEWEST)
