"""Extract Moodle core's archetype defaults from ``lib/db/access.php`` into
``src/moodle_soc/data/archetypes.yaml``.

Moodle keeps each capability's default permissions per archetype in code (the ``archetypes``
array of ``$capabilities`` in ``lib/db/access.php``); ``get_default_capabilities()`` and the
role page's "Reset" read them from there. This script reads that file from git trees of real
Moodle releases (one per branch, listed in SOURCES below) with a small PHP-array reader, so no
PHP is needed, and writes the first branch in full and every later branch as a diff.

Usage (needs the git mirrors named in SOURCES, e.g. fetched with the project's ``fetch`` tool)::

    python scripts/extract_archetypes.py --mirrors /work/.mirror > archetypes.yaml
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

# branch, repository, commit (empty: the snapshot's HEAD), path of access.php
M, P = "lib/db/access.php", "public/lib/db/access.php"
SOURCES: tuple[tuple[str, str, str, str], ...] = (
    ("3.9", "cjamieso/moodle410", "500c131eb49771e36f68d151dfa37fef5a9bc2df", M),
    ("3.10", "RT-coding-team/the-well-moodle310", "", M),
    ("3.11", "nileshnpathade/moodle311", "", M),
    ("4.0", "cjamieso/moodle410", "8b359ad7a63cf219110bca80552fe3d4ea2a635d", M),
    ("4.1", "cjamieso/moodle410", "0ea3d45e04c3d54a3a472ddcb11606b30e227c50", M),
    ("4.2", "Gustavo-Ambrosio/Moodle_4.2.1_Portal-de-Aprendizagem", "", M),
    ("4.3", "phucbo9898/moodle-4.3", "", M),
    ("4.4", "huykunptit/Moodle4.4", "", M),
    ("4.5", "paulkennethsq1/hrsq1", "", M),
    ("5.0", "vhackero/Moodle5", "", M),
    ("5.1", "train2023-31/moodle", "", P),
)
ARCHETYPES = (
    "manager", "coursecreator", "editingteacher", "teacher", "student", "guest", "user", "frontpage"
)  # fmt: skip
PERMISSIONS = {"CAP_ALLOW": 1, "CAP_PREVENT": -1, "CAP_PROHIBIT": -1000, "CAP_INHERIT": 0}

_TOKEN = re.compile(
    r"""\s+|//[^\n]*|\#[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|=>|[()\[\],|]|[A-Za-z_][A-Za-z0-9_]*|-?\d+|\S""",
    re.S,
)


def _tokens(text: str) -> list[str]:
    found, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"cannot read PHP at {text[position : position + 40]!r}")
        token = match.group(0)
        position = match.end()
        if not (token.isspace() or token.startswith(("//", "#", "/*"))):
            found.append(token)
    return found


class _Reader:
    """Reads the PHP array literal that follows ``$capabilities =``."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.at = tokens, 0

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, found {token!r} at token {self.at}")
        self.at += 1
        return token

    def value(self) -> Any:
        token = self.tokens[self.at]
        if token in ("array", "["):
            return self.array()
        parts = [self.scalar()]
        while self.tokens[self.at] == "|":  # RISK_A | RISK_B
            self.take("|")
            parts.append(self.scalar())
        return parts if len(parts) > 1 else parts[0]

    def scalar(self) -> Any:
        token = self.take()
        if token[0] in "'\"":
            return token[1:-1]
        return int(token) if token.lstrip("-").isdigit() else token

    def array(self) -> dict[Any, Any]:
        close = ")" if self.take() == "array" else "]"
        if close == ")":
            self.take("(")
        result: dict[Any, Any] = {}
        index = 0
        while self.tokens[self.at] != close:
            item = self.value()
            if self.tokens[self.at] == "=>":
                self.take("=>")
                result[item] = self.value()
            else:
                result[index], index = item, index + 1
            if self.tokens[self.at] == ",":
                self.take(",")
        self.take(close)
        return result


def capabilities(php: str) -> dict[str, dict[str, Any]]:
    """``$capabilities`` of an access.php file, as nested dicts."""
    start = php.index("$capabilities")
    tokens = _tokens(php[php.index("=", start) + 1 :])
    return _Reader(tokens).value()


def defaults(caps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per archetype the capabilities it allows and prohibits, as get_default_capabilities()
    reads them ('archetypes', else the 1.9 'legacy' key), and the clone sources."""
    allow: dict[str, list[str]] = {a: [] for a in ARCHETYPES}
    prohibit: dict[str, list[str]] = {a: [] for a in ARCHETYPES}
    clones: dict[str, str] = {}
    for name, definition in sorted(caps.items()):
        given = definition.get("archetypes", definition.get("legacy", {})) or {}
        for archetype, permission in given.items():
            value = PERMISSIONS[permission]
            if value == 1:
                allow[archetype].append(name)
            elif value == -1000:
                prohibit[archetype].append(name)
        if "clonepermissionsfrom" in definition:
            clones[name] = definition["clonepermissionsfrom"]
    known = {"capabilities": sorted(caps)}
    return {"known": known, "allow": allow, "prohibit": prohibit, "clonepermissionsfrom": clones}


def _git(mirror: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(mirror), *args], check=True, capture_output=True, text=True
    ).stdout


def _diff(old: dict[str, list[str]], new: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    changes: dict[str, dict[str, list[str]]] = {}
    for archetype in new:
        added = sorted(set(new[archetype]) - set(old[archetype]))
        removed = sorted(set(old[archetype]) - set(new[archetype]))
        if added or removed:
            changes[archetype] = {k: v for k, v in (("add", added), ("remove", removed)) if v}
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mirrors", type=Path, required=True, help="folder of owner+name/repo git dirs"
    )
    mirrors = parser.parse_args().mirrors
    out: dict[str, Any] = {"sources": [], "branches": []}
    previous: dict[str, Any] | None = None
    clones: dict[str, str] = {}  # the same source in every branch that has the capability
    for branch, repo, commit, path in SOURCES:
        mirror = mirrors / repo.replace("/", "+") / "repo"
        commit = commit or _git(mirror, "rev-parse", "HEAD").strip()
        root = "public/" if path.startswith("public/") else ""
        version_php = _git(mirror, "show", f"{commit}:{root}version.php")
        release = re.search(r"\$release\s*=\s*'([^']+)'", version_php)
        version = re.search(r"\$version\s*=\s*([\d.]+)", version_php)
        assert release and version, repo
        subject = _git(mirror, "log", "-1", "--format=%s", commit).strip()
        # A third-party tree may have edited the file after importing Moodle: count the commits
        # that touched it (1 = the import only; a whitespace-only change is checked by hand).
        edits = _git(mirror, "log", "--format=%h", commit, "--", path).split()
        found = defaults(capabilities(_git(mirror, "show", f"{commit}:{path}")))
        source: dict[str, Any] = {"branch": branch, "repository": repo, "commit": commit}
        source.update(path=path, release=release.group(1), version=version.group(1))
        source["subject"] = subject
        if not subject.startswith("Moodle release"):
            source["commits_touching_path"] = len(edits)
        out["sources"].append(source)
        entry: dict[str, Any] = {"branch": branch}
        for key in ("known", "allow", "prohibit"):
            if previous is None:
                entry[key] = found[key]
            else:
                entry[f"{key}_changes"] = _diff(previous[key], found[key])
        clones.update(found["clonepermissionsfrom"])
        out["branches"].append(entry)
        previous = found
    out["clonepermissionsfrom"] = dict(sorted(clones.items()))
    yaml.safe_dump(out, sys.stdout, sort_keys=False, width=100)


if __name__ == "__main__":
    main()
