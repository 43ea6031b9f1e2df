"""What reading config.php yields: the known ``$CFG`` values, what only PHP could compute, and
the statements left unread; and a display-safe copy with secrets masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moodle_soc.site.secrets import MASK, is_secret_setting, reveals


@dataclass(frozen=True)
class Unknown:
    """A value only PHP can compute (getenv, __DIR__, constants), so the audit must not guess it."""

    expression: str
    line: int

    def __str__(self) -> str:
        return f"<computed at runtime: {self.expression}>"


@dataclass(frozen=True)
class DynamicStatement:
    """A statement left unevaluated; listed so an auditor knows what the tool could not see."""

    line: int
    text: str


@dataclass
class PhpConfig:
    """The statically known ``$CFG`` values of one config.php, plus what was skipped."""

    path: str | None
    values: dict[str, Any]
    dynamic: list[DynamicStatement] = field(default_factory=list)
    after_setup: list[DynamicStatement] = field(default_factory=list)
    reached_setup: bool = False

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.values

    @property
    def forced_plugin_settings(self) -> dict[str, dict[str, Any]]:
        """Per-plugin overrides, which win over config_plugins (moodle-facts §6.3)."""
        forced = self.values.get("forced_plugin_settings")
        if not isinstance(forced, dict):
            return {}
        # array() exports as [], so an empty plugin entry is a list here
        return {p: s or {} for p, s in forced.items() if isinstance(s, dict) or s == []}


def redacted(value: Any, key: str) -> Any:
    """A display-safe copy: secrets masked at any depth (``secrets.py`` decides what is secret),
    Unknown shown as its expression.

    An empty or null secret stays visible, since "no upgrade key is set" is evidence.
    """
    if isinstance(value, Unknown):
        return str(value)  # its literals were already masked when the statement was secret
    if is_secret_setting(key) and reveals(value):
        return MASK
    if isinstance(value, dict):
        return {k: redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v, key) for v in value]
    return value


def redacted_values(cfg: PhpConfig) -> dict[str, Any]:
    return {name: redacted(value, name) for name, value in cfg.values.items()}
