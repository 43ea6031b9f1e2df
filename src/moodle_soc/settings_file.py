"""``moodle-soc.yaml``: the policy thresholds (and, as features land, sites and the store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from moodle_soc.errors import BadInputError
from moodle_soc.policy import Policy

DEFAULT_NAME = "moodle-soc.yaml"


class StagingSite(BaseModel):
    """The staging environment production is compared with (``staging:``): its config.php or
    its database URL, and a table prefix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    config: str | None = None
    db: str | None = None
    prefix: str | None = None


class SettingsFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str | None = None
    policy: Policy = Policy()
    store: str | None = None
    staging: StagingSite | None = None


def load_settings_file(path: Path) -> SettingsFile:
    """Read and validate a ``moodle-soc.yaml``; any problem is one sentence and exit code 7."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    import yaml  # only when a file is read: start-up stays fast

    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise BadInputError(f"{path}{where} is not valid YAML.") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path} must hold a mapping (policy:, store:).")
    unknown = sorted(set(data) - {"policy", "store", "staging"})
    if unknown:
        raise BadInputError(f"{path}: unknown key {unknown[0]!r} (known: policy, store, staging).")
    policy_data = data.get("policy") or {}
    if not isinstance(policy_data, dict):
        raise BadInputError(f"{path}: policy must be a mapping of threshold names to values.")
    store = data.get("store")
    if store is not None and not isinstance(store, str):
        raise BadInputError(f"{path}: store must be a path or a database URL.")
    return SettingsFile(
        path=str(path),
        policy=Policy.from_mapping(policy_data, str(path)),
        store=store,
        staging=_staging(data.get("staging"), path),
    )


def _staging(data: Any, path: Path) -> StagingSite | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: staging must be a mapping with config: or db: (and prefix:).")
    try:
        staging = StagingSite.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadInputError(f"{path}: staging.{where}: {first['msg']}.") from None
    if (staging.config is None) == (staging.db is None):
        raise BadInputError(f"{path}: staging needs exactly one of config: or db:.")
    return staging


def find_settings_file(explicit: Path | None) -> SettingsFile:
    """The explicit file, else ``./moodle-soc.yaml`` when present, else the defaults."""
    if explicit is not None:
        return load_settings_file(explicit)
    local = Path.cwd() / DEFAULT_NAME
    return load_settings_file(local) if local.is_file() else SettingsFile()
