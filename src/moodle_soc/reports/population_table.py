"""A run's full population, every finding of every check, as CSV or an Excel workbook.

The terminal and HTML reports list at most 20 findings per check and status; this is where the
rest are. Both writers stream: rows are read from the compressed populations one at a time and
written out (openpyxl's write-only workbook keeps rows in a temporary file), so a run with a
million findings never sits in memory. Moodle data is untrusted: CSV cells a spreadsheet would
read as a formula get a leading apostrophe, workbook cells are text with Excel's quote prefix.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.safety import is_formula_like, neutralize_formula

COLUMNS = (
    "check_id", "title", "status", "severity", "resource", "reason", "observed", "criteria",
    "remediation", "fix_command", "exception",
)  # fmt: skip
XLSX_MAX_CELL = 32767  # Excel's limits; the CSV keeps every value whole
XLSX_MAX_ROWS = 1_048_575  # more rows continue on another sheet


def rows(run: AuditRun) -> Iterator[list[str]]:
    """Each finding as text cells, check by check in the run's order."""
    for finding in run.iter_findings():
        yield _cells(finding)


def _cells(f: Finding) -> list[str]:
    observed = json.dumps(f.observed, ensure_ascii=False, sort_keys=True, default=str)
    return [
        f.check_id, f.title, f.status.value, f.severity.value, f.resource, f.reason, observed,
        " ".join(f.criteria), f.remediation, f.fix_command or "",
        f.exception.id if f.exception else "",
    ]  # fmt: skip


def write_csv(run: AuditRun, out: TextIO) -> int:
    """Write every finding as CSV (a header row, then one row per finding); the row count."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows(run):
        writer.writerow([neutralize_formula(value) for value in row])
        count += 1
    return count


def write_xlsx(run: AuditRun, path: Path) -> int:
    """Write every finding to an Excel workbook at ``path``; the row count. The file is opened
    first: a path that cannot be written fails before any row is read, not after every row
    has been written out (which also left openpyxl's row writer to complain on stderr)."""
    with path.open("wb") as handle:
        return _write_xlsx(run, handle)


def _write_xlsx(run: AuditRun, handle: BinaryIO) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    book.properties.creator = "moodle-soc"
    sheet = None
    count = 0
    for row in rows(run):
        if count % XLSX_MAX_ROWS == 0:
            part = count // XLSX_MAX_ROWS + 1
            sheet = book.create_sheet("Findings" if part == 1 else f"Findings ({part})")
            header = [WriteOnlyCell(sheet, value=name) for name in COLUMNS]
            for head in header:
                head.font = Font(bold=True)
            sheet.append(header)
        assert sheet is not None
        cells: list[Any] = []
        for value in row:
            text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)[:XLSX_MAX_CELL]
            if is_formula_like(text) or text in ERROR_CODES:
                item = WriteOnlyCell(sheet, value=text)
                item.data_type = "s"  # never a formula or an error code
                item.quotePrefix = is_formula_like(text)
                cells.append(item)
            else:
                cells.append(text)  # plain text: a string cell as it is, without a cell object
        sheet.append(cells)
        count += 1
    if sheet is None:
        sheet = book.create_sheet("Findings")
        sheet.append(list(COLUMNS))
    book.save(handle)
    return count
