"""The control catalogue: SOC 2 criteria, SOC 1 ITGC objectives and the readiness checklist.

The mappings live in the YAML files beside this module (their one home); this module only
validates and serves them, so a typo in a mapping fails at load instead of in an audit report.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import Counter
from collections.abc import Container, Hashable, Iterable, Iterator, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from moodle_soc.errors import BadInputError

Owner = Literal["moodle_core", "hosting", "client"]
Frequency = Literal["per_event", "daily", "weekly", "monthly", "quarterly", "semi_annual", "annual"]
CheckId = Annotated[str, StringConstraints(pattern=r"^[a-z]+\.[a-z0-9_]+$")]
SnakeCaseId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]

_FILES = ("soc2.yaml", "soc1.yaml", "readiness.yaml")  # the version hashes all three
_KNOWN = "known_evidence"  # validation context: evidence ids defined in other files


def _require_unique(owner: str, what: str, values: Iterable[str]) -> None:
    values = list(values)
    if repeated := sorted({value for value in values if values.count(value) > 1}):
        raise ValueError(f"{owner} lists {what} {', '.join(repeated)} more than once")


def _require_known(owner: str, what: str, values: Iterable[str], known: Container[str]) -> None:
    if unknown := [value for value in values if value not in known]:
        raise ValueError(f"{owner} references unknown {what} {', '.join(unknown)}")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ManualEvidence(_Model):
    """Evidence an organisation must produce that no Moodle database shows."""

    id: SnakeCaseId
    title: str
    description: str
    frequency: Frequency


class Category(_Model):
    name: str
    optional: bool = False
    description: str = ""


class Criterion(_Model):
    """A SOC 2 criterion or SOC 1 objective: the checks and manual evidence that support it."""

    id: str
    category: str = Field(validation_alias=AliasChoices("category", "domain"))
    title: str
    description: str
    checks: tuple[CheckId, ...]
    manual_evidence: tuple[SnakeCaseId, ...]
    owners: tuple[Owner, ...]

    @model_validator(mode="after")
    def _supported(self) -> Self:
        if not self.checks and not self.manual_evidence:
            raise ValueError(f"criterion {self.id} has neither checks nor manual evidence")
        if not self.owners:
            raise ValueError(f"criterion {self.id} names no owner")
        for what in ("checks", "manual_evidence", "owners"):
            _require_unique(f"criterion {self.id}", what, getattr(self, what))
        return self


class Framework(_Model):
    """A framework file: categories (or SOC 1 domains), the manual evidence it defines (keyed by
    id) and its criteria (or objectives). It may reference evidence other catalogue files define.
    """

    id: str
    name: str
    version: str
    categories: dict[str, Category] = Field(validation_alias=AliasChoices("categories", "domains"))
    manual_evidence: dict[str, ManualEvidence] = Field(default_factory=dict)
    criteria: tuple[Criterion, ...] = Field(validation_alias=AliasChoices("criteria", "objectives"))

    @model_validator(mode="before")
    @classmethod
    def _evidence_ids_from_keys(cls, data: Any) -> Any:
        section = data.get("manual_evidence") if isinstance(data, dict) else None
        if isinstance(section, dict):
            ided = {k: {"id": k, **v} if isinstance(v, dict) else v for k, v in section.items()}
            return {**data, "manual_evidence": ided}
        return data

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        if wrong := [key for key, item in self.manual_evidence.items() if key != item.id]:
            raise ValueError(f"manual evidence {', '.join(wrong)} declares a different id")
        defined = set(self.manual_evidence) | set((info.context or {}).get(_KNOWN, ()))
        if not self.criteria:
            raise ValueError(f"framework {self.id} lists no criteria")
        _require_unique(f"framework {self.id}", "criteria", (c.id for c in self.criteria))
        for criterion in self.criteria:
            owner = f"criterion {criterion.id}"
            _require_known(owner, "category", [criterion.category], self.categories)
            _require_known(owner, "manual evidence", criterion.manual_evidence, defined)
        return self


class ReadinessItem(_Model):
    """Something an organisation needs in place before the audit, and who owns it."""

    id: SnakeCaseId
    title: str
    description: str
    owner: Owner
    criteria: tuple[str, ...]
    evidence: tuple[SnakeCaseId, ...]
    checks: tuple[CheckId, ...]

    @model_validator(mode="after")
    def _supported(self) -> Self:
        if not self.evidence and not self.checks:
            raise ValueError(f"readiness item {self.id} has neither evidence nor checks")
        if not self.criteria:
            raise ValueError(f"readiness item {self.id} supports no criteria")
        return self


class _ReadinessFile(_Model):
    id: str
    name: str
    version: str
    items: tuple[ReadinessItem, ...]


class Catalogue(_Model):
    """The built-in catalogue, with the hash that identifies which version judged a run."""

    soc2: Framework
    soc1: Framework
    readiness: tuple[ReadinessItem, ...]
    manual_evidence: dict[str, ManualEvidence]
    version: str = Field(pattern=r"^sha256:[0-9a-f]{16}$")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        evidence = self.manual_evidence
        for c in self._criteria():
            _require_known(f"criterion {c.id}", "manual evidence", c.manual_evidence, evidence)
        ids, mapped = {c.id for c in self._criteria()}, self.mapped_check_ids()
        _require_unique("the readiness checklist", "items", (item.id for item in self.readiness))
        for item in self.readiness:
            owner = f"readiness item {item.id}"
            _require_known(owner, "manual evidence", item.evidence, evidence)
            _require_known(owner, "criteria", item.criteria, ids)
            _require_known(owner, "checks (mapped by no criterion)", item.checks, mapped)
        return self

    def frameworks(self) -> tuple[Framework, ...]:
        return (self.soc2, self.soc1)

    def criteria_for_check(self, check_id: str) -> tuple[str, ...]:
        """SOC 2 then SOC 1 ids the check gives evidence for, each in its canonical order."""
        return tuple(c.id for c in self._criteria() if check_id in c.checks)

    def mapped_check_ids(self) -> frozenset[str]:
        return frozenset(check_id for c in self._criteria() for check_id in c.checks)

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self._criteria():
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def _criteria(self) -> Iterator[Criterion]:
        for framework in self.frameworks():
            yield from framework.criteria


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"found duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse(data: bytes, source: str) -> dict[str, Any]:
    try:
        document = yaml.load(data, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise BadInputError(f"{source} is not valid YAML: {problem}{where}.") from None
    if not isinstance(document, dict):
        raise BadInputError(f"{source} must be a YAML mapping with id, name, version and criteria.")
    return document


def _location(loc: tuple[int | str, ...], data: Any) -> str:
    """Turn a pydantic error location into ``criteria[CC6.1].owners[0]``."""
    parts: list[str] = []
    for step in loc:
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and step < len(data) else None
            label = data.get("id", step) if isinstance(data, dict) else step
            parts.append(f"[{label}]")
        else:
            data = data.get(step) if isinstance(data, dict) else None
            parts.append(f".{step}" if parts else step)
    return "".join(parts)


_M = TypeVar("_M", bound=BaseModel)


def _validate(model: type[_M], data: Any, problem: str, known: set[str]) -> _M:
    try:
        return model.model_validate(data, context={_KNOWN: known})
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = _location(tuple(first["loc"]), data)
        message = first["msg"].removeprefix("Value error, ").rstrip(".")
        extra = len(errors) - 1
        more = f" (and {extra} more problem{'s' * (extra > 1)})" if extra else ""
        detail = f"{where}: {message}" if where else message
        raise BadInputError(f"{problem}: {detail}{more}.") from None


def _evidence_ids(documents: Mapping[str, dict[str, Any]]) -> set[str]:
    """Evidence ids the framework files define; each may be defined in one file only."""
    sections = [d.get("manual_evidence") for d in documents.values()]
    ids = [key for section in sections if isinstance(section, dict) for key in section]
    if repeated := sorted(key for key, count in Counter(ids).items() if count > 1):
        raise BadInputError(f"Manual evidence {', '.join(repeated)} is defined in two files.")
    return set(ids)


@functools.cache
def load_catalogue() -> Catalogue:
    """The built-in catalogue, validated; its version hashes the three YAML files."""
    package = files("moodle_soc.frameworks")
    raw = {name: package.joinpath(name).read_bytes() for name in _FILES}
    documents = {name: _parse(data, name) for name, data in raw.items()}
    known = _evidence_ids(documents)
    soc2, soc1 = (
        _validate(Framework, documents[name], f"{name} is not a valid framework file", known)
        for name in ("soc2.yaml", "soc1.yaml")
    )
    problem = "readiness.yaml is not a valid readiness checklist"
    readiness = _validate(_ReadinessFile, documents["readiness.yaml"], problem, known)
    digest = hashlib.sha256()
    for name in _FILES:
        digest.update(f"{name}\0{len(raw[name])}\0".encode())
        digest.update(raw[name])
    catalogue = {
        "soc2": soc2,
        "soc1": soc1,
        "readiness": readiness.items,
        "manual_evidence": soc2.manual_evidence | soc1.manual_evidence,
        "version": f"sha256:{digest.hexdigest()[:16]}",
    }
    return _validate(Catalogue, catalogue, "The built-in catalogue is inconsistent", known)


def load_framework_file(path: str | os.PathLike[str]) -> Framework:
    """A user's own framework file; it may reference the built-in manual evidence ids."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read framework file {path}: {exc.strerror or exc}.") from None
    source = os.fspath(path)
    known = set(load_catalogue().manual_evidence)
    return _validate(
        Framework, _parse(data, source), f"{source} is not a valid framework file", known
    )
