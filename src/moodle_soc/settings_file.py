"""``moodle-soc.yaml``: the policy thresholds (and, as features land, sites and the store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from moodle_soc.errors import BadInputError
from moodle_soc.policy import Policy

DEFAULT_NAME = "moodle-soc.yaml"


class SettingsFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str | None = None
    policy: Policy = Policy()
    store: str | None = None


def load_settings_file(path: Path) -> SettingsFile:
    """Read and validate a ``moodle-soc.yaml``; any problem is one sentence and exit code 7."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise BadInputError(f"{path}{where} is not valid YAML.") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path} must hold a mapping (policy:, store:).")
    unknown = sorted(set(data) - {"policy", "store"})
    if unknown:
        raise BadInputError(f"{path}: unknown key {unknown[0]!r} (known: policy, store).")
    policy_data = data.get("policy") or {}
    if not isinstance(policy_data, dict):
        raise BadInputError(f"{path}: policy must be a mapping of threshold names to values.")
    store = data.get("store")
    if store is not None and not isinstance(store, str):
        raise BadInputError(f"{path}: store must be a path or a database URL.")
    return SettingsFile(
        path=str(path), policy=Policy.from_mapping(policy_data, str(path)), store=store
    )


def find_settings_file(explicit: Path | None) -> SettingsFile:
    """The explicit file, else ``./moodle-soc.yaml`` when present, else the defaults."""
    if explicit is not None:
        return load_settings_file(explicit)
    local = Path.cwd() / DEFAULT_NAME
    return load_settings_file(local) if local.is_file() else SettingsFile()
