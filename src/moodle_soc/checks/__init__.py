"""Automated control tests: one module per control area, each check a pure function of the
scan context (``checks.context.ScanContext``).

``registry.all_checks`` reads the checks the modules of ``AREAS`` declare.
"""

from __future__ import annotations

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
    "changes",
    "plugins",
    "web",
)
