"""The public API: complete, light to import, and the docs page's code runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import moodle_soc.api as api

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
HEAVY = ("sqlalchemy", "jinja2", "weasyprint", "openpyxl", "trestle", "psycopg", "pymysql")


def test_every_exported_name_resolves_and_the_list_is_sorted():
    assert api.__all__ == sorted(api.__all__)
    assert all(getattr(api, name) is not None for name in api.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        api.nothing  # noqa: B018


def test_importing_the_api_loads_no_heavy_module():
    code = f"import sys, moodle_soc.api; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_the_docs_page_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4  # a scan, a verification, an export, an inventory
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert (tmp_path / "acme-evidence.zip").is_file()
    assert os.path.getsize(tmp_path / "evidence.sqlite") > 0
    assert "Request the full report" in (tmp_path / "trust.html").read_text(encoding="utf-8")
