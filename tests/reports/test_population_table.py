"""The full population as CSV and XLSX: every finding, streamed, formulas kept as text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.reports.population_table import COLUMNS, write_csv, write_xlsx
from moodle_soc.results import Status

RunFactory = Callable[..., AuditRun]
FindingFactory = Callable[..., Finding]


def test_the_csv_has_every_finding_with_its_checks_fields(audit_run: AuditRun) -> None:
    out = io.StringIO()

    count = write_csv(audit_run, out)

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert count == len(rows) == len(audit_run.findings)
    assert tuple(rows[0]) == COLUMNS
    debug = next(r for r in rows if r["check_id"] == "security.debug_display_disabled")
    assert debug["status"] == "fail" and debug["severity"] == "critical"
    assert debug["fix_command"] == "php admin/cli/cfg.php --name=debugdisplay --set=0"
    assert json.loads(debug["observed"])["debugdisplay"] == "1"
    accepted = next(r for r in rows if r["status"] == "accepted")
    assert accepted["exception"] == "EXC-0a1b2c3d"


def test_a_formula_from_moodle_stays_text(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    run = make_run([make_finding("accounts.dormant_disabled", Status.FAIL, resource="=1+1")])
    out = io.StringIO()
    write_csv(run, out)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["resource"] == "'=1+1"


def test_the_workbook_has_every_finding_as_text(
    make_run: RunFactory, make_finding: FindingFactory, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    findings = [
        make_finding("accounts.dormant_disabled", Status.FAIL, resource=f"user:{n}")
        for n in range(45)
    ]
    findings.append(make_finding("accounts.dormant_disabled", Status.FAIL, resource="#N/A"))
    findings.append(make_finding("accounts.dormant_disabled", Status.FAIL, resource="=1+1"))
    path = tmp_path / "findings.xlsx"

    assert write_xlsx(make_run(findings), path) == 47

    book = load_workbook(path, read_only=True)
    cells = list(book["Findings"].iter_rows())
    book.close()
    rows = [[c.value for c in row] for row in cells]
    assert tuple(rows[0]) == COLUMNS and len(rows) == 48
    assert rows[1][4] == "user:0" and rows[-2][4] == "#N/A" and rows[-1][4] == "=1+1"
    assert cells[-2][4].data_type == cells[-1][4].data_type == "s"  # never an error or formula


def test_a_workbook_that_cannot_be_written_fails_before_any_row_is_read(
    make_run: RunFactory,
    make_finding: FindingFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The workbook used to be built row by row and only then saved: a missing directory
    # failed after every row was written, and openpyxl's abandoned row writer printed an
    # "Exception ignored ... I/O operation on closed file" traceback under the error.
    from moodle_soc.reports import population_table

    def never(run: AuditRun) -> list[list[str]]:
        raise AssertionError("rows read before the file was opened")

    monkeypatch.setattr(population_table, "rows", never)
    run = make_run([make_finding("accounts.dormant_disabled", Status.FAIL)])

    with pytest.raises(FileNotFoundError):
        write_xlsx(run, tmp_path / "missing" / "findings.xlsx")
