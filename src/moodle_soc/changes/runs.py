"""Changes seen only by comparing the site states stored with two scans (source ``runs``).

Moodle keeps no record of some changes: config.php edits, plugins removed from the code base,
a version changed by a restore, a setting written without an admin page. Each pair of
consecutive states shows them; the change happened after the earlier scan (``at_from``) and
by the later one (``at``). Who made it is not known.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from moodle_soc.models.changes import Change
from moodle_soc.models.state import RecordedState, is_hashed

MASK = "********"


def _ref(before: RecordedState, after: RecordedState) -> str:
    def one(state: RecordedState) -> str:
        return f"run {state.seq}" if state.seq is not None else "this scan"

    return f"{one(before)} -> {one(after)}"


def _version_key(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not is_hashed(value):
            flat |= _flatten(value, path + ".")
        else:
            flat[path] = value
    return flat


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if is_hashed(value):
        return MASK
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def config_php_key(path: str) -> tuple[str, str]:
    """(component, name) of a flattened config.php key, for scopes: ``debug`` is core/debug,
    ``forced_plugin_settings.tool_mfa.enabled`` is tool_mfa/enabled."""
    parts = path.split(".")
    if parts[0] == "forced_plugin_settings" and len(parts) >= 3:
        return parts[1], ".".join(parts[2:])
    return "core", path


def _base(before: RecordedState, after: RecordedState, ident: str, **values: Any) -> Change:
    return Change(
        id=f"runs:{before.seq or 0}-{after.seq or 0}:{ident}",
        at=after.at,
        at_from=before.at,
        source="runs",
        **values,
    )


def _plugins(before: RecordedState, after: RecordedState) -> Iterator[Change]:
    old, new = before.state.plugins, after.state.plugins
    ref = _ref(before, after)
    for component in sorted(set(old) | set(new)):
        a, b = old.get(component), new.get(component)
        if component in old and component in new and a == b:
            continue
        if component not in old:
            detail = "installed"
        elif component not in new:
            detail = "removed (Moodle logs no uninstall)"
        else:
            detail = "downgraded" if _version_key(b) < _version_key(a) else "upgraded"
        yield _base(
            before, after, f"plugin:{component}", kind="plugin", component=component,
            name="version", old=a, new=b, detail=f"plugin {detail}, seen between {ref}",
        )  # fmt: skip


def _core(before: RecordedState, after: RecordedState) -> Iterator[Change]:
    a, b = before.state, after.state
    if a.moodle_version != b.moodle_version:
        yield _base(
            before, after, "core", kind="core", component="core", name="version",
            old=a.moodle_version, new=b.moodle_version,
            detail=f"Moodle {a.moodle_release} -> {b.moodle_release}, seen between"
            f" {_ref(before, after)}",
        )  # fmt: skip


def _config_php(before: RecordedState, after: RecordedState) -> Iterator[Change]:
    a, b = before.state.config_php, after.state.config_php
    if a is None or b is None:
        return  # one of the scans did not read config.php: nothing to compare
    old, new = _flatten(a), _flatten(b)
    for path in sorted(set(old) | set(new)):
        x, y = old.get(path), new.get(path)
        if x == y and (path in old) == (path in new):
            continue
        component, name = config_php_key(path)
        what = "added" if path not in old else "removed" if path not in new else "changed"
        secret = is_hashed(x) or is_hashed(y)
        note = " (a secret: only its salted SHA-256 is kept)" if secret else ""
        yield _base(
            before, after, f"config_php:{path}", kind="config_php", component=component,
            name=name, old=_shown(x), new=_shown(y), masked=secret,
            detail=f"config.php $CFG->{path} {what}{note}; no Moodle record, seen between"
            f" {_ref(before, after)}",
        )  # fmt: skip


def _settings(before: RecordedState, after: RecordedState) -> Iterator[Change]:
    """Database settings whose value moved between the scans (both scans read them)."""
    old = {(s.plugin, s.name): s for s in before.state.settings if s.source == "database"}
    for setting in after.state.settings:
        key = (setting.plugin, setting.name)
        earlier = old.get(key)
        if earlier is None or setting.source != "database" or earlier.value == setting.value:
            continue
        yield _base(
            before, after, f"setting:{setting.plugin}/{setting.name}", kind="setting",
            component=setting.plugin, name=setting.name, old=earlier.value, new=setting.value,
            masked=MASK in (earlier.value, setting.value),
            detail=f"database setting changed, seen between {_ref(before, after)}",
        )  # fmt: skip


def state_changes(states: Sequence[RecordedState]) -> list[Change]:
    """Changes between each pair of consecutive states (oldest first)."""
    ordered = sorted(states, key=lambda s: s.at)
    found: list[Change] = []
    for before, after in itertools.pairwise(ordered):
        for source in (_core, _plugins, _config_php, _settings):
            found.extend(source(before, after))
    return found
