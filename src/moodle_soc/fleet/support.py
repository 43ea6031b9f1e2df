"""Is a Moodle branch still supported? The answer comes from the shipped release data
(``moodle_soc.data.releases``: general and security support end per branch)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from moodle_soc.data.releases import branches

SupportState = Literal["supported", "security_only", "unsupported"]


class BranchSupport(BaseModel):
    model_config = ConfigDict(frozen=True)

    branch: str
    state: SupportState
    general_support_end: date
    security_support_end: date


def branch_support(label: str, on: date) -> BranchSupport | None:
    """The support state of branch ``label`` (``"4.1"``) on ``on``; None when not known."""
    found = branches().get(label)
    if found is None:
        return None
    general = found.general_support_end
    security = found.security_support_end
    state: SupportState = (
        "supported" if on <= general else "security_only" if on <= security else "unsupported"
    )
    return BranchSupport(
        branch=label, state=state, general_support_end=general, security_support_end=security
    )


def support_data_available() -> bool:
    return bool(branches())
