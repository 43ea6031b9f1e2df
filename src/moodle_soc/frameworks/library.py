"""Every framework a run can be seen through: the built-in ones and a user's own files.

SOC 2 and SOC 1 come from the catalogue (they also label each finding); ISO/IEC 27001:2022 and
NIST SP 800-53 Rev. 5 are further files in this package; a user names their own file by path.
Each mapping still has one home, its framework file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection
from importlib.resources import files
from pathlib import Path

from moodle_soc.errors import UsageError
from moodle_soc.frameworks.catalogue import (
    Framework,
    load_catalogue,
    load_framework_file,
    parse_framework,
)

#: The shipped frameworks beyond the catalogue, by id.
_EXTRA_FILES = {"iso27001": "iso27001.yaml", "nist-800-53": "nist-800-53.yaml"}


@functools.cache
def builtin_frameworks() -> tuple[Framework, ...]:
    """SOC 2, SOC 1, ISO/IEC 27001:2022 Annex A and NIST SP 800-53 Rev. 5, in that order."""
    catalogue = load_catalogue()
    package = files("moodle_soc.frameworks")
    extra = tuple(
        parse_framework(package.joinpath(name).read_bytes(), name) for name in _EXTRA_FILES.values()
    )
    return (catalogue.soc2, catalogue.soc1, *extra)


def builtin_ids() -> tuple[str, ...]:
    return tuple(framework.id for framework in builtin_frameworks())


def builtin_framework(framework_id: str) -> Framework:
    """A built-in framework by id; a UsageError naming the known ids otherwise."""
    for framework in builtin_frameworks():
        if framework.id == framework_id:
            return framework
    known = ", ".join(builtin_ids())
    raise UsageError(
        f"Unknown framework {framework_id!r}; give one of {known} or the path of a framework file."
    )


def resolve_framework(
    reference: str | os.PathLike[str], known_checks: Collection[str] | None = None
) -> Framework:
    """A built-in framework id, or the path of a framework file (validated, with every check
    id it maps checked against ``known_checks`` when given)."""
    text = os.fspath(reference)
    if text in builtin_ids():
        return builtin_framework(text)
    looks_like_path = text.endswith((".yaml", ".yml")) or os.sep in text
    if isinstance(reference, Path) or looks_like_path or Path(text).is_file():
        return load_framework_file(text, known_checks)
    return builtin_framework(text)


def resolve_frameworks(
    references: Collection[str | os.PathLike[str]], known_checks: Collection[str] | None = None
) -> tuple[Framework, ...]:
    """Each reference resolved once, in order; two frameworks with one id are refused."""
    frameworks: list[Framework] = []
    for reference in references:
        framework = resolve_framework(reference, known_checks)
        if any(f.id == framework.id for f in frameworks):
            raise UsageError(f"Framework {framework.id!r} is given twice.")
        frameworks.append(framework)
    return tuple(frameworks)
