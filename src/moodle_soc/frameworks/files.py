"""Reading framework files: strict YAML, and errors that name the line a user must fix.

A framework file is data a user may write by hand, so a mistake is reported as one sentence
naming the file, the line and the place in the document (``criteria[SEC-1].owners[0]``),
never as a traceback or a bare pydantic dump.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from moodle_soc.errors import BadInputError
from moodle_soc.yamlfile import FAST_SAFE_LOADER

#: Where each value of a parsed document starts: its path (keys and list indexes) to a 1-based line.
Lines = dict[tuple[int | str, ...], int]

KNOWN_EVIDENCE = "known_evidence"  # validation context: evidence ids defined in other files


class Located(ValueError):
    """A validation problem that knows where in the document it is (relative to the model)."""

    def __init__(self, message: str, loc: tuple[int | str, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class _RejectDuplicateKeys:
    """A safe loader's mapping that rejects duplicate keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        loader: Any = self  # mixed into a loader class below
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"found duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc, no-any-return]


class _StrictLoader(_RejectDuplicateKeys, yaml.SafeLoader):
    """The pure-Python parser: its error messages are the ones users are shown."""


class _FastStrictLoader(_RejectDuplicateKeys, FAST_SAFE_LOADER):  # type: ignore[misc]
    """libyaml's parser (see ``moodle_soc.yamlfile``), the same constructor."""


def _lines(node: yaml.Node, path: tuple[int | str, ...], into: Lines) -> None:
    into[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                _lines(value_node, (*path, key_node.value), into)
                into[(*path, key_node.value)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), into)


def _compose(loader_class: Any, data: bytes) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for the lines) and its value."""
    loader = loader_class(data)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def parse(data: bytes, source: str, *, what: str = "id, name, version and criteria") -> Any:
    """The document in ``data`` (a mapping), with the line of every value in it."""
    return parse_with_lines(data, source, what=what)[0]


def parse_with_lines(
    data: bytes, source: str, *, what: str = "id, name, version and criteria"
) -> tuple[dict[str, Any], Lines]:
    try:
        node, document = _compose(_FastStrictLoader, data)
    except yaml.YAMLError:  # parsed again: PyYAML's own message (or a document only it accepts)
        try:
            node, document = _compose(_StrictLoader, data)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "cannot be parsed"
            raise BadInputError(f"{source} is not valid YAML: {problem}{where}.") from None
    if not isinstance(document, dict):
        raise BadInputError(f"{source} must be a YAML mapping with {what}.")
    lines: Lines = {}
    if node is not None:
        _lines(node, (), lines)
    return document, lines


#: Other spellings of a field (SOC 1 says domains and objectives, other frameworks requirements).
ALIASES: dict[str, tuple[str, ...]] = {
    "criteria": ("criteria", "requirements", "objectives"),
    "categories": ("categories", "domains"),
    "category": ("category", "domain"),
}


def resolve(loc: tuple[int | str, ...], data: Any) -> tuple[int | str, ...]:
    """``loc`` with each field named as the document spells it (``requirements``, not criteria)."""
    resolved: list[int | str] = []
    for step in loc:
        if isinstance(step, str) and isinstance(data, dict) and step not in data:
            step = next((a for a in ALIASES.get(step, ()) if a in data), step)
        resolved.append(step)
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and step < len(data) else None
        else:
            data = data.get(step) if isinstance(data, dict) else None
    return tuple(resolved)


def location(loc: tuple[int | str, ...], data: Any) -> str:
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


def line_of(loc: tuple[int | str, ...], lines: Lines) -> int | None:
    """The line of the deepest part of ``loc`` the document has (a missing field: its parent)."""
    for end in range(len(loc), -1, -1):
        if (line := lines.get(tuple(loc[:end]))) is not None:
            return line
    return None


def describe(
    problem: str, loc: tuple[int | str, ...], message: str, data: Any, lines: Lines
) -> str:
    """One sentence: ``<problem>: line 12, criteria[X].checks[0]: <message>`` (no final period)."""
    loc = resolve(loc, data)
    where = location(loc, data)
    line = line_of(loc, lines) if lines else None
    prefix = ", ".join(part for part in (f"line {line}" if line else "", where) if part)
    return f"{problem}: {prefix}: {message}" if prefix else f"{problem}: {message}"


_M = TypeVar("_M", bound=BaseModel)


def validate(
    model: type[_M], data: Any, problem: str, known: set[str], lines: Lines | None = None
) -> _M:
    """``data`` as ``model``, or a BadInputError naming the first problem and its line."""
    try:
        return model.model_validate(data, context={KNOWN_EVIDENCE: known})
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(first["loc"])
        error = (first.get("ctx") or {}).get("error")
        if isinstance(error, Located):
            loc = (*loc, *error.loc)
        message = first["msg"].removeprefix("Value error, ").rstrip(".")
        extra = len(errors) - 1
        more = f" (and {extra} more problem{'s' * (extra > 1)})" if extra else ""
        raise BadInputError(
            f"{describe(problem, loc, message, data, lines or {})}{more}."
        ) from None
