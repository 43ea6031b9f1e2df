"""The ``moodle-soc`` console script, run as a user runs it: a subprocess of the venv's script."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from moodle_soc.cli.main import app

from .conftest import DemoRun, restored
from .fixtures import WEAK, describe, run_cli

pytestmark = pytest.mark.integration

AS_OF = "2026-11-29T12:00:00Z"
#: Anything that would make the HTML report fetch something when opened.
EXTERNAL_REFERENCE = re.compile(
    r"<script[^>]+\bsrc=|<link[^>]+\bhref=[\"']?(?:https?:)?//|<img[^>]+\bsrc=[\"']?(?:https?:)?//"
    r"|url\(\s*[\"']?(?:https?:)?//|@import",
    re.I,
)


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command of the CLI, discovered, so a new one cannot skip --help."""
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = [()]

    def walk(command: Any, prefix: tuple[str, ...]) -> None:
        for name, sub in (getattr(command, "commands", None) or {}).items():
            paths.append((*prefix, name))
            walk(sub, (*prefix, name))

    walk(root, ())
    return paths


def test_help_of_the_console_script(tmp_path: Path) -> None:
    done = run_cli("--help", cwd=tmp_path)
    assert done.returncode == 0, describe(done)
    assert "Usage:" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "moodle-soc")
def test_help_of_every_command(
    path: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process (the console script itself is run above): one interpreter start-up per
    command cost about 20 s of CPU in all and tested nothing the start-up above does not."""
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, [*path, "--help"], env={"NO_COLOR": "1", "COLUMNS": "160"})
    assert done.exit_code == 0, f"{done.output}\n{done.exception!r}"
    assert "Usage:" in done.stdout
    assert done.stderr == ""


def test_version(tmp_path: Path) -> None:
    from moodle_soc import __version__

    done = run_cli("--version", cwd=tmp_path)
    assert done.returncode == 0, describe(done)
    assert done.stdout.strip() == f"moodle-soc {__version__}"


# --- demo ----------------------------------------------------------------------------------------


def test_demo_writes_a_self_contained_html_report(demo_run: DemoRun) -> None:
    assert demo_run.done.returncode == 0, describe(demo_run.done)
    assert "Traceback" not in demo_run.done.stderr
    assert demo_run.report.is_file(), describe(demo_run.done)
    page = demo_run.html
    assert page.lstrip().lower().startswith(("<!doctype html", "<html"))
    assert page.rstrip().lower().endswith("</html>")
    assert "Acme Academy" in page
    external = EXTERNAL_REFERENCE.findall(page)
    assert not external, f"the report loads external resources: {external[:5]}"
    assert "report.html" in demo_run.done.stderr  # "Wrote HTML report to ..."


def test_demo_prints_a_short_summary_and_where_the_report_is(demo_run: DemoRun) -> None:
    lines = demo_run.done.stdout.splitlines()
    assert 5 <= len(lines) <= 12, demo_run.done.stdout
    assert lines[0].startswith("Acme Academy (https://acme.example.test), Moodle ")
    summary = re.fullmatch(
        r"  (\d+) checks: (\d+) failed \(.*\), (\d+) need manual evidence, (\d+) passed"
        r"((?:, \d+ (?:accepted|could not run|not applicable))*)\.",
        lines[1],
    )
    assert summary, lines[1]
    others = [int(n) for n in re.findall(r"\d+", summary[5])]
    # Every check is counted once: the parts add up to the total.
    assert int(summary[1]) == sum(map(int, summary.groups()[1:4])) + sum(others), lines[1]
    assert "    CRITICAL authentication.mfa_enabled: " in demo_run.done.stdout
    assert lines[-1] == "Full report: tmp/report.html (or run 'moodle-soc demo --verbose')."
    built = demo_run.done.stderr.splitlines()[0]
    assert built.startswith("Built the synthetic Acme Academy site (120 users) at acme.sqlite")
    assert "/tmp/" not in built and "moodle-soc-demo-" not in demo_run.done.stderr


# --- scan on the synthetic demo site -----------------------------------------------------------


def _demo_scan(demo_run: DemoRun, *args: str, env: dict[str, str] | None = None) -> Any:
    prefix = "mdl_"
    return run_cli(
        "scan", "--db", f"sqlite:///{demo_run.site_db}", "--prefix", prefix,
        "--wwwroot", "https://acme.example.test", "--as-of", AS_OF, *args,
        cwd=demo_run.workdir, env=env,
    )  # fmt: skip


def test_json_goes_to_stdout_and_progress_to_stderr(demo_run: DemoRun) -> None:
    # FORCE_COLOR makes rich draw its progress bar although stderr is a pipe.
    done = _demo_scan(demo_run, "--format", "json", env={"FORCE_COLOR": "1"})
    assert done.returncode == 0, describe(done)
    report = json.loads(done.stdout)  # the whole of stdout is the document
    assert report["findings"] and report["checks"] and report["queries"]
    assert "Checking" in done.stderr, describe(done)
    assert "{" not in done.stderr.split("Checking", 1)[0]


def test_fail_on_sets_the_exit_code(demo_run: DemoRun) -> None:
    report = json.loads(_demo_scan(demo_run, "--format", "json", "--quiet").stdout)
    declared = {c["id"]: c["severity"] for c in report["checks"]}  # unless a row says its own
    high = [
        f
        for f in report["findings"]
        if f["status"] == "fail"
        and f.get("severity", declared[f["check_id"]]) in {"high", "critical"}
    ]
    assert high, "the demo site is expected to have high-severity failures"
    failing = _demo_scan(demo_run, "--quiet", "--fail-on", "high")
    assert failing.returncode == 1, describe(failing)
    passing = _demo_scan(demo_run, "--quiet", "--fail-on", "none")
    assert passing.returncode == 0, describe(passing)


def test_unknown_check_is_a_usage_error(demo_run: DemoRun) -> None:
    done = _demo_scan(demo_run, "--check", "no.such_check")
    assert done.returncode == 2, describe(done)
    assert "Traceback" not in done.stderr


def test_only_selected_checks_run(demo_run: DemoRun) -> None:
    done = _demo_scan(demo_run, "--format", "json", "--check", "authentication.mfa_enabled")
    assert done.returncode == 0, describe(done)
    assert {c["id"] for c in json.loads(done.stdout)["checks"]} == {"authentication.mfa_enabled"}


# --- nagios on the weak site ---------------------------------------------------------------------


def test_nagios_line_is_critical_on_the_weak_site(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    site = restored(request, WEAK)
    config = site.write_config_php(tmp_path)
    done = run_cli(
        "scan", "--config", config, "--as-of", WEAK.as_of, "--nagios", cwd=tmp_path,
        env={"MOODLE_SOC_DB_PASSWORD": ""},
    )  # fmt: skip
    assert done.returncode == 2, describe(done)
    lines = done.stdout.splitlines()
    assert len(lines) == 1, describe(done)
    assert lines[0].startswith("CRITICAL"), lines[0]


# --- the catalogue commands ----------------------------------------------------------------------


def test_checks_list(tmp_path: Path) -> None:
    table = run_cli("checks", "list", cwd=tmp_path)
    assert table.returncode == 0, describe(table)
    assert "authentication.mfa_enabled" in table.stdout
    listed = run_cli("checks", "list", "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, describe(listed)
    rows = json.loads(listed.stdout)
    assert len(rows) >= 40
    assert all(row["criteria"] for row in rows), [r["id"] for r in rows if not r["criteria"]]
    assert len({row["id"] for row in rows}) == len(rows)


def test_checks_show(tmp_path: Path) -> None:
    done = run_cli("checks", "show", "authentication.mfa_enabled", cwd=tmp_path)
    assert done.returncode == 0, describe(done)
    for word in ("authentication.mfa_enabled", "Severity:", "Why:", "Criteria:", "Remediation:"):
        assert word in done.stdout, done.stdout
    unknown = run_cli("checks", "show", "no.such_check", cwd=tmp_path)
    assert unknown.returncode == 2, describe(unknown)
    assert "Traceback" not in unknown.stderr


def test_checks_policy(tmp_path: Path) -> None:
    from moodle_soc.policy import Policy

    done = run_cli("checks", "policy", cwd=tmp_path)
    assert done.returncode == 0, describe(done)
    for name, _, _ in Policy().thresholds():
        assert name in done.stdout, name
    (tmp_path / "moodle-soc.yaml").write_text("policy:\n  max_site_admins: 7\n", encoding="utf-8")
    custom = run_cli("checks", "policy", cwd=tmp_path)
    assert custom.returncode == 0, describe(custom)
    assert re.search(r"max_site_admins\W+7\b", custom.stdout), custom.stdout
