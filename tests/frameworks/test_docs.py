"""docs/frameworks.md stays true: its example file loads, its error is the one users get, and
its coverage table is what the shipped files say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moodle_soc.checks.registry import all_checks
from moodle_soc.errors import BadInputError
from moodle_soc.frameworks import builtin_frameworks, load_framework_file

DOC = Path(__file__).resolve().parents[2] / "docs" / "frameworks.md"
CHECK_IDS = frozenset(spec.id for spec in all_checks())


def _example() -> str:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)[0]


def test_the_example_framework_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(_example())
    framework = load_framework_file(path, CHECK_IDS)
    assert [c.id for c in framework.criteria] == ["SEC-1", "OPS-1"]


def test_the_documented_error_is_the_real_one(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(
        _example().replace("backups.automated_backups_enabled", "backups.automated_backup_enabled")
    )
    with pytest.raises(BadInputError) as caught:
        load_framework_file(path, CHECK_IDS)
    shown = f"moodle-soc: error: {caught.value.message.replace(str(path), 'acme.yaml')}"
    assert shown in DOC.read_text(encoding="utf-8")


def test_the_coverage_table_matches_the_files() -> None:
    text = DOC.read_text(encoding="utf-8")
    for framework in builtin_frameworks():
        c = framework.coverage()
        row = f"| {len(framework.criteria)} | {c['automated']} / {c['partly']} / {c['manual']} |"
        assert re.search(rf"^\| `{framework.id}` \| .* {re.escape(row)}$", text, re.M), row
