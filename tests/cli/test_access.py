"""``moodle-soc access inventory`` on a synthetic SQLite site, in every format."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from moodle_soc.cli.access import access_app
from moodle_soc.errors import ExitCode
from moodle_soc.synthetic.builder import SiteBuilder

AS_OF = "2026-11-29T00:00:00Z"


@pytest.fixture
def site_url(tmp_path, builder: SiteBuilder) -> str:
    builder.make_site_admin(builder.user("itops"))
    builder.user("student1")
    path = tmp_path / "site.sqlite"
    builder.sqlite_file(path).dispose()
    return f"sqlite:///{path}"


def invoke(*args: str):
    return CliRunner().invoke(access_app, ["inventory", *args], catch_exceptions=False)


def test_json_lists_the_privileged_accounts(site_url):
    done = invoke("--db", site_url, "--as-of", AS_OF, "--format", "json")

    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert [e["username"] for e in data["entries"]] == ["admin", "itops"]
    assert data["audit_time"].startswith("2026-11-29T00:00:00")


def test_all_scope_csv_to_a_file(site_url, tmp_path):
    out = tmp_path / "accounts.csv"

    done = invoke("--db", site_url, "--as-of", AS_OF, "--scope", "all", "-f", "csv", "-o", str(out))

    assert done.exit_code == 0, done.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("key,userid,username") and len(lines) == 1 + 4


def test_html_and_terminal(site_url, tmp_path):
    out = tmp_path / "review.html"
    assert invoke("--db", site_url, "--as-of", AS_OF, "-f", "html", "-o", str(out)).exit_code == 0
    assert "Access review" in out.read_text(encoding="utf-8")

    done = invoke("--db", site_url, "--as-of", AS_OF)
    assert done.exit_code == 0 and "itops" in done.stdout and "generic_name" in done.stdout


def test_a_bad_roster_exits_with_bad_input(site_url, tmp_path):
    roster = tmp_path / "people.csv"
    roster.write_text("username,status\nitops,gone\n", encoding="utf-8")

    done = invoke("--db", site_url, "--roster", str(roster))

    assert done.exit_code == ExitCode.BAD_INPUT
    assert "line 2: status 'gone' is not active or left" in done.output
