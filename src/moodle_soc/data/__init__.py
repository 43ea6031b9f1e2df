"""Reference data about Moodle itself, shipped with the package: branches and their support
dates, point releases, the standard plugins of each branch and known security advisories.

The files and their sources are described in ``README.md`` in this folder; the modules here
load and validate them (``releases`` and ``advisories``).
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable


def data_file(name: str) -> Traversable:
    """A file shipped in this folder (``"branches.yaml"``, ``"standard_plugins/5.1.txt"``)."""
    return resources.files(__name__).joinpath(name)
