"""Installed plugins: versions from ``config_plugins``, whether Moodle has them enabled, the
risky capabilities they define and the web-service functions they provide.

A plugin is installed when ``config_plugins`` has its ``version`` row. Moodle records "enabled"
differently per plugin type (a comma-separated setting, a ``visible`` column, a ``disabled``
flag); types with no such record get ``enabled = None``, never a guess.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import sqlalchemy as sa

from moodle_soc.site.roles import MOODLE_RISKY_MASK, risk_names

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

#: Types whose enabled plugins are a comma-separated setting: (plugin, name) of the setting.
LIST_SETTINGS: dict[str, tuple[str | None, str]] = {
    "auth": (None, "auth"),
    "enrol": (None, "enrol_plugins_enabled"),
    "editor": (None, "texteditors"),
    "logstore": ("tool_log", "enabled_stores"),
    "antivirus": (None, "antiviruses"),
    "webservice": (None, "webserviceprotocols"),
    "media": (None, "media_plugins_sortorder"),
    "paygw": (None, "paygw_plugins_sortorder"),
    "fileconverter": (None, "converter_plugins_sortorder"),
}
#: Types that are enabled unless ``config_plugins`` holds ``<component>/disabled = 1``.
DISABLED_FLAG = ("format", "qtype", "tiny", "dataformat", "availability", "customfield",
                 "contenttype", "qbank")  # fmt: skip
#: Types whose state is a table: (table, name column, enabled column, enabled test).
TABLES = {
    "mod": ("modules", "name", "visible"),
    "block": ("block", "name", "visible"),
    "repository": ("repository", "type", "visible"),
    "message": ("message_processors", "name", "enabled"),
}
ALWAYS_ENABLED = {"auth_manual", "auth_nologin"}  # Moodle enables these whatever 'auth' says
FILTER_DISABLED = -9999


@dataclass(frozen=True)
class InstalledPlugin:
    component: str
    type: str
    name: str
    version: str | None
    enabled: bool | None  # None: Moodle keeps no enabled state for this type
    enabled_source: str | None  # where Moodle records it
    risky_capabilities: tuple[str, ...]  # capabilities with RISK_CONFIG, RISK_XSS or RISK_DATALOSS
    risks: tuple[str, ...]  # the RISK_* names among them
    web_service_functions: int


def split_component(component: str) -> tuple[str, str]:
    plugin_type, _, name = component.partition("_")
    return plugin_type, name


class Plugins:
    def __init__(self, site: MoodleSite) -> None:
        self.site = site
        self.db = site.db

    @cached_property
    def versions(self) -> dict[str, str | None]:
        """Every installed plugin (``config_plugins`` ``version`` rows) and its version."""
        table = self.db.table("config_plugins")
        rows = self.db.fetch_all(
            sa.select(table.c.plugin, table.c.value).where(
                table.c.name == "version", table.c.plugin != "core"
            ),
            "plugins: installed plugins and their versions",
        )
        return {str(r["plugin"]): (None if r["value"] in (None, "") else str(r["value"]))
                for r in sorted(rows, key=lambda r: str(r["plugin"]))}  # fmt: skip

    @cached_property
    def risky_capabilities(self) -> dict[str, list[tuple[str, int]]]:
        """Capabilities with RISK_CONFIG, RISK_XSS or RISK_DATALOSS, by defining component."""
        cap = self.db.table("capabilities")
        rows = self.db.fetch_all(
            sa.select(cap.c.component, cap.c.name, cap.c.riskbitmask)
            .where(cap.c.riskbitmask.bitwise_and(MOODLE_RISKY_MASK) != 0)
            .order_by(cap.c.name),
            "plugins: capabilities with RISK_CONFIG, RISK_XSS or RISK_DATALOSS",
        )
        found: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for row in rows:
            found[str(row["component"])].append((str(row["name"]), int(row["riskbitmask"] or 0)))
        return dict(found)

    @cached_property
    def web_service_functions(self) -> dict[str, int]:
        """How many web-service functions each component provides (``external_functions``)."""
        if not self.db.has_table("external_functions"):
            return {}
        fn = self.db.table("external_functions")
        rows = self.db.fetch_all(
            sa.select(fn.c.component, sa.func.count().label("n")).group_by(fn.c.component),
            "plugins: web-service functions per component",
        )
        return {str(r["component"]): int(r["n"]) for r in rows}

    @cached_property
    def _table_states(self) -> dict[str, dict[str, bool]]:
        states: dict[str, dict[str, bool]] = {}
        for plugin_type, (table_name, name_column, column) in TABLES.items():
            if not self.db.has_column(table_name, column):
                continue
            table = self.db.table(table_name)
            rows = self.db.fetch_all(
                sa.select(table.c[name_column], table.c[column]),
                f"plugins: enabled {plugin_type} plugins ({table_name}.{column})",
            )
            states[plugin_type] = {str(r[name_column]): bool(int(r[column] or 0)) for r in rows}
        if self.db.has_table("filter_active"):
            active = self.db.table("filter_active")
            rows = self.db.fetch_all(
                sa.select(active.c.filter, active.c.active).where(
                    active.c.contextid == self.site.system_context_id
                ),
                "plugins: filters enabled at system level (filter_active)",
            )
            states["filter"] = {
                str(r["filter"]).removeprefix("filter/"): int(r["active"]) != FILTER_DISABLED
                for r in rows
            }
        return states

    def enabled(self, component: str) -> tuple[bool | None, str | None]:
        """Whether Moodle has ``component`` enabled, and where it records that."""
        plugin_type, name = split_component(component)
        settings = self.site.settings
        if component in ALWAYS_ENABLED:
            return True, "always enabled"
        if plugin_type in LIST_SETTINGS:
            plugin, setting = LIST_SETTINGS[plugin_type]
            listed = settings.items(setting, plugin)
            wanted = component if plugin_type in ("logstore", "paygw") else name
            where = f"{plugin}/{setting}" if plugin else setting
            return wanted in listed or component in listed, where
        if plugin_type == "factor":
            return settings.flag("enabled", component), f"{component}/enabled"
        if plugin_type in DISABLED_FLAG:
            return not settings.flag("disabled", component), f"{component}/disabled"
        if plugin_type in TABLES and plugin_type in self._table_states:
            table, _name_column, column = TABLES[plugin_type]
            return self._table_states[plugin_type].get(name), f"{table}.{column}"
        if plugin_type == "filter" and "filter" in self._table_states:
            return self._table_states["filter"].get(name, False), "filter_active"
        return None, None

    def inventory(self) -> list[InstalledPlugin]:
        found = []
        for component, version in self.versions.items():
            plugin_type, name = split_component(component)
            capabilities = self.risky_capabilities.get(component, [])
            bits = 0
            for _cap, mask in capabilities:
                bits |= mask & MOODLE_RISKY_MASK
            enabled, source = self.enabled(component)
            found.append(
                InstalledPlugin(
                    component=component,
                    type=plugin_type,
                    name=name,
                    version=version,
                    enabled=enabled,
                    enabled_source=source,
                    risky_capabilities=tuple(c for c, _ in capabilities),
                    risks=tuple(risk_names(bits)),
                    web_service_functions=self.web_service_functions.get(component, 0),
                )
            )
        return found
