"""``moodle-soc changes``, ``drift``, ``plugins``, ``advisories`` and ``scan --approvals`` on
synthetic SQLite sites (in process, through the registered application)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from moodle_soc.cli.main import app
from moodle_soc.data.advisories import shipped_advisories
from moodle_soc.errors import ExitCode
from moodle_soc.synthetic.builder import SiteBuilder

AS_OF = "2026-11-29T06:00:00Z"
NOW = 1795936000
HEADER = "ticket,title,requested_by,approved_by,approved_at,deploy_from,deploy_to,scope\n"


def sqlite_site(tmp_path: Path, builder: SiteBuilder, name: str = "site") -> str:
    path = tmp_path / f"{name}.sqlite"
    builder.sqlite_file(path).dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def site_url(tmp_path: Path, builder: SiteBuilder) -> str:
    builder.config_log("debug", "32767", "0", timemodified=NOW - 86400)
    builder.config_log("forcelogin", "0", "1", timemodified=NOW - 86400)
    builder.setting("version", "2025091100", "local_reports")
    return sqlite_site(tmp_path, builder)


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_changes_json_is_the_population_with_approvals(site_url: str, tmp_path: Path) -> None:
    approvals = tmp_path / "approvals.csv"
    approvals.write_text(HEADER + "CHG-1,,dev,cab,2026-11-01,2026-11-01,2026-11-30,core/debug\n")

    done = invoke(
        "changes",
        "--db",
        site_url,
        "--as-of",
        AS_OF,
        "--period",
        "2026-11-01..2026-11-29",
        "--approvals",
        approvals,
        "--format",
        "json",
    )

    assert done.exit_code == 0, done.output
    population = json.loads(done.stdout)
    rows = {r["name"]: r for r in population["rows"]}
    assert (rows["debug"]["approval"], rows["debug"]["ticket"]) == ("approved", "CHG-1")
    assert rows["forcelogin"]["approval"] == "unapproved"
    assert population["name"] == "changes" and population["row_count"] == 2
    assert "Stored the change population as evidence record" in done.stderr


@pytest.mark.parametrize("fmt", ["csv", "html", "terminal"])
def test_changes_in_other_formats(site_url: str, fmt: str) -> None:
    done = invoke("changes", "--db", site_url, "--as-of", AS_OF, "--format", fmt, "--no-store")

    assert done.exit_code == 0, done.output
    assert "forcelogin" in done.stdout


def test_changes_workbook_needs_an_output_file(site_url: str, tmp_path: Path) -> None:
    refused = invoke("changes", "--db", site_url, "--as-of", AS_OF, "-f", "xlsx", "--no-store")
    assert refused.exit_code == ExitCode.USAGE

    out = tmp_path / "changes.xlsx"
    done = invoke(
        "changes", "--db", site_url, "--as-of", AS_OF, "-f", "xlsx", "-o", out, "--no-store"
    )
    assert done.exit_code == 0 and out.read_bytes().startswith(b"PK")


def test_a_bad_approvals_file_is_refused_before_connecting(tmp_path: Path) -> None:
    approvals = tmp_path / "approvals.csv"
    approvals.write_text(
        HEADER + "".join(f"T{n},,a,b,never,2026-11-01,2026-11-02,core\n" for n in range(25))
    )

    done = invoke("changes", "--db", "sqlite:///nowhere.sqlite", "--approvals", approvals)

    assert done.exit_code == ExitCode.BAD_INPUT
    assert "25 problem(s), nothing was used" in done.stderr
    assert "and 5 more problem(s)" in done.stderr


def test_drift_flags_a_plugin_staging_never_ran(tmp_path: Path) -> None:
    staging = sqlite_site(tmp_path, SiteBuilder(), "staging")
    production_site = SiteBuilder()
    production_site.setting("version", "2025091100", "local_reports")
    production_site.setting("forcelogin", "1")
    production = sqlite_site(tmp_path, production_site, "production")

    done = invoke("drift", "--from", staging, "--to", production, "--format", "json")

    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    items = {i["key"]: i for i in report["items"]}
    assert items["local_reports"]["flagged"] and report["flagged"] == 1
    assert items["forcelogin"]["status"] == "differs"
    html = invoke("drift", "--from", staging, "--to", production, "--format", "html")
    assert "local_reports" in html.stdout and "<script" not in html.stdout


def test_plugins_lists_additional_ones_and_the_support_status(site_url: str) -> None:
    done = invoke("plugins", "--db", site_url, "--as-of", AS_OF, "--format", "json")

    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    plugins = {p["component"]: p for p in report["plugins"]}
    assert plugins["local_reports"]["origin"] == "additional"
    assert "additional" in plugins["local_reports"]["flags"]
    assert plugins["tool_mfa"]["origin"] == "standard"
    assert report["support"]["supported"] is True
    terminal = invoke("plugins", "--db", site_url, "--as-of", AS_OF)
    assert terminal.exit_code == 0 and "plugins installed" in terminal.stdout


def test_advisories_update_installs_a_valid_file_only(tmp_path: Path) -> None:
    data = yaml.safe_load(shipped_advisories().model_dump_json())
    data["updated"] = "2026-12-24"
    newer = tmp_path / "newer.yaml"
    newer.write_text(yaml.safe_dump(data))
    data["advisories"][3]["published"] = "someday"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data))

    refused = invoke("advisories", "update", "--from", broken)
    assert refused.exit_code == ExitCode.BAD_INPUT and "advisory 4" in refused.stderr
    assert "updated 2026-08-07" in invoke("advisories", "show").stdout

    done = invoke("advisories", "update", "--from", newer)
    assert done.exit_code == 0, done.output
    assert "updated 2026-12-24" in invoke("advisories", "show").stdout


def test_scan_with_approvals_judges_each_change(site_url: str, tmp_path: Path) -> None:
    approvals = tmp_path / "approvals.json"
    approvals.write_text(
        json.dumps(
            [
                {
                    "ticket": "CHG-1",
                    "title": "",
                    "requested_by": "dev",
                    "approved_by": "cab",
                    "approved_at": "2026-11-01",
                    "deploy_from": "2026-11-01",
                    "deploy_to": "2026-11-30",
                    "scope": "core/debug;core/forcelogin",
                }
            ]
        )
    )

    done = invoke(
        "scan",
        "--db",
        site_url,
        "--as-of",
        AS_OF,
        "--check",
        "changes",
        "--approvals",
        approvals,
        "--format",
        "json",
        "--no-store",
    )

    assert done.exit_code == 0, done.output
    run = json.loads(done.stdout)
    approved = [f for f in run["findings"] if f["check_id"] == "changes.changes_approved"]
    assert [f["status"] for f in approved] == ["pass", "pass"]
    assert run["site_state"]["plugins"]["local_reports"] == "2025091100"


def test_scan_compares_with_the_staging_site_moodle_soc_yaml_names(tmp_path: Path) -> None:
    staging = sqlite_site(tmp_path, SiteBuilder(), "staging")
    production_site = SiteBuilder()
    production_site.setting("version", "2025091100", "local_reports")
    production = sqlite_site(tmp_path, production_site, "production")
    settings = tmp_path / "moodle-soc.yaml"
    settings.write_text(yaml.safe_dump({"staging": {"db": staging}}))

    done = invoke(
        "scan",
        "--db",
        production,
        "--as-of",
        AS_OF,
        "--settings",
        settings,
        "--check",
        "changes.staging_matches_production",
        "--format",
        "json",
        "--no-store",
    )

    assert done.exit_code == 0, done.output
    (finding,) = json.loads(done.stdout)["findings"]
    assert (finding["status"], finding["resource"]) == ("fail", "plugin:local_reports")


@pytest.mark.parametrize(
    ("staging", "message"),
    [
        ({"config": "a.php", "db": "sqlite:///b"}, "exactly one of config: or db:"),
        ({"prefix": "mdl_"}, "exactly one of config: or db:"),
        ({"db": "sqlite:///b", "password": "x"}, "staging.password"),
        ("sqlite:///b", "staging must be a mapping"),
    ],
)
def test_a_bad_staging_entry_is_refused(tmp_path: Path, staging: object, message: str) -> None:
    settings = tmp_path / "moodle-soc.yaml"
    settings.write_text(yaml.safe_dump({"staging": staging}))

    done = invoke("scan", "--db", "sqlite:///nowhere.sqlite", "--settings", settings)

    assert done.exit_code == ExitCode.BAD_INPUT and message in done.stderr
