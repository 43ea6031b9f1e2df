"""Known Moodle security advisories: the shipped file, or a newer one the user installed.

``affected`` ranges are written the way Moodle writes them: ``4.4`` (only 4.4.0 and its weekly
builds), ``4.1 to 4.1.10`` (every build up to the next point release), ``before 4.5.9``
(everything numbered below 4.5.9, for branches left without a fix). An advisory about an
additional plugin uses that plugin's own version numbers: ``2024010100 to 2024031500``
(inclusive) or ``before 2024031500``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from moodle_soc.data import data_file
from moodle_soc.data.releases import branches, release_version
from moodle_soc.errors import BadInputError, InvalidFileError, UsageError

#: Where ``advisories update`` installs a newer file (default: the user data directory).
ADVISORIES_ENV = "MOODLE_SOC_ADVISORIES"
SHIPPED = "the advisories shipped with moodle-soc"

_RELEASE = r"\d{1,2}\.\d{1,2}(?:\.\d{1,3})?"
_PLUGIN_VERSION = r"\d{10}(?:\.\d+)?"
_RANGE = re.compile(
    rf"^(?:(?P<only>{_RELEASE})|(?P<low>{_RELEASE}) to (?P<high>{_RELEASE})"
    rf"|before (?P<before>{_RELEASE})|(?P<plow>{_PLUGIN_VERSION}) to (?P<phigh>{_PLUGIN_VERSION})"
    rf"|before (?P<pbefore>{_PLUGIN_VERSION}))$"
)
_COMPONENT = re.compile(r"^(core|core_[a-z0-9_]+|[a-z][a-z0-9]*_[a-z0-9_]+)$")
Severity = Literal["low", "medium", "high", "critical"]


@dataclass(frozen=True)
class Span:
    """Versions ``low <= v < high`` (``low`` None: from the beginning)."""

    text: str
    low: Decimal | None
    high: Decimal
    core: bool  # Moodle release numbers (True) or the plugin's own version numbers

    def holds(self, version: Decimal) -> bool:
        return (self.low is None or version >= self.low) and version < self.high


def _next_point(release: str) -> Decimal | None:
    """The first version after release ``x.y.z`` and all its weekly builds: ``x.y.(z+1)``."""
    base = release_version(release)
    return None if base is None else Decimal(base + 1)


def parse_range(text: str) -> Span | None:
    """The versions ``text`` covers; None when it names a branch the shipped data does not
    know (a newer Moodle). Raises ValueError when ``text`` is not a range at all."""
    match = _RANGE.match(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a range such as '4.1 to 4.1.10', '4.4', 'before 4.5.9' or"
            " '2024010100 to 2024031500'"
        )
    parts = match.groupdict()
    if parts["plow"]:
        last = Decimal(parts["phigh"])
        return Span(text, Decimal(parts["plow"]), last + Decimal("0.000001"), core=False)
    if parts["pbefore"]:
        return Span(text, None, Decimal(parts["pbefore"]), core=False)
    if parts["before"]:
        base = release_version(parts["before"])
        return None if base is None else Span(text, None, Decimal(base), core=True)
    low_text = parts["only"] or parts["low"]
    if low_text.count(".") != 1:
        raise ValueError(f"{text!r} must start at a branch (x.y), such as '4.1 to 4.1.10'")
    low = release_version(low_text)
    high = _next_point(parts["only"] or parts["high"])
    if parts["high"] and not parts["high"].startswith(low_text + "."):
        raise ValueError(f"{text!r} must stay within one branch")
    if low is None or high is None:
        return None
    return Span(text, Decimal(low), high, core=True)


class Advisory(BaseModel):
    """One Moodle security advisory (MSA)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^MSA-\d{2}-\d{4}$")
    cve: str | None = Field(default=None, pattern=r"^CVE-\d{4}-\d{4,}$")
    title: str = Field(min_length=1)
    component: str
    component_basis: str | None = None
    severity: Severity | None = None
    severity_moodle: str | None = None
    severity_basis: str | None = None
    cvss: str | None = None
    redhat_rating: str | None = None
    affected: tuple[str, ...] = Field(min_length=1)
    fixed: tuple[str, ...] = ()
    cwe: str | None = None
    published: date
    published_basis: str | None = None
    source: str = Field(pattern=r"^https://")
    sources: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()

    @field_validator("component")
    @classmethod
    def _component(cls, value: str) -> str:
        if not _COMPONENT.match(value):
            raise ValueError(f"{value!r} is not 'core', core_<subsystem> or a plugin component")
        return value

    @field_validator("affected")
    @classmethod
    def _ranges(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_range(text)
        return value

    def spans(self) -> list[Span]:
        """The ranges the shipped branch data can place (newer branches are skipped)."""
        return [span for text in self.affected if (span := parse_range(text)) is not None]

    def matching_range(self, version: Decimal, *, core: bool) -> str | None:
        """The affected range ``version`` falls in; ``core`` says whether it is a Moodle
        release number (core and standard plugins) or the plugin's own version number."""
        for span in self.spans():
            if span.core == core and span.holds(version):
                return span.text
        return None


class AdvisoryFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    updated: date
    severity_mapping: dict[str, Any] | None = None
    sources: tuple[dict[str, Any], ...] = Field(min_length=1)
    advisories: tuple[Advisory, ...]

    @field_validator("advisories")
    @classmethod
    def _unique(cls, value: tuple[Advisory, ...]) -> tuple[Advisory, ...]:
        seen: set[str] = set()
        for advisory in value:
            if advisory.id in seen:
                raise ValueError(f"{advisory.id} is listed twice")
            seen.add(advisory.id)
        return value


@dataclass(frozen=True)
class LoadedAdvisories:
    """The advisories in force and where they were read (for the sentences that cite them)."""

    file: AdvisoryFile
    origin: str


def installed_location() -> Path:
    """Where an installed (newer) advisories file lives: $MOODLE_SOC_ADVISORIES, else
    advisories.yaml in the user data directory."""
    if os.environ.get(ADVISORIES_ENV):
        return Path(os.environ[ADVISORIES_ENV])
    import platformdirs

    return Path(platformdirs.user_data_dir("moodle-soc")) / "advisories.yaml"


def parse_advisory_file(text: str, where: str) -> AdvisoryFile:
    """Validate a whole advisories file; any problem refuses it (row-level messages)."""
    import yaml  # only when a file is read: start-up stays fast

    from moodle_soc.yamlfile import safe_load

    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise BadInputError(f"{where}{line} is not valid YAML.") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{where} must be a mapping with 'advisories:' and 'sources:'.")
    try:
        return AdvisoryFile.model_validate(data)
    except ValidationError as exc:
        raise InvalidFileError(where, [_problem(data, error) for error in exc.errors()]) from None


def _problem(data: dict[str, Any], error: Any) -> str:
    location = list(error["loc"])
    where = ".".join(str(part) for part in location) or "file"
    if len(location) >= 2 and location[0] == "advisories" and isinstance(location[1], int):
        items = data.get("advisories") or []
        entry = items[location[1]] if location[1] < len(items) else {}
        ident = entry.get("id") if isinstance(entry, dict) else None
        field = ".".join(str(part) for part in location[2:]) or "entry"
        where = f"advisory {location[1] + 1}{f' ({ident})' if ident else ''} {field}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def shipped_advisories() -> AdvisoryFile:
    return parse_advisory_file(data_file("advisories.yaml").read_text(encoding="utf-8"), SHIPPED)


def load_advisories(location: Path | None = None) -> LoadedAdvisories:
    """The installed file (``location`` or ``installed_location()``) when there is one, else
    the shipped advisories."""
    path = location or installed_location()
    if path.is_file():
        return LoadedAdvisories(parse_advisory_file(_read(path), str(path)), str(path))
    return LoadedAdvisories(shipped_advisories(), SHIPPED)


def install_advisories(source: Path, destination: Path | None = None) -> LoadedAdvisories:
    """Validate ``source`` as a whole and install it; an older file than the one in force is
    refused. Nothing is written unless every entry is valid."""
    new = parse_advisory_file(_read(source), str(source))
    target = destination or installed_location()
    current = load_advisories(target)
    if new.updated < current.file.updated:
        raise UsageError(
            f"{source} was updated {new.updated}, before {current.origin}"
            f" ({current.file.updated}); nothing was installed."
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(_read(source), encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        raise BadInputError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    return LoadedAdvisories(new, str(target))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise BadInputError(f"Cannot read {path}: {reason}.") from None


def known_branches() -> list[str]:
    """Branch labels the shipped data covers (advisory ranges on others are skipped)."""
    return list(branches())
