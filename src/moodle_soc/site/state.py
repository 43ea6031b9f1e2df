"""The site's observed state (``models.state.SiteState``), built at the end of a scan.

Settings are those the checks read (``Settings.reads``) plus every setting with an install
default (``site/defaults.py``), so the state does not depend on which checks ran. config.php is
kept as parsed: literal values as they are, values computed at runtime as their expression, and
secret values (by the one secrets policy, ``site.secrets``) as a salted SHA-256: equal values
hash equal within one site, the value itself is never stored.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from moodle_soc.models.state import HASHED, ObservedSetting, SiteState
from moodle_soc.site.defaults import declared, tracked_settings
from moodle_soc.site.phpconfig import Unknown
from moodle_soc.site.secrets import is_secret_setting, mask
from moodle_soc.site.settings import UndecidableSettingError, moodle_string

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.site.phpconfig import PhpConfig


def secret_hash(salt: str, key: str, value: Any) -> dict[str, str]:
    """``{"sha256": hex}`` of a secret config.php value, salted with the site and the key."""
    text = value.expression if isinstance(value, Unknown) else value
    body = json.dumps([salt, key, text], sort_keys=True, default=str, ensure_ascii=False)
    return {HASHED: hashlib.sha256(body.encode()).hexdigest()}


def _config_value(salt: str, key: str, name: str, value: Any) -> Any:
    """One config.php value as kept in a state (``key`` is its dotted path)."""
    if is_secret_setting(name) and value not in (None, "", 0, False):
        return secret_hash(salt, key, value)
    if isinstance(value, Unknown):
        return str(value)
    if isinstance(value, dict):
        return {k: _config_value(salt, f"{key}.{k}", str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_config_value(salt, f"{key}.{i}", name, v) for i, v in enumerate(value)]
    return value


def config_php_state(config: PhpConfig, salt: str) -> dict[str, Any]:
    return {name: _config_value(salt, name, name, value) for name, value in config.values.items()}


def _setting(site: MoodleSite, plugin: str, name: str) -> ObservedSetting:
    settings = site.settings
    source = settings.source(name, plugin)
    try:
        value = settings.get(name, plugin)
    except UndecidableSettingError:
        raw = (site.config_php.get(name) if site.config_php else None) if plugin == "core" else None
        value = str(raw) if raw is not None else "<computed at runtime>"
    shown = mask(name, value)
    return ObservedSetting(
        plugin=plugin, name=name, value=None if shown is None else str(shown), source=source
    )


def build_site_state(site: MoodleSite) -> SiteState:
    """What the scan saw of ``site`` (read after the checks, so their reads are included)."""
    version = site.version
    # The settings the branch declares, so the state does not depend on which checks ran.
    on_branch = {(p, n) for p, n in tracked_settings() if declared(p, n, version.label)}
    read = set(site.settings.reads) | on_branch
    settings = tuple(_setting(site, plugin, name) for plugin, name in sorted(read))
    config = site.config_php
    salt = site.settings.get("siteidentifier") or site.db.display_url
    return SiteState(
        moodle_version=str(version.version),
        moodle_release=version.release,
        moodle_branch=version.branch,
        moodle_label=version.label,
        plugins=dict(site.plugins.versions),
        settings=settings,
        config_php=None if config is None else config_php_state(config, salt),
        config_php_unparsed=()
        if config is None
        else tuple(f"line {s.line}: {s.text}" for s in [*config.dynamic, *config.after_setup]),
    )


def _shown(name: str, value: Any) -> str | None:
    if isinstance(value, Unknown):
        return str(value)
    shown = moodle_string(mask(name, value))
    if shown is None or isinstance(shown, str):
        return shown
    return json.dumps(shown, sort_keys=True, default=str)


def effective_settings(site: MoodleSite) -> dict[tuple[str, str], str | None]:
    """Every setting's effective value, (plugin, name) -> value, with config.php applied and
    secrets masked; plugin versions are left to the plugin inventory."""
    settings = site.settings
    values: dict[tuple[str, str], str | None] = {("core", n): v for n, v in settings.core.items()}
    values |= {(p, n): v for (p, n), v in settings.plugins.items() if n != "version"}
    config = site.config_php
    if config is not None:
        for name, value in config.values.items():
            if name != "forced_plugin_settings":
                values[("core", name)] = _shown(name, value)
        for plugin, forced in config.forced_plugin_settings.items():
            for name, value in forced.items():
                values[(plugin, str(name))] = _shown(str(name), value)
    return values
