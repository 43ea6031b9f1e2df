"""Support status and known advisories for a site's observed state.

A branch is out of security support after its ``security_support_end`` (``data/branches.yaml``).
An advisory applies when its component is installed (``core`` and ``core_*`` always are) and
the component's version falls in one of its affected ranges: for core and standard plugins the
site's Moodle version, for an additional plugin that plugin's own version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from moodle_soc.data.advisories import Advisory, AdvisoryFile
from moodle_soc.data.releases import (
    Branch,
    branches,
    latest_release,
    release_name,
    removed_plugins,
    standard_plugins,
)
from moodle_soc.models.state import SiteState


@dataclass(frozen=True)
class SupportStatus:
    branch: str
    release: str | None  # e.g. "4.1.10"
    known: bool  # the shipped data covers this branch
    security_support_end: date | None
    supported: bool | None  # None when the branch is unknown
    latest: str | None  # the newest release of the branch published by the audit date
    behind_latest: bool


@dataclass(frozen=True)
class AdvisoryMatch:
    advisory: Advisory
    component: str
    version: str  # the version judged (Moodle's for core components)
    range: str
    fixes: tuple[str, ...]  # fixed releases on the site's branch (empty: none)

    @property
    def remedy(self) -> str:
        if self.fixes:
            return f"upgrade to {' or '.join(self.fixes)} or later"
        if self.advisory.fixed:
            fixed = ", ".join(self.advisory.fixed)
            return f"no fix on this branch; upgrade to a branch fixed in {fixed}"
        return "no fixed release is listed"


def branch_for(state: SiteState) -> Branch | None:
    return branches().get(state.moodle_label)


def support_status(state: SiteState, on: date) -> SupportStatus:
    """Whether the site's branch still receives security fixes on ``on``."""
    branch = branch_for(state)
    name = release_name(state.moodle_version)
    if branch is None:
        return SupportStatus(state.moodle_label, name, False, None, None, None, False)
    latest = latest_release(branch.branch, on)
    latest_name = latest.release.removesuffix(".0") if latest else None
    behind = latest is not None and Decimal(state.moodle_version) < latest.version_int
    return SupportStatus(
        branch=branch.branch,
        release=name,
        known=True,
        security_support_end=branch.security_support_end,
        supported=on <= branch.security_support_end,
        latest=latest_name,
        behind_latest=behind,
    )


def is_core_component(component: str, label: str) -> bool:
    """Core subsystems and the plugins Moodle ships in branch ``label`` (or once shipped)."""
    if component == "core" or component.startswith("core_"):
        return True
    return component in standard_plugins(label) or component in removed_plugins(label)


def _number(value: str | None) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return None


def _fixes(advisory: Advisory, label: str) -> tuple[str, ...]:
    return tuple(f for f in advisory.fixed if f == label or f.startswith(label + "."))


def matching_advisories(state: SiteState, advisories: AdvisoryFile) -> list[AdvisoryMatch]:
    """The advisories that apply to ``state``, by component, most recent first."""
    found: list[AdvisoryMatch] = []
    core_version = Decimal(state.moodle_version)
    for advisory in advisories.advisories:
        component = advisory.component
        if is_core_component(component, state.moodle_label):
            installed = component.startswith("core") or component in state.plugins
            version, core = (core_version if installed else None), True
        else:
            version, core = _number(state.plugins.get(component)), False
        if version is None:
            continue
        matched = advisory.matching_range(version, core=core)
        if matched is not None:
            shown = state.moodle_version if core else str(state.plugins.get(component))
            found.append(
                AdvisoryMatch(
                    advisory, component, shown, matched, _fixes(advisory, state.moodle_label)
                )
            )
    return sorted(found, key=lambda m: (m.advisory.published, m.advisory.id), reverse=True)
