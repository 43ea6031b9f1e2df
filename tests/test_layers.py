"""The package's layers point one way: an import only ever goes down (or stays in its node).

The graph is read from the source with ``ast`` (nothing is imported), so the test also sees
imports inside functions and under ``TYPE_CHECKING``: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "moodle_soc"

#: Bottom to top. A node is a module prefix; a module belongs to its longest matching node.
#: Nodes in one layer may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("moodle_soc", "errors", "evidence", "yamlfile"),
    ("results", "safety"),
    ("policy",),
    ("settings_file",),
    ("frameworks", "models", "data"),
    ("site", "probes"),
    ("synthetic",),
    ("inventory", "changes", "logreview"),
    ("checks",),
    ("reports",),
    ("evidence.store",),
    ("reviews", "programme"),
    ("evidence.periods",),
    ("evidence.package", "evidence.oscal"),
    ("api",),
    ("fleet",),
    ("cli", "web"),
    ("__main__",),  # python -m moodle_soc: the CLI
)  # fmt: skip


def node_of(module: str, layers: Iterable[Iterable[str]] = LAYERS) -> str:
    """The node a dotted module (``moodle_soc.x.y``) belongs to."""
    name = module.removeprefix("moodle_soc.") if module != "moodle_soc" else "moodle_soc"
    nodes = [n for layer in layers for n in layer]
    matches = [n for n in nodes if name == n or name.startswith(n + ".")]
    if not matches:
        raise AssertionError(f"{module} belongs to no layer; add its package to LAYERS.")
    return max(matches, key=len)


def imports_of(path: Path, module: str) -> set[str]:
    """Every moodle_soc module ``path`` imports (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("moodle_soc"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if base.startswith("moodle_soc"):
                found.add(base)
                # ``from moodle_soc.evidence import store`` imports the submodule.
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def package_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[module] = imports_of(path, module)
    return graph


def violations(
    graph: Mapping[str, Iterable[str]], layers: tuple[tuple[str, ...], ...] = LAYERS
) -> list[str]:
    """Imports that point up a layer or sideways between nodes of one layer."""
    rank = {node: index for index, layer in enumerate(layers) for node in layer}
    known = set(graph)
    problems: list[str] = []
    for source, targets in sorted(graph.items()):
        here = node_of(source, layers)
        for target in sorted(targets):
            if target not in known and target.rsplit(".", 1)[0] in known:
                target = target.rsplit(".", 1)[0]  # ``from pkg.mod import name``
            there = node_of(target, layers)
            if there == here or rank[there] < rank[here]:
                continue
            way = "up" if rank[there] > rank[here] else "sideways"
            problems.append(f"{source} imports {target} ({here} -> {there}: {way})")
    return sorted(set(problems))


def test_every_import_points_down_the_layers():
    assert violations(package_graph()) == []


def test_every_package_has_a_layer():
    for module in package_graph():
        node_of(module)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"moodle_soc.checks.x": {"moodle_soc.site.y"}, "moodle_soc.site.y": set()}, []),
        (
            {"moodle_soc.site.y": {"moodle_soc.checks.x"}, "moodle_soc.checks.x": set()},
            ["moodle_soc.site.y imports moodle_soc.checks.x (site -> checks: up)"],
        ),
        (
            {"moodle_soc.cli.a": {"moodle_soc.web.b"}, "moodle_soc.web.b": set()},
            ["moodle_soc.cli.a imports moodle_soc.web.b (cli -> web: sideways)"],
        ),
    ],
    ids=["down", "back-edge", "sideways"],
)
def test_a_reintroduced_back_edge_is_caught(graph, expected):
    assert violations(graph) == expected
