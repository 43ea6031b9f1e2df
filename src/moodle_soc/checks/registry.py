"""The check catalogue: a check is a function declared with its metadata in one decorator.

The decorator attaches a ``CheckSpec`` to the function; ``all_checks`` finds the specs in the
area modules, so there is no registry to fill or forget. Criteria mappings do not live here:
they have one home, the framework YAML files.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext

CheckFunction = Callable[["ScanContext"], Iterable[Result]]

_ID_PATTERN = re.compile(r"^[a-z]+\.[a-z0-9_]+$")
_SPEC_ATTRIBUTE = "check_spec"


@dataclass(frozen=True)
class SettingFix:
    """A setting whose change fixes the check, turned into an ``admin/cli/cfg.php`` command."""

    name: str
    value: str
    plugin: str | None = None

    @property
    def command(self) -> str:
        component = f" --component={self.plugin}" if self.plugin else ""
        return f"php admin/cli/cfg.php{component} --name={self.name} --set={self.value}"


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its permanent id, metadata, and the function that decides it."""

    id: str
    title: str
    severity: Severity
    remediation: str
    function: CheckFunction = field(repr=False)
    moodle_check: str | None = None
    fix: SettingFix | None = None
    requires_tables: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def rationale(self) -> str:
        """The first paragraph of the docstring: the risk, in one sentence."""
        doc = (self.function.__doc__ or "").strip()
        return " ".join(doc.split("\n\n", 1)[0].split())

    @property
    def fix_command(self) -> str | None:
        return self.fix.command if self.fix else None

    def run(self, scan: ScanContext) -> Iterator[Result]:
        yield from self.function(scan)


def check(
    check_id: str,
    *,
    title: str,
    severity: Severity,
    remediation: str,
    moodle_check: str | None = None,
    fix: SettingFix | None = None,
    requires_tables: tuple[str, ...] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare ``function`` as the check ``check_id`` (``<area>.<thing>_<expected_state>``)."""
    if not _ID_PATTERN.match(check_id):
        raise ValueError(f"Check id {check_id!r} must read <area>.<thing>_<expected_state>.")
    if not remediation.endswith("."):
        raise ValueError(f"Remediation of {check_id} must be a full sentence.")

    def declare(function: CheckFunction) -> CheckFunction:
        if not (function.__doc__ or "").strip():
            raise ValueError(f"Check {check_id} needs a docstring that says why it matters.")
        spec = CheckSpec(
            id=check_id,
            title=title,
            severity=severity,
            remediation=remediation,
            function=function,
            moodle_check=moodle_check,
            fix=fix,
            requires_tables=requires_tables,
        )
        setattr(function, _SPEC_ATTRIBUTE, spec)
        return function

    return declare


def setting_check(
    check_id: str,
    *,
    name: str,
    plugin: str | None = None,
    passes: Callable[[str | None], bool],
    expectation: str,
    title: str,
    severity: Severity,
    remediation: str,
    moodle_check: str | None = None,
    fix: SettingFix | None = None,
    doc: str,
    remediation_for: Callable[[ScanContext], str | None] | None = None,
) -> CheckSpec:
    """Declare the 80 % case, "this setting must be X", in one call.

    ``passes`` receives the effective value (config.php > database > Moodle default) as Moodle
    stores it, a string or None; ``expectation`` completes the sentence "... ; <expectation>.".
    """

    def decide(scan: ScanContext) -> Iterator[Result]:
        site = scan.site
        value = site.settings.get(name, plugin)
        label = f"{plugin}/{name}" if plugin else name
        shown = "not set" if value is None else "empty" if value == "" else repr(value)
        source = site.settings.source(name, plugin)
        result = Result.pass_if(
            passes(value),
            f"Setting {label} is {shown} ({source}); {expectation}.",
            resource=f"setting:{label}",
            observed={label: value},
        )
        # Where the admin page depends on the site's version, the site's own path.
        exact = remediation_for(scan) if remediation_for is not None else None
        yield result.with_fix(remediation=exact) if exact else result

    decide.__doc__ = doc
    decide.__name__ = check_id.split(".", 1)[1]
    declared = spec_of(
        check(
            check_id,
            title=title,
            severity=severity,
            remediation=remediation,
            moodle_check=moodle_check,
            fix=fix,
        )(decide)
    )
    assert declared is not None
    return declared


def spec_of(value: object) -> CheckSpec | None:
    """The spec a module-level name declares: a ``@check`` function or a ``setting_check``."""
    if isinstance(value, CheckSpec):
        return value
    spec = getattr(value, _SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, CheckSpec) else None


def checks_in(modules: Iterable[ModuleType]) -> tuple[CheckSpec, ...]:
    """Every check the modules declare, in id order; an id declared twice is an error."""
    found: dict[str, CheckSpec] = {}
    for module in modules:
        for value in vars(module).values():
            spec = spec_of(value)
            if spec is None or found.get(spec.id) is spec:
                continue
            if spec.id in found:
                raise ValueError(f"Check id {spec.id!r} is declared twice.")
            found[spec.id] = spec
    return tuple(found[key] for key in sorted(found))


@cache
def all_checks() -> tuple[CheckSpec, ...]:
    """Every check of every area module (``checks.AREAS``), in id order."""
    from moodle_soc.checks import AREAS

    return checks_in(importlib.import_module(f"moodle_soc.checks.{area}") for area in AREAS)


def get_check(check_id: str) -> CheckSpec:
    for spec in all_checks():
        if spec.id == check_id:
            return spec
    raise KeyError(check_id)
