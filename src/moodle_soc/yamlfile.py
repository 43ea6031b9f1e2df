"""YAML parsed by libyaml when PyYAML was built with it, with PyYAML's own error messages.

The pure-Python parser takes about 0.3 s for the catalogues and data files a scan reads
(advisories, releases, the frameworks); libyaml takes a tenth of that. Its error messages are
worded differently, so a document libyaml refuses is parsed again by the pure-Python loader:
a user sees the same sentence either way, and a document only one parser accepts still loads.
"""

from __future__ import annotations

from typing import Any

import yaml

#: The fastest safe loader this PyYAML has (``CSafeLoader`` needs libyaml).
FAST_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str | bytes) -> Any:
    """``yaml.safe_load`` through libyaml; a refused document raises PyYAML's own error."""
    if FAST_SAFE_LOADER is yaml.SafeLoader:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=FAST_SAFE_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)
