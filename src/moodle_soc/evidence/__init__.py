"""The evidence locker: an append-only, hash-chained record of runs, attachments and reviews.

Names are imported on first use (PEP 562) to keep CLI start-up fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EvidenceStore": "store",
    "SiteRef": "store",
    "StoredRecord": "store",
    "open_store": "store",
}

__all__ = sorted(_EXPORTS, key=lambda name: (not name.isupper(), name))


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'moodle_soc.evidence' has no attribute {name!r}")
    return getattr(importlib.import_module(f"moodle_soc.evidence.{_EXPORTS[name]}"), name)
