"""``moodle-soc logs`` on a synthetic SQLite site: every format, and one-line usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moodle_soc.api import open_evidence_store
from moodle_soc.cli.main import app
from moodle_soc.errors import ExitCode
from moodle_soc.evidence.store.kinds import describe
from moodle_soc.synthetic.builder import SiteBuilder

AS_OF = "2026-11-29T06:00:00Z"
D20 = 1795132800
FAILED = "\\core\\event\\user_login_failed"


@pytest.fixture
def site_url(tmp_path: Path, builder: SiteBuilder) -> str:
    script = builder.user("<script>alert(1)</script>")
    for n in range(5):
        builder.log(FAILED, timecreated=D20 + n * 60, ip="192.0.2.7", userid=script,
                    other={"username": "<script>alert(1)</script>", "reason": 3})  # fmt: skip
    builder.log(FAILED, timecreated=D20 + DAY_2, ip="192.0.2.8",
                other={"username": "=HYPERLINK(\"x\")", "reason": 4})  # fmt: skip
    path = tmp_path / "site.sqlite"
    builder.sqlite_file(path).dispose()
    return f"sqlite:///{path}"


DAY_2 = 2 * 86400


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def logs(url: str, *extra: str | Path):
    return invoke("logs", "--db", url, "--as-of", AS_OF, "--period", "2026-11-20..2026-11-28",
                  *extra)  # fmt: skip


def test_json_is_the_documented_document(site_url: str) -> None:
    done = logs(site_url, "--format", "json")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert document["period"] == {"from": "2026-11-20", "to": "2026-11-28"}
    assert document["authentication"]["failed_logins"] == {
        "total": 6,
        "by_reason": {"3": 5, "4": 1},
    }
    [burst] = document["authentication"]["bursts"][:1]
    assert (burst["by"], burst["failures"]) == ("account", 5)
    assert len(document["daily"]) == 9 and document["daily"][0]["counts"]["failed_logins"] == 5
    assert document["queries"][0]["purpose"].startswith("logs: ")


def test_csv_neutralises_formulas_and_html_escapes_markup(site_url: str, tmp_path: Path) -> None:
    csv_file, html_file = tmp_path / "items.csv", tmp_path / "review.html"
    assert logs(site_url, "--format", "csv", "-o", csv_file).exit_code == 0
    assert logs(site_url, "--format", "html", "-o", html_file).exit_code == 0
    text = csv_file.read_text(encoding="utf-8")
    assert text.startswith("section,what,at,until,by,target,count,detail,ip,id")
    assert "\"'=HYPERLINK" in text and '"=HYPERLINK' not in text
    page = html_file.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


def test_xlsx_needs_an_output_file(site_url: str, tmp_path: Path) -> None:
    refused = logs(site_url, "--format", "xlsx")
    assert refused.exit_code == ExitCode.USAGE
    assert refused.stderr.strip().count("\n") == 0
    workbook = tmp_path / "review.xlsx"
    assert logs(site_url, "--format", "xlsx", "-o", workbook).exit_code == 0
    assert workbook.read_bytes()[:2] == b"PK"


def test_terminal_summary_names_the_counts(site_url: str) -> None:
    done = CliRunner().invoke(
        app,
        ["logs", "--db", site_url, "--as-of", AS_OF, "--period", "2026-11-20..2026-11-28"],
        env={"COLUMNS": "200"},
    )
    assert done.exit_code == 0, done.output
    assert "Failed logins" in done.stdout and "3 (wrong password): 5" in done.stdout


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-11-28..2026-11-20", "ends before it starts"),
        ("last month", "is not FROM..TO"),
    ],
)
def test_a_bad_period_is_a_usage_error(site_url: str, period: str, message: str) -> None:
    done = invoke("logs", "--db", site_url, "--period", period)
    assert done.exit_code == ExitCode.USAGE
    assert message in done.stderr and "Traceback" not in done.output


def test_review_signs_off_and_stores_the_review(site_url: str, tmp_path: Path) -> None:
    store = tmp_path / "evidence.sqlite"
    done = invoke(
        "logs", "review", "--db", site_url, "--as-of", AS_OF, "--period",
        "2026-11-20..2026-11-28", "--store", store, "--reviewer", "sam@acme.test",
        "--sign-off", "Reviewed; the burst was a user who forgot a password.",
        "--format", "json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Stored the log review of 2026-11-20 to 2026-11-28, signed off by sam@acme.test" in (
        " ".join(done.stderr.split())
    )
    assert json.loads(done.stdout)["period"] == {"from": "2026-11-20", "to": "2026-11-28"}
    with open_evidence_store(str(store)) as evidence:
        [record] = evidence.records()
        assert describe(record, evidence.payload(record)).startswith(
            "Log review of Acme Academy for 2026-11-20 to 2026-11-28 signed off by sam@acme.test"
        )


def test_review_without_a_reviewer_is_a_usage_error(site_url: str, tmp_path: Path) -> None:
    done = invoke("logs", "review", "--db", site_url, "--sign-off", "ok",
                  "--store", tmp_path / "e.sqlite")  # fmt: skip
    assert done.exit_code == ExitCode.USAGE and "--reviewer" in done.output
    assert not (tmp_path / "e.sqlite").exists()


def test_cursor_rerun_reads_nothing_new_and_answers_the_same(site_url: str, tmp_path: Path) -> None:
    cursor = tmp_path / "cursor.json"
    first = logs(site_url, "--format", "json", "--cursor", cursor)
    kept = json.loads(cursor.read_text())
    again = logs(site_url, "--format", "json", "--cursor", cursor)
    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert kept["rows_read"] > 0 and json.loads(cursor.read_text())["rows_read"] == 0
    assert "--cursor FILE is deprecated" in first.stderr
    answer, rerun = json.loads(first.stdout), json.loads(again.stdout)
    del answer["queries"], rerun["queries"]
    assert rerun == answer


def test_a_damaged_cursor_is_an_input_error(site_url: str, tmp_path: Path) -> None:
    cursor = tmp_path / "cursor.json"
    cursor.write_text("[]", encoding="utf-8")
    done = logs(site_url, "--cursor", cursor)
    assert done.exit_code == ExitCode.BAD_INPUT
    assert "Cannot read the log cursor" in done.stderr and "Traceback" not in done.output


def test_store_rerun_reads_nothing_new_and_answers_the_same(site_url: str, tmp_path: Path) -> None:
    store = tmp_path / "evidence.sqlite"
    first = logs(site_url, "--format", "json", "--store", store)
    again = logs(site_url, "--format", "json", "--store", store)
    full = logs(site_url, "--format", "json", "--store", store, "--full")
    assert first.exit_code == again.exit_code == full.exit_code == 0, first.output
    assert "Kept the log cursor as evidence record 1 " in first.stderr
    assert "6 log rows grouped by this run" in " ".join(first.stderr.split())
    assert "0 log rows grouped by this run" in " ".join(again.stderr.split())
    assert "Note: Incremental run: the grouped pass read the 0 log rows after id" in (
        " ".join(again.stderr.split())
    )
    assert "Note: --full: the kept cursor was not used." in full.stderr
    unverified = logs(site_url, "--format", "json", "--store", store, "--no-verify-cursor")
    assert unverified.exit_code == 0, unverified.output
    assert "were not counted again (--no-verify-cursor)" in " ".join(unverified.stderr.split())
    answer, rerun = json.loads(first.stdout), json.loads(again.stdout)
    del answer["queries"], rerun["queries"]
    assert rerun == answer
    verified = invoke("evidence", "verify", "--store", store)
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--full",), "--full goes with --incremental or --store."),
        (("--incremental", "--cursor", "c.json"), "--cursor FILE and --incremental/--store"),
        (("--no-verify-cursor",), "--no-verify-cursor goes with --incremental or --store."),
    ],
)
def test_cursor_options_that_do_not_go_together(site_url: str, extra: tuple[str, ...],
                                                message: str) -> None:  # fmt: skip
    done = logs(site_url, *extra)
    assert done.exit_code == ExitCode.USAGE and message in done.stderr
