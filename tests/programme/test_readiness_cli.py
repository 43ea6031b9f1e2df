"""The readiness and exception commands as a user runs them: one-line errors with their exit
codes, the JSON contract, the questionnaire on the terminal, an exception seen in the scan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

AS_OF = "2026-11-29T12:00:00Z"
ANSWERS = """\
hosted_for_customers: true
availability_commitments: false
confidential_data: true
processes_transactions: false
personal_information: true
takes_payments: false
revenue_recognition: false
erp_integration: false
customers_under_financial_audit: false
hosting_model: self-hosted
report_type: type2
period: 2026-01-01..2026-12-31
"""


@pytest.fixture(scope="module")
def scanned_once(acme_site_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding one CLI scan of the Acme site: its store and its JSON report."""
    from .conftest import _fixtures

    where = tmp_path_factory.mktemp("scanned")
    store = str(where / "evidence.sqlite")
    isolated = {"MOODLE_SOC_STORE": store, "MOODLE_SOC_ADVISORIES": str(where / "none.yaml")}
    done = _fixtures.run_cli("scan", "--db", f"sqlite:///{acme_site_db}", "--as-of", AS_OF,
                             "--store", store, "--format", "json", "-o", str(where / "run.json"),
                             cwd=where, env=isolated)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return where


@pytest.fixture
def scanned(scanned_once: Path, tmp_path: Path) -> str:
    """The test's own store holding that scan: a copy, since the same scan of the same site
    gives the same store and one scan per test cost a CLI run each."""
    for made in scanned_once.iterdir():
        shutil.copy2(made, tmp_path / made.name)
    return str(tmp_path / "evidence.sqlite")


def one_line_error(done: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith(f"moodle-soc: error: {text}"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_scope_from_an_answers_file_then_the_programme_as_json(
    cli: Any, scanned: str, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS, encoding="utf-8")
    done = cli("readiness", "scope", "--answers", str(answers), "--store", scanned,
               "--site", "Acme", "--by", "cco")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()[0] == "Scope decided by cco: SOC 2 CC, C, P; SOC 1 does not apply."
    )
    shown = cli("readiness", "--store", scanned, "--site", "Acme", "--as-of", AS_OF,
                "--format", "json")  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["scope"]["soc2_categories"] == ["CC", "C", "P"]
    assert document["scope"]["soc1"] is False
    assert {"id", "title", "owner", "frequency", "status", "due"} <= set(document["controls"][0])
    assert len(document["checklist"]) == 7 and "state" in document["checklist"][0]
    terminal = cli("readiness", "--store", scanned, "--site", "Acme", "--as-of", AS_OF)
    assert terminal.returncode == 0, terminal.stderr
    assert "Readiness checklist" in terminal.stdout and "Score per category" in terminal.stdout


def test_the_questionnaire_asks_on_the_terminal(acme_site_db: Path, scanned: str) -> None:
    from .conftest import _fixtures

    # nine yes/no questions, hosting model, host name, report type, period
    typed = "y\nn\ny\nn\nn\nn\nn\ny\nn\nmanaged-inclusive\nCloudHost\ntype1\n2026-12-31\n"
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(
        [str(_fixtures.CLI), "readiness", "scope", "--store", scanned, "--site", "Acme",
         "--format", "json"],
        input=typed, capture_output=True, text=True, env=environment, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    scope = json.loads(done.stdout[done.stdout.index("{") :])
    assert scope["soc2_categories"] == ["CC", "C"] and scope["soc1"] is True  # ERP integration
    assert scope["answers"]["hosting_model"] == "managed-inclusive"
    assert scope["answers"]["period_start"] == scope["answers"]["period_end"] == "2026-12-31"


def test_bad_input_gets_one_line_and_its_exit_code(cli: Any, scanned: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(ANSWERS.replace("report_type: type2", "report_type: soc3"), encoding="utf-8")
    one_line_error(
        cli("readiness", "scope", "--answers", str(bad), "--store", scanned, "--site", "Acme"),
        7,
        f"{bad}: report_type must be one of type1, type2, not 'soc3'.",
    )
    # Without --site the store's only site is meant: the answers file is what is wrong.
    one_line_error(
        cli("readiness", "scope", "--answers", str(bad), "--store", scanned),
        7,
        f"{bad}: report_type must be one of type1, type2, not 'soc3'.",
    )
    one_line_error(
        cli("readiness", "scope", "--answers", str(bad), "--store", scanned, "--site", "Acme",
            "--db", "sqlite:///nowhere.sqlite"),
        2, "Give --site SITE (already in the store) or --db/--config, not both.",
    )  # fmt: skip
    one_line_error(
        cli("exception", "add", "--site", "Acme", "--store", scanned, "--check", "nope.nothing",
            "--reason", "r", "--owner", "o", "--approver", "a", "--expires", "2027-01-31"),
        2, "--check 'nope.nothing' is not a check id",
    )  # fmt: skip
    one_line_error(
        cli("exception", "add", "--site", "Acme", "--store", scanned, "--check",
            "authentication.mfa_enabled", "--reason", "r", "--owner", "o", "--approver", "a",
            "--expires", "31/01/2027"),
        2, "--expires '31/01/2027' is not a date",
    )  # fmt: skip
    one_line_error(
        cli("exception", "revoke", "EXC-00000000", "--reason", "r", "--site", "Acme",
            "--store", scanned),
        2, "Exception 'EXC-00000000' is not on record",
    )  # fmt: skip


def test_an_exception_shows_as_accepted_in_the_next_scan(
    cli: Any, scanned: str, acme_site_db: Path, tmp_path: Path
) -> None:
    today = date.today()  # exceptions are approved and expire by the real calendar
    expires = (today + timedelta(days=90)).isoformat()
    approved = (today - timedelta(days=1)).isoformat()
    added = cli("exception", "add", "--site", "Acme", "--store", scanned, "--check",
                "authentication.mfa_enabled", "--reason", "Rollout in Q1.", "--owner", "IT",
                "--approver", "CISO", "--expires", expires, "--approved-at", approved,
                "--compensating-control", "IdP MFA.")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("Exception EXC-")
    report = tmp_path / "again.json"
    again = cli("scan", "--db", f"sqlite:///{acme_site_db}", "--store", scanned,
                "--format", "json", "-o", str(report))  # fmt: skip  # judged now
    assert again.returncode in (0, 1), again.stderr
    run = json.loads(report.read_text(encoding="utf-8"))
    (finding,) = [f for f in run["findings"] if f["check_id"] == "authentication.mfa_enabled"]
    assert finding["status"] == "accepted"
    assert finding["exception"]["approver"] == "CISO"
    assert finding["exception"]["expires"] == expires
    assert finding["exception"]["scan_status"] == "fail"
    listed = cli("exception", "list", "--site", "Acme", "--store", scanned, "--format", "json")
    assert [v["state"] for v in json.loads(listed.stdout)] == ["active"]


def test_remediation_list_assign_and_export(cli: Any, scanned: str, tmp_path: Path) -> None:
    listed = cli("remediation", "list", "--site", "Acme", "--store", scanned, "--as-of", AS_OF,
                 "--format", "json")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert items and {i["status"] for i in items} == {"open"}
    first = items[0]
    assigned = cli("remediation", "assign", first["id"], "--owner", "IT lead", "--ticket",
                   "SEC-9", "--due", "2027-01-31", "--site", "Acme",
                   "--store", scanned)  # fmt: skip
    assert assigned.returncode == 0, assigned.stderr
    assert assigned.stdout.strip().endswith("assigned to IT lead, due 2027-01-31.")
    out = tmp_path / "items.csv"
    exported = cli("remediation", "export", "--site", "Acme", "--store", scanned, "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Summary,Description,Priority,Assignee,Due Date")
    assert any("IT lead,2027-01-31" in line and "SEC-9" in line for line in lines)
    one_line_error(
        cli("remediation", "list", "--site", "Acme", "--store", scanned, "--status", "late"),
        2, "--status 'late' must be open, overdue, accepted or closed.",
    )  # fmt: skip


def test_the_readiness_report_as_html_and_pdf(cli: Any, scanned: str, tmp_path: Path) -> None:
    pdf = tmp_path / "readiness.pdf"
    done = cli("readiness", "report", "--site", "Acme", "--store", scanned, "--as-of", AS_OF,
               "--format", "pdf", "-o", str(pdf))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    html = cli("readiness", "--site", "Acme", "--store", scanned, "--as-of", AS_OF, "-f", "html")
    assert html.returncode == 0 and '<h2 id="h-gaps">4. Top gaps</h2>' in html.stdout
    one_line_error(
        cli("readiness", "report", "--site", "Acme", "--store", scanned, "--format", "pdf"),
        2, "A PDF needs --output FILE.",
    )  # fmt: skip


def test_the_answers_sheet(cli: Any, scanned: str, tmp_path: Path) -> None:
    out = tmp_path / "answers.csv"
    done = cli("readiness", "answers", "--site", "Acme", "--store", scanned, "--as-of", AS_OF,
               "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Wrote 8 answers to {out} (")
    assert out.read_text(encoding="utf-8-sig").startswith("Topic,Question,Answer,Statement,")
    one_line_error(
        cli("readiness", "answers", "--site", "Acme", "--store", scanned, "-o", "a.txt"),
        2, "a.txt: the answers sheet must end in .csv or .xlsx.",
    )  # fmt: skip
