"""``frameworks list|show|validate``, ``scan --framework`` and ``trust export`` on synthetic
SQLite sites (in process, through the registered application)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moodle_soc.cli.main import app
from moodle_soc.errors import ExitCode
from moodle_soc.synthetic.builder import SiteBuilder

AS_OF = "2026-11-29T06:00:00Z"

ACME = """\
id: acme
name: ACME controls
version: "1"
categories:
  SEC: {name: Security}
  OPS: {name: Operations}
requirements:
  - id: SEC-1
    category: SEC
    title: Passwords follow a policy
    description: Moodle enforces a password policy.
    checks: [authentication.password_policy_enabled]
    manual_evidence: []
    owners: [client]
  - id: OPS-1
    category: OPS
    title: Web cron is protected
    description: Cron cannot be run anonymously from the web.
    checks: [hardening.web_cron_protected]
    manual_evidence: [restore_test_record]
    owners: [client]
"""


def invoke(*args: str | Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def site_url(tmp_path: Path, builder: SiteBuilder) -> str:
    path = tmp_path / "site.sqlite"
    builder.sqlite_file(path).dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(ACME)
    return path


def test_frameworks_list_json_counts_coverage() -> None:
    done = invoke("frameworks", "list", "--format", "json")
    assert done.exit_code == 0
    rows = {row["id"]: row for row in json.loads(done.stdout)}
    assert list(rows) == ["soc2", "soc1", "iso27001", "nist-800-53"]
    iso = rows["iso27001"]
    assert (iso["requirements"], iso["automated"], iso["partly"], iso["manual"]) == (93, 3, 33, 57)
    assert rows["soc2"]["requirements"] == 61


def test_frameworks_show_lists_every_requirement_with_its_mapping(acme: Path) -> None:
    done = invoke("frameworks", "show", "iso27001", "--format", "json")
    assert done.exit_code == 0
    document = json.loads(done.stdout)
    assert len(document["requirements"]) == 93
    first = document["requirements"][0]
    assert (first["id"], first["coverage"], first["checks"]) == ("A.5.1", "manual", [])
    table = invoke("frameworks", "show", str(acme))
    assert table.exit_code == 0
    assert "2 requirements: 1 automated, 1 partly automated, 0 manual." in table.stdout


def test_frameworks_validate_accepts_a_good_file(acme: Path) -> None:
    done = invoke("frameworks", "validate", acme)
    assert done.exit_code == 0
    assert done.stdout.replace("\n", "") == (
        f"{acme} is a valid framework file: acme (ACME controls), 2 requirements: 1 automated,"
        " 1 partly automated, 0 manual."
    )


def test_frameworks_validate_names_the_line_of_an_unknown_check(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(ACME.replace("hardening.web_cron_protected", "hardening.web_cron_protect"))
    done = invoke("frameworks", "validate", path)
    assert done.exit_code == ExitCode.BAD_INPUT
    assert "line 19, requirements[OPS-1].checks[0]: unknown check id" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_framework_is_refused_before_connecting(tmp_path: Path) -> None:
    done = invoke("scan", "--db", f"sqlite:///{tmp_path}/none.sqlite", "--framework", "iso9001")
    assert done.exit_code == ExitCode.USAGE
    assert "Unknown framework 'iso9001'" in done.stderr


def test_a_custom_framework_changes_the_scans_summary(
    tmp_path: Path, builder: SiteBuilder, acme: Path
) -> None:
    builder.setting("passwordpolicy", "1")
    builder.setting("cronclionly", "0")  # anyone may run cron from the web
    url = site_url(tmp_path, builder)
    done = invoke(
        "scan", "--db", url, "--as-of", AS_OF, "--no-store", "-q", "-f", "json",
        "--framework", acme, "--framework", "iso27001",
    )  # fmt: skip
    assert done.exit_code == 0
    document = json.loads(done.stdout)
    acme_score, iso = document["frameworks"]
    assert [(r["id"], r["state"]) for r in acme_score["requirements"]] == [
        ("SEC-1", "met"),
        ("OPS-1", "gap"),
    ]
    assert acme_score["requirements"][1]["failing_checks"] == ["hardening.web_cron_protected"]
    assert acme_score["overall_score"] == 50.0
    assert iso["id"] == "iso27001" and len(iso["requirements"]) == 93
    # The SOC 2 summary of the run is unchanged by --framework.
    plain = invoke("scan", "--db", url, "--as-of", AS_OF, "--no-store", "-q", "-f", "json")
    assert json.loads(plain.stdout)["summary"] == document["summary"]
    assert "frameworks" not in json.loads(plain.stdout)

    terminal = invoke(
        "scan", "--db", url, "--as-of", AS_OF, "--no-store", "-q", "--framework", acme
    )
    assert "ACME controls (1)" in terminal.stdout
    assert "OPS-1 Web cron is protected: gap, held back by hardening.web_cron_protected." in (
        " ".join(terminal.stdout.split())
    )
    html = tmp_path / "report.html"
    invoke("scan", "--db", url, "--as-of", AS_OF, "--no-store", "-q", "-f", "html", "-o", html,
           "--framework", acme)  # fmt: skip
    assert 'id="framework-acme"' in html.read_text(encoding="utf-8")


def test_trust_export_writes_the_latest_runs_page(tmp_path: Path, builder: SiteBuilder) -> None:
    url = site_url(tmp_path, builder)
    store = tmp_path / "evidence.sqlite"
    scanned = invoke("scan", "--db", url, "--as-of", AS_OF, "--store", store, "-q", "-f", "json")
    assert scanned.exit_code in (0, 1)
    site_name = json.loads(scanned.stdout)["site"]["name"]
    page = tmp_path / "trust.html"
    args = ["trust", "export", "--site", site_name, "--store", store, "-o", page]
    done = invoke(*args, "--contact", "https://example.org/request", "--framework", "iso27001",
                  "--period", "2026-01-01..2026-12-31")  # fmt: skip
    assert done.exit_code == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    assert "ISO/IEC 27001:2022 Annex A" in html
    assert "1 January 2026 to 31 December 2026" in html
    assert "29 November 2026" in html  # the last scan
    assert 'href="https://example.org/request"' in html
    again = invoke(*args, "--contact", "security@example.org")
    assert again.exit_code == ExitCode.USAGE and "already exists" in again.stderr
    forced = invoke(*args, "--contact", "security@example.org", "--force")
    assert forced.exit_code == 0
    assert 'href="mailto:security@example.org"' in page.read_text(encoding="utf-8")


def test_trust_export_refuses_a_contact_customers_cannot_use(
    tmp_path: Path, builder: SiteBuilder
) -> None:
    url = site_url(tmp_path, builder)
    store = tmp_path / "evidence.sqlite"
    invoke("scan", "--db", url, "--as-of", AS_OF, "--store", store, "-q")
    done = invoke("trust", "export", "--site", "Acme", "--store", store, "-o", tmp_path / "t.html",
                  "--contact", "javascript:alert(1)")  # fmt: skip
    assert done.exit_code == ExitCode.USAGE
    assert "neither an https:// URL nor an email address" in done.stderr
    assert not (tmp_path / "t.html").exists()


def test_checks_list_by_framework(acme: Path) -> None:
    done = invoke("checks", "list", "--format", "json", "--framework", "iso27001",
                  "--framework", acme)  # fmt: skip
    assert done.exit_code == 0
    rows = {row["id"]: row["requirements"] for row in json.loads(done.stdout)}
    assert rows["authentication.password_policy_enabled"] == {
        "iso27001": ["A.5.17"],
        "acme": ["SEC-1"],
    }
    assert rows["backups.automated_backups_enabled"] == {
        "iso27001": ["A.5.30", "A.8.13"],
        "acme": [],
    }
    table = invoke("checks", "list", "--framework", "nist-800-53")
    assert table.exit_code == 0 and "AC-2(3)" in table.stdout
    markdown = invoke("checks", "list", "--format", "markdown", "--framework", "soc2")
    assert markdown.exit_code == ExitCode.USAGE


def test_trust_export_lists_the_audit_period_the_readiness_scope_decided(
    tmp_path: Path, builder: SiteBuilder
) -> None:
    from moodle_soc import api

    url = site_url(tmp_path, builder)
    store = tmp_path / "evidence.sqlite"
    scanned = invoke("scan", "--db", url, "--as-of", AS_OF, "--store", store, "-q", "-f", "json")
    site_name = json.loads(scanned.stdout)["site"]["name"]
    answers = {
        "hosted_for_customers": True, "availability_commitments": True,
        "confidential_data": False, "processes_transactions": False,
        "personal_information": False, "takes_payments": False, "revenue_recognition": False,
        "erp_integration": False, "customers_under_financial_audit": False,
        "hosting_model": "self-hosted", "report_type": "type2",
        "period": "2026-04-01..2027-03-31",
    }  # fmt: skip
    with api.open_evidence_store(str(store)) as evidence:
        api.decide_readiness_scope(evidence, answers=answers, site=site_name, decided_by="cco")
    page = tmp_path / "trust.html"
    done = invoke("trust", "export", "--site", site_name, "--store", store, "-o", page,
                  "--contact", "security@example.org")  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert "1 April 2026 to 31 March 2027" in page.read_text(encoding="utf-8")
