"""Automated control tests: one module per control area, each check a pure function.

Importing an area module registers its checks; ``load_all`` imports every area.
"""

from __future__ import annotations

import importlib

AREAS = (
    "authentication",
    "hardening",
    "access",
    "accounts",
    "webservices",
    "logging",
    "backups",
    "operations",
    "privacy",
    "identity",
    "reviews",
)


def load_all() -> None:
    for area in AREAS:
        importlib.import_module(f"moodle_soc.checks.{area}")
