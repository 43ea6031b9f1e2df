"""The XLSX form of a review file: a protected Review sheet whose only editable cells are the
decision columns (with a keep / revoke / modify / escalate dropdown), an Instructions sheet, and
a Removed sheet listing accounts that left the inventory since the previous campaign.

Sheet protection has no password: it guards against slips, not against intent. The import does
not trust it: every locked value is compared with the campaign's snapshot.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodle_soc.errors import BadInputError
from moodle_soc.models.reviews import DECISIONS

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from moodle_soc.models.reviews import Campaign

REVIEW_SHEET = "Review"
MAX_ROWS = 200_000
#: A workbook is inflated only within these bounds (its parts' declared sizes, which zipfile
#: never reads past): a review of 200,000 rows is far below them, a zip bomb is not.
MAX_INFLATED_BYTES = 256 * 2**20
MAX_RATIO = 200
WIDTHS = {"Campaign": 14, "Key": 12, "Username": 18, "Name": 22, "Email": 28, "Auth": 10,
          "State": 11, "Grants": 34, "Flags": 60, "Tag": 11, "Decision": 12,
          "Remove grants": 30, "Comment": 40, "Checksum": 10}  # fmt: skip
EDITABLE_FILL = "FFF4CC"
HEADER_FILL = "1F3A5F"


def _text(ws: Worksheet, row: int, column: int, value: str, *, locked: bool = True) -> None:
    """A cell that holds ``value`` as text, never as a formula, whatever it starts with."""
    from openpyxl.styles import Alignment, Protection

    cell = ws.cell(row=row, column=column)
    cell.value = value
    cell.data_type = "s"
    cell.quotePrefix = True
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    cell.protection = Protection(locked=locked)


def _instructions(campaign: Campaign, ws: Worksheet, rows: int) -> None:
    start = campaign.start
    lines = [
        f"Access review campaign {campaign.id}",
        f"Site: {start.site_name} ({start.wwwroot or 'wwwroot not recorded'})",
        f"Scope: {start.scope} accounts, as read at {start.audit_time:%Y-%m-%d %H:%M} UTC",
        f"Reviewer: {start.reviewer}",
        f"Previous campaign: {start.previous_campaign or 'none (every entry is new)'}",
        "",
        f"For each of the {rows} rows of the Review sheet, choose a Decision:",
        "  keep: the access is still needed as it is.",
        "  revoke: remove the access. Leave 'Remove grants' empty to remove every grant listed,"
        " or name the grants to remove.",
        "  modify: remove some of the access: list the grants to remove in 'Remove grants'"
        " (separated by ; or new lines), copied from the Grants column.",
        "  escalate: someone else must decide; the campaign cannot be closed until the row gets"
        " a final decision.",
        "Add a Comment to explain a decision (optional, up to 2000 characters).",
        "",
        "Do not change the grey columns, add rows or rename columns: the import compares every"
        " row with the campaign's snapshot and refuses the whole file if any row differs.",
        "Tag: new (not in the previous campaign), unchanged, or changed (its grants differ; a"
        " role_creep flag names grants added since the previous review).",
        f"Import with: moodle-soc review import FILE --campaign {campaign.id} --by EMAIL",
    ]
    for number, line in enumerate(lines, start=1):
        _text(ws, number, 1, line)
    ws.column_dimensions["A"].width = 120
    ws.protection.sheet = True


def _removed(campaign: Campaign, ws: Worksheet) -> None:
    for column, title in enumerate(("Key", "Username", "Name", "Grants before"), start=1):
        _text(ws, 1, column, title)
    for row, entry in enumerate(campaign.start.removed, start=2):
        grants = "\n".join(grant.key for grant in entry.grants)
        for column, value in enumerate((entry.key, entry.username, entry.fullname, grants), 1):
            _text(ws, row, column, value)
    for letter, width in zip("ABCD", (12, 18, 24, 40), strict=True):
        ws.column_dimensions[letter].width = width
    ws.protection.sheet = True


def write_xlsx(campaign: Campaign, rows: list[list[str]], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from moodle_soc.reviews.files import COLUMNS, UNLOCKED

    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = REVIEW_SHEET
    editable = {COLUMNS.index(name) + 1 for name in UNLOCKED}
    for column, title in enumerate(COLUMNS, start=1):
        _text(ws, 1, column, title)
        ws.cell(row=1, column=column).font = Font(bold=True, color="FFFFFF")
        ws.cell(row=1, column=column).fill = PatternFill("solid", fgColor=HEADER_FILL)
        ws.column_dimensions[get_column_letter(column)].width = WIDTHS[title]
    fill = PatternFill("solid", fgColor=EDITABLE_FILL)
    for number, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            _text(ws, number, column, value, locked=column not in editable)
            if column in editable:
                ws.cell(row=number, column=column).fill = fill
    decision = get_column_letter(COLUMNS.index("Decision") + 1)
    choices = DataValidation(
        type="list",
        formula1='"' + ",".join(DECISIONS) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Decision",
        error=f"Choose one of {', '.join(DECISIONS)}.",
    )
    ws.add_data_validation(choices)
    choices.add(f"{decision}2:{decision}{max(len(rows), 1) + 1}")
    ws.column_dimensions[get_column_letter(len(COLUMNS))].hidden = True
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    ws.protection.sheet = True
    ws.protection.autoFilter = False
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    _instructions(campaign, workbook.create_sheet("Instructions"), len(rows))
    _removed(campaign, workbook.create_sheet("Removed"))
    workbook.properties.title = f"Access review {campaign.id}"
    workbook.properties.creator = "moodle-soc"
    workbook.save(path)


def read_xlsx(name: str, data: bytes) -> list[list[Any]]:
    """The Review sheet's cell values, row by row (cached values, never formulas)."""
    from openpyxl import load_workbook

    try:
        _refuse_bombs(name, data)
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if REVIEW_SHEET not in workbook.sheetnames:
                raise BadInputError(f"{name} has no sheet named {REVIEW_SHEET!r}.")
            table: list[list[Any]] = []
            for row in workbook[REVIEW_SHEET].iter_rows(values_only=True):
                table.append(list(row))
                if len(table) > MAX_ROWS:
                    raise BadInputError(f"{name} has more than {MAX_ROWS} rows.")
            return table
        finally:
            workbook.close()
    # A damaged or hostile workbook fails in the zip, XML (defusedxml) or cell layers.
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, SyntaxError, OSError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise BadInputError(f"{name} is not a readable XLSX workbook ({detail}).") from None


def _refuse_bombs(name: str, data: bytes) -> None:
    """Refuse a workbook whose parts would inflate past the bounds, before reading any."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
    total = sum(part.file_size for part in parts)
    worst = max((part.file_size / max(part.compress_size, 1) for part in parts), default=0)
    if total > MAX_INFLATED_BYTES or worst > MAX_RATIO:
        raise BadInputError(
            f"{name} would inflate to {total:,} bytes (up to {worst:,.0f} times its compressed"
            " size): refused as a likely decompression bomb, nothing was read."
        )
