"""Drift between two environments (staging and production): Moodle version, plugin inventory
and settings, so "tested in staging first" has evidence.

The comparison goes from one site (``from``, usually staging) to another (``to``, usually
production). A production plugin or core version that staging never ran is **flagged**: absent
from staging, or newer there than in staging (versions only go up, so staging cannot have run
it). Versions staging ran in earlier stored scans count as run.

Settings that legitimately differ per instance are left out: identity and URLs (``wwwroot``,
``siteidentifier``, ``mnet_*``, registration), paths (names containing ``path``, ending in
``dir`` or ``root``, ``pathto*``), secrets (the one secrets policy), and runtime state
(caches' revision counters, last/next run and check times, running and pending flags, hashes,
key ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from moodle_soc.models.state import SiteState
from moodle_soc.site.secrets import is_secret_setting

Status = Literal["only_in_from", "only_in_to", "differs"]

_INSTANCE_NAMES = frozenset({
    "wwwroot", "siteidentifier", "dataroot", "dirroot", "libdir", "tempdir", "cachedir",
    "localcachedir", "backuptempdir", "localrequestdir", "admin", "siteadmins", "version",
    "release", "branch", "allversionshash", "noreplyaddress", "supportemail", "chat_serverhost",
    "chat_serverip", "geoip2file", "dbtype", "dbhost", "dbname", "dbuser", "prefix",
    "dboptions", "sslproxy", "reverseproxy", "routerconfigured", "session_handler_class",
})  # fmt: skip
_INSTANCE_PATTERN = re.compile(
    r"path|dir$|root$|^pathto|^mnet_|registration|rev$|hash$|purged$|reset$|^last|_last"
    r"|lastrun|nextrun|lastcron|running$|pending$|timestamp|^session_|^upgrade|timelast$"
    r"|(check|validation|summary|update|sync|run)time$|(^|_)kid$"
)


def instance_specific(plugin: str, name: str) -> bool:
    """Settings expected to differ between two instances of one service."""
    low = name.lower()
    if plugin == "core" and low in _INSTANCE_NAMES:
        return True
    return is_secret_setting(name) or bool(_INSTANCE_PATTERN.search(low))


@dataclass(frozen=True)
class DriftSide:
    """One environment: its observed state, its effective settings and how to name it."""

    label: str
    state: SiteState
    settings: Mapping[tuple[str, str], str | None]
    history: tuple[SiteState, ...] = ()  # earlier stored states (versions it ran before)


@dataclass(frozen=True)
class DriftItem:
    area: Literal["core", "plugin", "setting"]
    key: str
    status: Status
    from_value: str | None
    to_value: str | None
    flagged: bool
    reason: str


@dataclass
class Drift:
    from_label: str
    to_label: str
    items: list[DriftItem] = field(default_factory=list)
    ignored_settings: int = 0

    @property
    def flagged(self) -> list[DriftItem]:
        return [item for item in self.items if item.flagged]


def _number(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _ran(versions: Iterable[str | None], wanted: str | None) -> bool:
    return wanted is not None and wanted in {v for v in versions if v}


def _untested(target: str | None, current: str | None, earlier: Iterable[str | None]) -> bool:
    """Whether ``to`` runs a version ``from`` never ran (now or in a stored scan)."""
    if target is None or _ran([current, *earlier], target):
        return False
    new, old = _number(target), _number(current)
    return old is None or new is None or new > old


def compare(source: DriftSide, target: DriftSide) -> Drift:
    """What differs from ``source`` (staging) to ``target`` (production)."""
    drift = Drift(source.label, target.label)
    a, b = source.state, target.state
    if a.moodle_version != b.moodle_version:
        flagged = _untested(
            b.moodle_version, a.moodle_version, [s.moodle_version for s in source.history]
        )
        drift.items.append(
            DriftItem(
                "core",
                "core",
                "differs",
                f"{a.moodle_version} ({a.moodle_release})",
                f"{b.moodle_version} ({b.moodle_release})",
                flagged,
                f"{target.label} runs Moodle {b.moodle_release}, which {source.label} never ran."
                if flagged
                else f"{source.label} runs Moodle {a.moodle_release},"
                f" {target.label} {b.moodle_release}.",
            )
        )
    for component in sorted(set(a.plugins) | set(b.plugins)):
        drift.items.extend(_plugin(source, target, component))
    keys = set(source.settings) | set(target.settings)
    for plugin, name in sorted(keys):
        if instance_specific(plugin, name):
            drift.ignored_settings += 1
            continue
        x, y = source.settings.get((plugin, name)), target.settings.get((plugin, name))
        present = ((plugin, name) in source.settings, (plugin, name) in target.settings)
        if x == y and present[0] == present[1]:
            continue
        status: Status = (
            "differs" if all(present) else "only_in_to" if present[1] else "only_in_from"
        )
        label = name if plugin == "core" else f"{plugin}/{name}"
        drift.items.append(
            DriftItem(
                "setting",
                label,
                status,
                x,
                y,
                False,
                f"Setting {label} is {_show(x, present[0])} on {source.label} and"
                f" {_show(y, present[1])} on {target.label}.",
            )
        )
    return drift


def _show(value: str | None, present: bool) -> str:
    if not present:
        return "not set"
    return "empty" if value in (None, "") else repr(value)


def _plugin(source: DriftSide, target: DriftSide, component: str) -> list[DriftItem]:
    a, b = source.state.plugins, target.state.plugins
    x, y = a.get(component), b.get(component)
    if component in a and component in b and x == y:
        return []
    earlier = [s.plugins.get(component) for s in source.history]
    if component not in b:
        return [
            DriftItem("plugin", component, "only_in_from", x, None, False,
                      f"Plugin {component} ({x}) is installed on {source.label} only.")
        ]  # fmt: skip
    flagged = _untested(y, x, earlier)
    if component not in a:
        status: Status = "only_in_to"
        reason = (
            f"Plugin {component} ({y}) is installed on {target.label} but not on {source.label}"
        )
    else:
        status = "differs"
        reason = f"Plugin {component} is {x} on {source.label} and {y} on {target.label}"
    if flagged:
        reason += f"; {source.label} never ran version {y}"
    return [DriftItem("plugin", component, status, x, y, flagged, reason + ".")]
