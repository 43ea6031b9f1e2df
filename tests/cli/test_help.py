"""The CLI a newcomer meets: help that fits 80 columns, a check list that never cuts an id,
and one-line errors that suggest what was meant (a mistyped command, option or check id)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from moodle_soc.checks.registry import all_checks
from moodle_soc.cli.main import app

CLI = Path(sys.executable).with_name("moodle-soc")


def _paths() -> list[tuple[str, ...]]:
    import typer.main

    paths: list[tuple[str, ...]] = [()]

    def walk(command: Any, prefix: tuple[str, ...]) -> None:
        for name, sub in (getattr(command, "commands", None) or {}).items():
            paths.append((*prefix, name))
            walk(sub, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return paths


def _invoke(*args: str, width: int = 80) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(width)}, terminal_width=width)


@pytest.mark.parametrize("path", _paths(), ids=lambda p: " ".join(p) or "moodle-soc")
def test_every_help_fits_80_columns(path: tuple[str, ...]) -> None:
    done = _invoke(*path, "--help")
    assert done.exit_code == 0, done.output
    too_wide = [line for line in done.output.splitlines() if len(line) > 80]
    assert too_wide == [], "\n".join(too_wide)


def test_scan_help_names_every_option_whole_with_a_readable_value() -> None:
    text = _invoke("scan", "--help").output
    for shown in ("--db URL", "--config FILE", "--as-of TIME", "--settings FILE", "--no-store"):
        assert shown in text
    assert "╭" not in text and "│" not in text  # no boxes that cut names and help


def test_a_hidden_alias_is_accepted_but_not_shown() -> None:
    text = _invoke("period", "report", "--help").output
    assert "--period FROM..TO" in text and "--from" not in text and "--to " not in text


@pytest.mark.parametrize("width", [80, 120])
def test_checks_list_never_cuts_a_check_id(width: int) -> None:
    done = _invoke("checks", "list", width=width)
    assert done.exit_code == 0
    lines = done.output.splitlines()
    assert max(len(line) for line in lines) <= width
    assert all(line.rstrip().endswith(("│", "┃", "┓", "┩", "┤", "┘")) for line in lines[1:])
    for spec in all_checks():
        assert f"│ {spec.id} " in done.output, spec.id


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, check=False, env=env, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("scna",), "No such command 'scna'. Did you mean 'scan'? See 'moodle-soc --help'."),
        (("evidence", "lst"), "Did you mean 'list'? See 'moodle-soc evidence --help'."),
        (("scan", "--sotre", "x"), "No such option: --sotre (Possible options: --no-store,"),
        (("scan", "-f", "xml"), "'xml' is not one of 'terminal', 'json', 'html', 'csv', 'xlsx';"),
        (("checks", "show", "mfa_enabled"), "did you mean authentication.mfa_enabled?"),
        (("checks", "show", "authentication.mfa_enable"), "did you mean authentication.mfa_e"),
        (("checks", "show", "zzz"), "Unknown check 'zzz'; see 'moodle-soc checks list'."),
        (
            ("evidence", "show", "1", "-f", "xml", "--store", "/nonexistent/e.sqlite"),
            "--format 'xml' is not one of terminal, json, html, csv, xlsx.",
        ),
        (
            ("evidence", "diff", "1", "2", "-f", "xml", "--store", "/nonexistent/e.sqlite"),
            "--format 'xml' is not one of terminal, json.",
        ),
        (
            ("review", "list", "-f", "xml", "--store", "/nonexistent/e.sqlite"),
            "--format 'xml' is not one of table, json.",
        ),
    ],
)
def test_a_mistake_is_one_line_that_suggests_what_was_meant(
    args: tuple[str, ...], line: str
) -> None:
    done = _run(*args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("moodle-soc: error: ") and line in done.stderr
    assert "Traceback" not in done.stderr
