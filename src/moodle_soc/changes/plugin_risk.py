"""The plugin inventory with its risks: core or additional, and what each plugin can do.

``origin`` is ``standard`` when Moodle ships the plugin in the site's branch
(``data/standard_plugins``), ``removed_standard`` when the branch lists it as formerly standard
(left behind by an upgrade, no longer maintained with core), else ``additional``. Risk flags:

* ``additional``: third-party code, outside Moodle's own security process;
* ``removed_standard``: formerly standard code Moodle no longer maintains;
* ``risky_capabilities``: defines capabilities with RISK_CONFIG, RISK_XSS or RISK_DATALOSS;
* ``web_services``: provides web-service functions (an API surface);
* ``enabled_auth`` / ``enabled_enrol``: an enabled way in (authentication) or onto courses;
* ``advisory``: affected by a known security advisory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from moodle_soc.changes.advisories import AdvisoryMatch, SupportStatus
from moodle_soc.data.releases import removed_plugins, standard_plugins

if TYPE_CHECKING:
    from moodle_soc.site.plugins import InstalledPlugin

FLAG_HELP = {
    "additional": "Not shipped with Moodle: third-party code outside Moodle's security process.",
    "removed_standard": "Formerly standard, no longer maintained with Moodle core.",
    "risky_capabilities": "Defines capabilities with RISK_CONFIG, RISK_XSS or RISK_DATALOSS.",
    "web_services": "Provides web-service functions (an API reachable with a token).",
    "enabled_auth": "An enabled authentication plugin: a way into the site.",
    "enabled_enrol": "An enabled enrolment plugin: a way onto courses.",
    "advisory": "Affected by a known Moodle security advisory.",
}
PLUGIN_COLUMNS = (
    "component", "type", "version", "release", "enabled", "enabled_source", "origin", "flags",
    "risky_capabilities", "risks", "web_service_functions", "advisories",
)  # fmt: skip


@dataclass(frozen=True)
class PluginRow:
    component: str
    type: str
    version: str | None
    release: str | None  # Moodle's release for standard plugins; not recorded for others
    enabled: bool | None
    enabled_source: str | None
    origin: str  # standard, removed_standard or additional
    flags: tuple[str, ...]
    risky_capabilities: tuple[str, ...]
    risks: tuple[str, ...]
    web_service_functions: int
    advisories: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in PLUGIN_COLUMNS}


def origin_of(component: str, label: str) -> str:
    if component in standard_plugins(label):
        return "standard"
    if component in removed_plugins(label):
        return "removed_standard"
    return "additional"


def plugin_rows(
    installed: list[InstalledPlugin],
    label: str,
    release: str,
    matches: Sequence[AdvisoryMatch] = (),
) -> list[PluginRow]:
    """One row per installed plugin of a site on branch ``label`` (release ``release``)."""
    by_component: dict[str, list[str]] = {}
    for match in matches:
        by_component.setdefault(match.component, []).append(match.advisory.id)
    rows = []
    for plugin in installed:
        origin = origin_of(plugin.component, label)
        flags = [origin] if origin != "standard" else []
        if plugin.risky_capabilities:
            flags.append("risky_capabilities")
        if plugin.web_service_functions:
            flags.append("web_services")
        if plugin.enabled and plugin.type in ("auth", "enrol"):
            flags.append(f"enabled_{plugin.type}")
        advisories = tuple(by_component.get(plugin.component, ()))
        if advisories:
            flags.append("advisory")
        rows.append(
            PluginRow(
                component=plugin.component,
                type=plugin.type,
                version=plugin.version,
                release=release if origin == "standard" else None,
                enabled=plugin.enabled,
                enabled_source=plugin.enabled_source,
                origin=origin,
                flags=tuple(flags),
                risky_capabilities=plugin.risky_capabilities,
                risks=plugin.risks,
                web_service_functions=plugin.web_service_functions,
                advisories=advisories,
            )
        )
    return rows


@dataclass
class PluginInventory:
    site: str
    release: str
    support: SupportStatus
    advisories_origin: str
    rows: list[PluginRow]
    matches: list[AdvisoryMatch] = field(default_factory=list)

    @property
    def core_matches(self) -> list[AdvisoryMatch]:
        """Advisories about core subsystems (the plugin rows carry their own)."""
        return [m for m in self.matches if m.component.startswith("core")]
