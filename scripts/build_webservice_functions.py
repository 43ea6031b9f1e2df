"""Regenerate ``src/moodle_soc/data/webservice_functions.yaml`` from Moodle source trees.

Moodle declares each external function's type (``read`` or ``write``) only in the PHP file
``db/services.php`` of its component; the database's ``external_functions`` table does not keep
it. This script reads those files from git trees of real Moodle releases (one per branch) and
writes the name → type table the ``webservices.token_functions_approved`` check uses.

Usage (each SNAPSHOT is ``branch=git_dir@commit``; the git dirs are plain clones or mirrors)::

    python scripts/build_webservice_functions.py \\
        3.9=/path/moodle.git@500c131e 4.1=/path/moodle.git@0ea3d45e ... > webservice_functions.yaml

Only components in that branch's standard plugin list (``data/standard_plugins/<branch>.txt``)
and core (``lib/db/services.php``) are read, so a fork's local plugins never leak in. The
script needs git and the trees; the tests never run it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent.parent / "src" / "moodle_soc" / "data"


@dataclass(frozen=True)
class Snapshot:
    branch: str
    git_dir: str
    commit: str
    repository: str


def _git(snapshot: Snapshot, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", snapshot.git_dir, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _show(snapshot: Snapshot, path: str) -> str:
    return _git(snapshot, "show", f"{snapshot.commit}:{path}")


def _plugin_type_dirs(snapshot: Snapshot, paths: list[str]) -> dict[str, str]:
    """Directory → plugin type, from lib/components.json and every db/subplugins.json."""
    dirs: dict[str, str] = {}
    for path in ["lib/components.json"] + [p for p in paths if p.endswith("db/subplugins.json")]:
        declared = json.loads(_show(snapshot, path)).get("plugintypes", {})
        for plugintype, directory in declared.items():
            dirs[directory.replace("\\/", "/")] = plugintype
    return dirs


def _skip_string(text: str, start: int) -> int:
    quote, index = text[start], start + 1
    while text[index] != quote:
        index += 2 if text[index] == "\\" else 1
    return index + 1


def _closing_bracket(text: str, start: int) -> int:
    """Index just past the bracket that closes the one at ``start`` (strings, comments skipped)."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char in "'\"":
            index = _skip_string(text, index)
            continue
        if text.startswith("//", index) or char == "#":
            index = text.index("\n", index)
            continue
        if text.startswith("/*", index):
            index = text.index("*/", index) + 2
            continue
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise ValueError("unbalanced brackets")


ENTRY = re.compile(r"""['"]([a-z][a-z0-9_]*)['"]\s*=>\s*(array\s*\(|\[)""")
TYPE = re.compile(r"""['"]type['"]\s*=>\s*['"](read|write)['"]""")


def functions_in(php: str) -> dict[str, str]:
    """The ``$functions`` array of one services.php: function name → declared type."""
    match = re.search(r"\$functions\s*=\s*(array\s*\(|\[)", php)
    if not match:
        return {}
    body_start = match.end() - 1
    end = _closing_bracket(php, body_start)
    found: dict[str, str] = {}
    index = body_start + 1
    while True:
        entry = ENTRY.search(php, index, end)
        if not entry:
            return found
        open_at = entry.end() - 1
        close_at = _closing_bracket(php, open_at)
        declared = TYPE.search(php, open_at, close_at)
        # An entry without 'type' has none in Moodle either (external_api leaves it unset):
        # it stays out of the table, so the check calls its type unknown.
        if declared:
            found[entry.group(1)] = declared.group(1)
        index = close_at


def read_snapshot(snapshot: Snapshot) -> dict[str, tuple[str, str]]:
    """Function name → (type, component) for core and the branch's standard plugins."""
    standard = set((DATA / "standard_plugins" / f"{snapshot.branch}.txt").read_text().split())
    paths = _git(snapshot, "ls-tree", "-r", "--name-only", snapshot.commit).splitlines()
    type_dirs = _plugin_type_dirs(snapshot, paths)
    functions: dict[str, tuple[str, str]] = {}
    for path in sorted(p for p in paths if p.endswith("db/services.php")):
        plugin_dir = path.removesuffix("/db/services.php")
        if plugin_dir in ("lib", "public/lib"):
            component = "core"
        else:
            parent, _, name = plugin_dir.rpartition("/")
            plugintype = type_dirs.get(parent)
            component = f"{plugintype}_{name}" if plugintype else ""
            if component not in standard:
                continue
        for function, kind in functions_in(_show(snapshot, path)).items():
            functions[function] = (kind, component)
    return functions


def build(snapshots: list[Snapshot]) -> dict[str, object]:
    types: dict[str, str] = {}
    branches: dict[str, list[str]] = {}
    changed: list[str] = []
    for snapshot in snapshots:
        for function, (kind, _component) in read_snapshot(snapshot).items():
            if function in types and types[function] != kind:
                changed.append(
                    f"{function}: {types[function]} before {snapshot.branch}, {kind} from"
                )
            types[function] = kind  # the newest branch wins; snapshots come oldest first
            branches.setdefault(function, []).append(snapshot.branch)
    return {
        "description": (
            "Type (read or write) of every external function that core and the standard plugins"
            " declare in db/services.php, per the branches listed; the newest branch's type wins"
            " where one changed. external_functions in the database does not keep the type."
        ),
        "sources": [
            {
                "branch": s.branch,
                "repository": s.repository,
                "commit": s.commit,
                "paths": "lib/db/services.php and <standard plugin>/db/services.php",
            }
            for s in snapshots
        ],
        "type_changed": changed,
        "functions": {
            name: {"type": types[name], "branches": f"{branches[name][0]}-{branches[name][-1]}"}
            for name in sorted(types)
        },
    }


def main(argv: list[str]) -> None:
    snapshots = []
    for spec in argv:
        branch, _, rest = spec.partition("=")
        git_dir, _, commit = rest.rpartition("@")
        repository = Path(git_dir).parent.name.replace("+", "/")
        full = subprocess.run(
            ["git", "--git-dir", git_dir, "rev-parse", commit],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        snapshots.append(Snapshot(branch, git_dir, full, repository))
    header = "# Generated by scripts/build_webservice_functions.py; see README.md\n"
    sys.stdout.write(header + yaml.safe_dump(build(snapshots), sort_keys=False, width=100))


if __name__ == "__main__":
    main(sys.argv[1:])
