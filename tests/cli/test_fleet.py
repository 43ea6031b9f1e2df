"""``moodle-soc fleet scan|report`` and ``monitor --once`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from moodle_soc.synthetic.builder import SiteBuilder

CLI = Path(sys.executable).with_name("moodle-soc")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLEET_TEST_WRONG_PW": "not-the-password"}
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=300,
        env=env,
    )  # fmt: skip


def _site(path: Path, seed: int) -> str:
    SiteBuilder(seed=seed, wwwroot=f"https://s{seed}.example.test").sqlite_file(path).dispose()
    return f"sqlite:///{path}"


def test_fleet_scan_reports_every_site_and_exits_3_when_one_failed(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text(
        f"""\
defaults: {{schedule: '0 3 * * *'}}
sites:
  - {{name: one, db: '{_site(tmp_path / "one.sqlite", 1)}', client: acme}}
  - {{name: two, db: '{_site(tmp_path / "two.sqlite", 2)}', client: acme}}
  - {{name: wrong-password, db: 'mariadb://root@127.0.0.1:3306/test',
      password_env: FLEET_TEST_WRONG_PW}}
  - {{name: down, db: 'postgresql://nobody@127.0.0.1:1/moodle'}}
"""
    )
    store = str(tmp_path / "evidence.sqlite")
    done = _run("fleet", "scan", "--sites", str(sites), "--store", store, "--workers", "2",
                "-q", "--as-of", "2026-11-29T07:00:00Z", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["one", "two", "wrong-password", "down"]
    assert lines[0].split()[1] == "findings" and "(record " in lines[0]
    assert "error" in lines[2] and "Access denied" in lines[2]
    assert "not-the-password" not in done.stdout + done.stderr
    assert "error" in lines[3] and "Cannot connect" in lines[3]
    assert "4 sites: 2 scanned, 2 could not be scanned" in done.stderr
    assert "Traceback" not in done.stderr

    only = _run("fleet", "scan", "--sites", str(sites), "--store", store, "--only", "acme",
                "-q", "--format", "json", "--fail-on", "high", cwd=tmp_path)  # fmt: skip
    assert only.returncode == 1  # every site scanned, high findings
    assert [o["site"] for o in json.loads(only.stdout)] == ["one", "two"]

    report = _run("fleet", "report", "--sites", str(sites), "--store", store, "-f", "json",
                  cwd=tmp_path)  # fmt: skip
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert set(data["never_scanned"]) == {"wrong-password", "down"}
    html = tmp_path / "fleet.html"
    assert _run("fleet", "report", "--sites", str(sites), "--store", store, "-o", str(html),
                cwd=tmp_path).returncode == 0  # fmt: skip
    assert '<table class="heat">' in html.read_text()

    state = tmp_path / "monitor.json"
    once = _run("monitor", "--sites", str(sites), "--store", store, "--once", "--state",
                str(state), "--only", "one", cwd=tmp_path)  # fmt: skip
    assert once.returncode == 0, once.stderr
    assert "scan: one" in once.stdout and "alert: baseline" in once.stdout
    again = _run("monitor", "--sites", str(sites), "--store", store, "--once", "--state",
                 str(state), "--only", "one", cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0 and again.stdout == ""  # not due again, nothing re-sent


def test_a_bad_sites_file_is_one_line_with_line_numbers(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text("sites:\n  - name: a\n    db: sqlite:///x\n    schedule: often\n")
    done = _run("fleet", "scan", "--sites", str(sites), cwd=tmp_path)
    assert done.returncode == 7
    assert done.stderr.startswith("moodle-soc: error: ")
    assert "sites.yaml:4: sites[0].schedule: 'often' is not a cron schedule" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_celery_needs_a_broker(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text("sites:\n  - {name: a, db: 'sqlite:///x'}\n")
    done = subprocess.run(
        [str(CLI), "fleet", "scan", "--sites", str(sites), "--celery"],
        capture_output=True, text=True, check=False,
        env={k: v for k, v in os.environ.items() if k != "MOODLE_SOC_BROKER"},
    )  # fmt: skip
    assert done.returncode == 2 and "--celery needs --broker URL" in done.stderr
