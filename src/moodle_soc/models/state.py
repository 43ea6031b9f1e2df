"""The site's observed state, kept with every stored scan as evidence.

Findings say what was judged; the state says what was seen: Moodle's version, every installed
plugin with its version, the settings the checks read (with where their value came from) and
config.php's literal settings. Comparing the states of two stored runs shows changes Moodle keeps
no record of (a plugin removed, config.php edited). Secret values never appear: settings are
masked by the site layer, and config.php secrets are replaced by a salted SHA-256 so that two
runs can tell "changed" from "unchanged" without storing the value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

#: How a config.php secret is kept: ``{"sha256": "<hex>"}`` instead of its value.
HASHED = "sha256"


class ObservedSetting(BaseModel):
    """One setting as the checks saw it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    plugin: str  # "core" for the config table
    name: str
    value: str | None  # masked when secret; config.php expressions as "<computed at runtime…>"
    source: str  # "config.php", "database", "Moodle default" or "not set"


class SiteState(BaseModel):
    """What one scan observed of the site, besides its findings."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    moodle_version: str
    moodle_release: str
    moodle_branch: str
    moodle_label: str
    plugins: dict[str, str | None]  # component -> config_plugins version
    settings: tuple[ObservedSetting, ...]
    config_php: dict[str, Any] | None  # None when no config.php was read
    config_php_unparsed: tuple[str, ...] = ()  # "line N: statement" config.php left unevaluated


def is_hashed(value: Any) -> bool:
    """Whether a config.php value in a state is a secret's hash rather than the value."""
    return isinstance(value, dict) and set(value) == {HASHED}


class RecordedState(BaseModel):
    """A stored run's observed state, and which record holds it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    seq: int | None  # None for the scan being made now (not stored yet)
    record_hash: str | None
    at: datetime  # the run's audit time
    state: SiteState
