"""``scan --format csv|xlsx`` and ``evidence show --format csv|xlsx``: the full population."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from moodle_soc.synthetic.builder import SiteBuilder

CLI = Path(sys.executable).with_name("moodle-soc")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, check=False, cwd=cwd)


def test_every_finding_as_csv_from_the_scan_and_from_the_stored_run(tmp_path: Path) -> None:
    site = tmp_path / "site.sqlite"
    SiteBuilder().sqlite_file(site).dispose()
    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    scanned = _cli(
        "scan", "--db", f"sqlite:///{site}", "--store", store, "-q", "-f", "csv", cwd=tmp_path
    )
    assert scanned.returncode == 0, scanned.stderr
    rows = list(csv.DictReader(io.StringIO(scanned.stdout)))
    assert rows and {"check_id", "status", "resource", "reason"} <= set(rows[0])

    shown = _cli("evidence", "show", "1", "--store", store, "-f", "csv", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == scanned.stdout  # the stored population is the scan's

    book = tmp_path / "findings.xlsx"
    wrote = _cli(
        "evidence", "show", "1", "--store", store, "-f", "xlsx", "-o", str(book), cwd=tmp_path
    )
    assert wrote.returncode == 0, wrote.stderr
    assert book.read_bytes()[:2] == b"PK"
    assert f"Wrote XLSX report to {book}." in " ".join(wrote.stderr.split())


def test_a_workbook_needs_a_file_name_before_anything_is_opened(tmp_path: Path) -> None:
    done = _cli("scan", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}", "-f", "xlsx", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "moodle-soc: error: --format xlsx writes a workbook: name it with --output FILE.xlsx.\n"
    )
