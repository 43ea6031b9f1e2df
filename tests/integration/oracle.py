"""Parse Moodle's own ``admin/cli/checks.php -v`` output (the oracle) into {ref: level}.

The files are the raw terminal output, ANSI colours included. A result row reads
``  WARNING | Password policy (core_passwordpolicy)``; continuation rows start with blanks
before the ``|``; the first line (``CRITICAL: <name> (<ref>)``) only repeats the worst row.
"""

from __future__ import annotations

import re
from pathlib import Path

LEVELS = ("ok", "info", "na", "unknown", "warning", "error", "critical")
#: Moodle levels that mean "nothing to fix" (exit code 0 of checks.php).
PASSING_LEVELS = frozenset({"ok", "info", "na"})
#: Moodle levels that ask an administrator to act.
FAILING_LEVELS = frozenset({"warning", "error", "critical"})
TYPES = ("security", "status", "performance")

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ROW = re.compile(r"^\s*(?P<level>[A-Z]+)\s*\|\s*(?P<name>.*\S)\s*\((?P<ref>[a-z0-9_]+)\)\s*$")


class OracleFormatError(ValueError):
    """The text is not ``checks.php`` output (no result rows, or an unknown level)."""


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_checks_output(text: str) -> dict[str, str]:
    """{ref: level} for every result row; levels are lower-case Moodle result levels."""
    found: dict[str, str] = {}
    for line in strip_ansi(text).splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        level = match["level"].lower()
        if level not in LEVELS:
            raise OracleFormatError(f"Unknown Moodle check level {match['level']!r} in {line!r}.")
        ref = match["ref"]
        if ref in found and found[ref] != level:
            raise OracleFormatError(f"Check {ref} is listed twice with different levels.")
        found[ref] = level
    if not found:
        raise OracleFormatError("No 'LEVEL | Name (ref)' rows found: not checks.php -v output.")
    return found


def load_oracle(directory: Path, stem: str) -> dict[str, str]:
    """Merge ``<stem>-checks-{security,status,performance}.txt`` of one site."""
    merged: dict[str, str] = {}
    for kind in TYPES:
        path = directory / f"{stem}-checks-{kind}.txt"
        merged.update(parse_checks_output(path.read_text(encoding="utf-8", errors="replace")))
    return merged
