"""The trust page: what a site's customers may see of its compliance programme.

It is built from counts only. It never carries a finding, a check id, a resource name, an
observed value or a reason sentence: customers learn how far each framework's requirements are
monitored and met, and where to ask for the full report.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class TrustCategory(BaseModel):
    """One category of a framework, in counts: how many requirements the scan monitors, how
    many of those are met, and how many rest on documents instead."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    name: str
    requirements: int
    monitored: int  # requirements with automated checks (fully or partly)
    met: int
    in_progress: int  # monitored requirements not met at the last scan (gap, accepted, error)
    documented: int  # requirements evidenced by manual evidence alone


class TrustFramework(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    name: str
    version: str
    requirements: int
    monitored: int
    met: int
    score: float | None
    categories: tuple[TrustCategory, ...]


class TrustPeriod(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    start: date
    end: date


class TrustPage(BaseModel):
    """Everything the public page shows, and nothing else."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    site_name: str
    site_url: str | None
    scope: str
    frameworks: tuple[TrustFramework, ...]
    periods: tuple[TrustPeriod, ...]
    last_scan: date
    contact: str  # an https:// URL or an email address
    contact_href: str
