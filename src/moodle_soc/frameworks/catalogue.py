"""The control catalogue: SOC 2 criteria, SOC 1 ITGC objectives and the readiness checklist.

The mappings live in the YAML files beside this module (their one home); this module only
validates and serves them, so a typo in a mapping fails at load instead of in an audit report.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import Counter
from collections.abc import Collection, Container, Iterable, Iterator, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from moodle_soc.errors import BadInputError
from moodle_soc.frameworks.files import (
    KNOWN_EVIDENCE,
    Located,
    describe,
    parse_with_lines,
    validate,
)

Owner = Literal["moodle_core", "hosting", "client"]
Frequency = Literal["per_event", "daily", "weekly", "monthly", "quarterly", "semi_annual", "annual"]
CheckId = Annotated[str, StringConstraints(pattern=r"^[a-z]+\.[a-z0-9_]+$")]
SnakeCaseId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]

_FILES = ("soc2.yaml", "soc1.yaml", "readiness.yaml")  # the version hashes all three


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


Coverage = Literal["automated", "partly", "manual"]


class Criterion(_Model):
    """A requirement of a framework (a SOC 2 criterion, a SOC 1 objective, an ISO 27001 control):
    the checks and manual evidence that support it."""

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

    @property
    def coverage(self) -> Coverage:
        """``automated`` when checks alone evidence it, ``partly`` when manual evidence is
        needed too, ``manual`` when no check can."""
        if not self.checks:
            return "manual"
        return "partly" if self.manual_evidence else "automated"


class Framework(_Model):
    """A framework file: categories (or SOC 1 domains), the manual evidence it defines (keyed by
    id) and its criteria (or objectives, or requirements). It may reference evidence other
    catalogue files define.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    version: str
    source: str = ""
    categories: dict[str, Category] = Field(validation_alias=AliasChoices("categories", "domains"))
    manual_evidence: dict[str, ManualEvidence] = Field(default_factory=dict)
    criteria: tuple[Criterion, ...] = Field(
        validation_alias=AliasChoices("criteria", "requirements", "objectives")
    )

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
        defined = set(self.manual_evidence) | set((info.context or {}).get(KNOWN_EVIDENCE, ()))
        if not self.criteria:
            raise Located(f"framework {self.id} lists no criteria", ("criteria",))
        seen: set[str] = set()
        for index, criterion in enumerate(self.criteria):
            owner, here = f"criterion {criterion.id}", ("criteria", index)
            if criterion.id in seen:
                raise Located(
                    f"framework {self.id} lists criteria {criterion.id} more than once", here
                )
            seen.add(criterion.id)
            if criterion.category not in self.categories:
                raise Located(
                    f"{owner} references unknown category {criterion.category}", (*here, "category")
                )
            for position, evidence in enumerate(criterion.manual_evidence):
                if evidence not in defined:
                    raise Located(
                        f"{owner} references unknown manual evidence {evidence}",
                        (*here, "manual_evidence", position),
                    )
        return self

    def coverage(self) -> dict[Coverage, int]:
        """How many requirements checks evidence fully, partly, or not at all."""
        counts: dict[Coverage, int] = {"automated": 0, "partly": 0, "manual": 0}
        for criterion in self.criteria:
            counts[criterion.coverage] += 1
        return counts

    def check_ids(self) -> frozenset[str]:
        return frozenset(check_id for c in self.criteria for check_id in c.checks)

    def requirements_for_check(self, check_id: str) -> tuple[str, ...]:
        """The requirements the check gives evidence for, in the framework's order."""
        return tuple(c.id for c in self.criteria if check_id in c.checks)


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


def _evidence_ids(documents: Mapping[str, dict[str, Any]]) -> set[str]:
    """Evidence ids the framework files define; each may be defined in one file only."""
    sections = [d.get("manual_evidence") for d in documents.values()]
    ids = [key for section in sections if isinstance(section, dict) for key in section]
    if repeated := sorted(key for key, count in Counter(ids).items() if count > 1):
        raise BadInputError(f"Manual evidence {', '.join(repeated)} is defined in two files.")
    return set(ids)


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read framework file {path}: {exc.strerror or exc}.") from None


@functools.cache
def load_catalogue() -> Catalogue:
    """The built-in catalogue, validated; its version hashes the three YAML files."""
    package = files("moodle_soc.frameworks")
    raw = {name: package.joinpath(name).read_bytes() for name in _FILES}
    parsed = {name: parse_with_lines(data, name) for name, data in raw.items()}
    documents = {name: document for name, (document, _) in parsed.items()}
    known = _evidence_ids(documents)
    soc2, soc1 = (
        validate(
            Framework,
            documents[name],
            f"{name} is not a valid framework file",
            known,
            parsed[name][1],
        )
        for name in ("soc2.yaml", "soc1.yaml")
    )
    problem = "readiness.yaml is not a valid readiness checklist"
    lines = parsed["readiness.yaml"][1]
    readiness = validate(_ReadinessFile, documents["readiness.yaml"], problem, known, lines)
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
    return validate(Catalogue, catalogue, "The built-in catalogue is inconsistent", known)


def parse_framework(
    data: bytes, source: str, known_checks: Collection[str] | None = None
) -> Framework:
    """A framework document (a user's file or a shipped one beyond the catalogue), validated:
    it may reference the built-in manual evidence ids; with ``known_checks`` every check id it
    maps must be one of them. Errors name ``source`` and the line."""
    problem = f"{source} is not a valid framework file"
    document, lines = parse_with_lines(data, source)
    known = set(load_catalogue().manual_evidence)
    framework = validate(Framework, document, problem, known, lines)
    if known_checks is not None:
        unknown = [
            (("criteria", index, "checks", position), check_id)
            for index, criterion in enumerate(framework.criteria)
            for position, check_id in enumerate(criterion.checks)
            if check_id not in known_checks
        ]
        if unknown:
            (loc, check_id), extra = unknown[0], len(unknown) - 1
            more = f" (and {extra} more unknown check{'s' * (extra > 1)})" if extra else ""
            message = f"unknown check id {check_id}; see 'moodle-soc checks list'"
            raise BadInputError(f"{describe(problem, loc, message, document, lines)}{more}.")
    return framework


def load_framework_file(
    path: str | os.PathLike[str], known_checks: Collection[str] | None = None
) -> Framework:
    """A user's own framework file (see ``parse_framework``)."""
    return parse_framework(_read(path), os.fspath(path), known_checks)
