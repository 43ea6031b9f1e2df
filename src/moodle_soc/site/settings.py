"""Effective Moodle settings with Moodle's own precedence.

config.php beats the ``config`` table for core settings; ``$CFG->forced_plugin_settings``
beats ``config_plugins`` for plugin settings; a missing row falls back to the install
default of the site's branch (``site/defaults.py``). Values keep Moodle's storage form:
strings, ``'1'``/``'0'``.
Secret settings are masked when loaded, so no secret value leaves this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moodle_soc.errors import MoodleSocError
from moodle_soc.site.defaults import DEFAULTS
from moodle_soc.site.phpconfig import PhpConfig, Unknown
from moodle_soc.site.secrets import mask

CORE = "core"


class UndecidableSettingError(MoodleSocError):
    """A setting config.php computes at runtime (getenv(), __DIR__ ...): it cannot be read."""


def moodle_string(value: Any) -> Any:
    """A config.php literal in the form Moodle stores settings (checkboxes are '1'/'0')."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    return value


@dataclass(frozen=True)
class Settings:
    core: Mapping[str, str | None]
    plugins: Mapping[tuple[str, str], str | None]
    config_php: PhpConfig | None = None
    #: (plugin, name) of every setting read so far: a stored run keeps them as observed state.
    reads: set[tuple[str, str]] = field(default_factory=set, compare=False, repr=False)
    #: Install defaults of the site's own branch (``defaults_for``); the newest branch's if unset.
    defaults: Mapping[tuple[str, str], str] = field(default_factory=lambda: DEFAULTS)

    def _forced(self, name: str, plugin: str | None) -> tuple[bool, Any]:
        cfg = self.config_php
        if cfg is None:
            return False, None
        if plugin in (None, CORE):
            return (True, cfg.get(name)) if cfg.has(name) else (False, None)
        forced = cfg.forced_plugin_settings.get(plugin or "", {})
        return (
            (True, forced[name]) if isinstance(forced, dict) and name in forced else (False, None)
        )

    def source(self, name: str, plugin: str | None = None) -> str:
        """Where the effective value comes from: config.php, database, Moodle default, not set."""
        self.reads.add((plugin or CORE, name))
        forced, _ = self._forced(name, plugin)
        if forced:
            return "config.php"
        stored = self.core if plugin in (None, CORE) else None
        if stored is not None and name in stored:
            return "database"
        if plugin not in (None, CORE) and (plugin or "", name) in self.plugins:
            return "database"
        return "Moodle default" if (plugin or CORE, name) in self.defaults else "not set"

    def get(self, name: str, plugin: str | None = None) -> str | None:
        self.reads.add((plugin or CORE, name))
        forced, value = self._forced(name, plugin)
        if forced:
            if isinstance(value, Unknown):
                raise UndecidableSettingError(
                    f"config.php computes {_label(name, plugin)} at runtime ({value.expression}),"
                    " so its value cannot be read statically."
                )
            converted = moodle_string(mask(name, value))
            return None if converted is None else str(converted)
        if plugin in (None, CORE):
            if name in self.core:
                return self.core[name]
        elif (plugin or "", name) in self.plugins:
            return self.plugins[(plugin or "", name)]
        return self.defaults.get((plugin or CORE, name))

    def is_set(self, name: str, plugin: str | None = None) -> bool:
        return self.source(name, plugin) != "not set"

    def int(self, name: str, plugin: str | None = None, default: int = 0) -> int:
        value = self.get(name, plugin)
        try:
            return int(float(value)) if value not in (None, "") else default
        except (TypeError, ValueError):
            return default

    def flag(self, name: str, plugin: str | None = None) -> bool:
        """Moodle's truthiness for a stored setting: '', '0' and missing are off."""
        return self.get(name, plugin) not in (None, "", "0")

    def items(self, name: str, plugin: str | None = None) -> list[str]:
        """A comma-separated setting as a list of trimmed, non-empty items."""
        value = self.get(name, plugin) or ""
        return [item.strip() for item in value.split(",") if item.strip()]

    def plugin_names(self, prefix: str) -> list[str]:
        """Installed plugins whose frankenstyle name starts with ``prefix`` (e.g. ``factor_``)."""
        return sorted({p for p, n in self.plugins if p.startswith(prefix) and n == "version"})

    def plugin_versions(self) -> dict[str, str]:
        return {p: v or "" for (p, n), v in self.plugins.items() if n == "version"}


def _label(name: str, plugin: str | None) -> str:
    return f"{plugin}/{name}" if plugin not in (None, CORE) else name
