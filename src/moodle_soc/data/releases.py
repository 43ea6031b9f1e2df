"""Moodle branches, point releases and standard plugins, as shipped in this folder.

A point release ``x.y.z`` has ``$version`` = the branch's base + ``z`` (``YYYYMMDDRR.00``, checked
against ``version.php`` for 35 releases), so a site's ``config.version`` names its release;
decimals (``2022112810.03``) are weekly builds after that release ("4.1.10+").
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from moodle_soc.data import data_file
from moodle_soc.yamlfile import safe_load

_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


class Branch(BaseModel):
    """One major branch (``4.1``): when it shipped and until when it receives fixes."""

    model_config = ConfigDict(frozen=True)

    branch: str
    branch_code: str
    version_base: int
    released: date
    general_support_end: date
    security_support_end: date
    lts: bool

    def version_of(self, point: int) -> int:
        """``$version`` (without decimals) of point release ``x.y.point``."""
        return self.version_base + point


class Release(BaseModel):
    model_config = ConfigDict(frozen=True)

    branch: str
    release: str
    version_int: int
    date: date
    status: str


def _yaml(name: str) -> Any:
    return safe_load(data_file(name).read_text(encoding="utf-8"))


@cache
def branches() -> dict[str, Branch]:
    """Every shipped branch by its label (``"3.9"`` … ``"5.1"``)."""
    found = [Branch.model_validate(item) for item in _yaml("branches.yaml")["branches"]]
    return {b.branch: b for b in found}


@cache
def releases() -> tuple[Release, ...]:
    """Every point release, oldest first."""
    found = [Release.model_validate(item) for item in _yaml("releases.yaml")["releases"]]
    return tuple(sorted(found, key=lambda r: r.version_int))


def branch_of(version: Decimal | int | str) -> Branch | None:
    """The branch a ``config.version`` belongs to; None before 3.9 or for unknown data."""
    build = int(Decimal(str(version)))
    candidates = [b for b in branches().values() if b.version_base <= build]
    if not candidates:
        return None
    return max(candidates, key=lambda b: b.version_base)


def release_name(version: Decimal | int | str) -> str | None:
    """``"4.1.10"`` for ``2022112810.00``, ``"4.1.10+"`` for a weekly build after it."""
    exact = Decimal(str(version))
    branch = branch_of(exact)
    if branch is None:
        return None
    point = int(exact) - branch.version_base
    if point < 0 or point >= 100:
        return None
    name = f"{branch.branch}.{point}" if point else branch.branch
    return name + ("+" if exact != int(exact) else "")


def release_version(text: str) -> int | None:
    """``$version`` (integer part) of release ``"4.1.11"`` or ``"4.4"``; None for an unknown
    branch (a release newer than the shipped data)."""
    match = _RELEASE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Moodle release such as 4.1.11")
    branch = branches().get(f"{match.group(1)}.{match.group(2)}")
    if branch is None:
        return None
    return branch.version_of(int(match.group(3) or 0))


def latest_release(branch: str, on: date) -> Release | None:
    """The newest release of ``branch`` published on or before ``on``."""
    shipped = [r for r in releases() if r.branch == branch and r.date <= on]
    return shipped[-1] if shipped else None


def _lines(name: str) -> frozenset[str]:
    try:
        text = data_file(f"standard_plugins/{name}").read_text(encoding="utf-8")
    except FileNotFoundError:
        return frozenset()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


@cache
def standard_plugins(branch: str) -> frozenset[str]:
    """Plugins Moodle ships as standard in ``branch`` (empty for a branch with no list)."""
    return _lines(f"{branch}.txt")


@cache
def removed_plugins(branch: str) -> frozenset[str]:
    """Formerly standard plugins that ``branch`` lists as deleted."""
    return _lines(f"removed_{branch}.txt")
