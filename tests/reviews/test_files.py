"""The review file: a protected XLSX (or CSV) out, a strict all-or-nothing import back."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import openpyxl
import pytest

from moodle_soc.errors import BadInputError, ExitCode, UsageError
from moodle_soc.evidence.store.runs import site_ref_for_site
from moodle_soc.evidence.store.store import open_store
from moodle_soc.inventory.build import build_inventory
from moodle_soc.policy import Policy
from moodle_soc.reviews.campaigns import start_campaign
from moodle_soc.reviews.files import (
    CHECKSUM,
    COLUMNS,
    MAX_PROBLEMS,
    ReviewFileError,
    read_review_file,
    write_review_file,
)

NOW = 1795936000
AUDIT = datetime.fromtimestamp(NOW, UTC)
INJECTION = '=HYPERLINK("http://evil.test","x")'
COL = {name: index for index, name in enumerate(COLUMNS)}


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return buffer.getvalue()


ZIP_WITHOUT_WORKBOOK = _zip_without_workbook()


@pytest.fixture
def campaign(tmp_path, builder, make_site):
    support = builder.user("support", lastaccess=NOW - 86400)
    builder.assign_role(support, "manager")
    builder.make_site_admin(builder.user("admin2", lastaccess=NOW, firstname=INJECTION))
    site = make_site(builder)
    store = open_store(str(tmp_path / "evidence.sqlite"), create=True)
    made = start_campaign(store, site_ref_for_site(site), build_inventory(site, Policy()),
                          reviewer="rev@acme.test", started_by="ops", now=AUDIT)  # fmt: skip
    store.close()
    return made


def exported_csv(campaign, tmp_path) -> list[list[str]]:
    path = tmp_path / "review.csv"
    write_review_file(campaign, path)
    return list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(keepends=True)))


def write_csv(rows: list[list[str]], tmp_path):
    path = tmp_path / "filled.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def fill(rows, decisions):
    for row, decision in zip(rows[1:], decisions, strict=True):
        row[COL["Decision"]] = decision
    return rows


def test_the_xlsx_is_protected_except_the_decision_columns(campaign, tmp_path):
    path = tmp_path / "review.xlsx"
    assert write_review_file(campaign, path) == 3

    book = openpyxl.load_workbook(path)
    sheet = book["Review"]
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert sheet.protection.sheet and book["Instructions"].protection.sheet
    editable = {name for name in COLUMNS if not sheet.cell(2, COL[name] + 1).protection.locked}
    assert editable == {"Decision", "Remove grants", "Comment"}
    assert sheet.column_dimensions["N"].hidden  # the checksum
    (rule,) = sheet.data_validations.dataValidation
    assert rule.formula1 == '"keep,revoke,modify,escalate"' and str(rule.sqref) == "K2:K4"
    assert campaign.id in book["Instructions"]["A1"].value


def test_a_value_starting_like_a_formula_stays_text(campaign, tmp_path):
    path = tmp_path / "review.xlsx"
    write_review_file(campaign, path)
    sheet = openpyxl.load_workbook(path)["Review"]
    cell = next(c for c in sheet["D"] if str(c.value).startswith(INJECTION))
    assert (cell.data_type, cell.quotePrefix) == ("s", True)
    assert "<f>" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert exported_csv(campaign, tmp_path)[3][COL["Name"]] == f"'{INJECTION} User"


def test_a_filled_csv_round_trips_into_decisions(campaign, tmp_path):
    rows = fill(exported_csv(campaign, tmp_path), ["keep", "REVOKE", "modify"])
    rows[2][COL["Remove grants"]] = "role:manager@system"
    rows[3][COL["Remove grants"]] = "siteadmin"
    rows[3][COL["Comment"]] = "Left the IT team.\nTicket 42."

    imported = read_review_file(write_csv(rows, tmp_path), campaign, by="rev@acme.test")

    assert [(d.key, d.decision, d.remove_grants, d.row) for d in imported.decisions] == [
        ("user:2", "keep", [], 2),
        ("user:3", "revoke", ["role:manager@system"], 3),
        ("user:4", "modify", ["siteadmin"], 4),
    ]
    assert imported.decisions[2].comment == "Left the IT team.\nTicket 42."
    assert imported.file_format == "csv" and len(imported.file_sha256) == 64


def test_a_filled_xlsx_round_trips_and_may_cover_part_of_the_campaign(campaign, tmp_path):
    path = tmp_path / "review.xlsx"
    write_review_file(campaign, path)
    book = openpyxl.load_workbook(path)
    sheet = book["Review"]
    sheet.cell(3, COL["Decision"] + 1).value = "escalate"
    sheet.delete_rows(4)
    sheet.delete_rows(2)
    book.save(path)

    imported = read_review_file(path, campaign, by="rev@acme.test")

    assert [(d.key, d.decision) for d in imported.decisions] == [("user:3", "escalate")]


def _edit(column: str, value: str):
    def change(rows):
        rows[2][COL[column]] = value

    return change


MALFORMED = {
    "unknown_id": (_edit("Key", "user:999"), "row 3 (user:999): 'user:999' is not an entry"),
    "duplicate_id": (lambda rows: rows.append(list(rows[1])), "row 5 (user:2): duplicate of row 2"),
    "missing_decision": (_edit("Decision", ""), "row 3 (user:3): Decision is empty"),
    "invalid_decision": (_edit("Decision", "delete"), "row 3 (user:3): Decision 'delete' is not"),
    "changed_locked_column": (
        _edit("Grants", "none"), "row 3 (user:3): locked column(s) Grants differ from the export"
    ),
    "changed_checksum": (_edit(CHECKSUM, "0"), "row 3 (user:3): the Checksum column was changed"),
    "wrong_campaign": (_edit("Campaign", "abcdef123456"), "row 3 (user:3): Campaign is"),
    "modify_without_grants": (_edit("Decision", "modify"), "row 3 (user:3): decision modify needs"),
    "grant_not_held": (
        _edit("Remove grants", "siteadmin"), "row 3 (user:3): Remove grants names siteadmin"
    ),
    "missing_header": (lambda rows: [row.pop(COL["Decision"]) for row in rows],
                       "row 1: missing column(s) Decision"),
}  # fmt: skip


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_file_is_refused_with_row_numbers(campaign, tmp_path, case):
    change, needle = MALFORMED[case]
    rows = fill(exported_csv(campaign, tmp_path), ["keep", "revoke", "keep"])
    change(rows)

    with pytest.raises(ReviewFileError) as caught:
        read_review_file(write_csv(rows, tmp_path), campaign, by="rev@acme.test")

    assert needle in caught.value.message, caught.value.message
    assert "nothing was recorded" in caught.value.message
    assert caught.value.exit_code is ExitCode.BAD_INPUT


def test_every_bad_row_is_reported_and_the_message_is_capped(campaign, tmp_path):
    rows = exported_csv(campaign, tmp_path)
    rows += [[campaign.id, f"user:{n}", *[""] * (len(COLUMNS) - 2)] for n in range(100, 130)]

    with pytest.raises(ReviewFileError) as caught:
        read_review_file(write_csv(rows, tmp_path), campaign, by="rev@acme.test")

    problems = caught.value.problems
    assert [p.row for p in problems[:3]] == [2, 3, 4] and len(problems) > MAX_PROBLEMS
    assert caught.value.message.endswith(f"and {len(problems) - MAX_PROBLEMS} more.")


@pytest.mark.parametrize(
    ("name", "content", "error", "needle"),
    [
        ("review.txt", b"x", UsageError, "must end in .xlsx or .csv"),
        ("review.xlsx", b"not a zip", BadInputError, "is not a readable XLSX"),
        ("review.csv", b"\xff\xfe", BadInputError, "is not UTF-8 text"),
        ("review.csv", b"", ReviewFileError, "missing column(s) Campaign"),
        ("review.csv", b'"' + b"x" * 200_000 + b'"', BadInputError, "is not a readable CSV"),
        ("review.xlsx", ZIP_WITHOUT_WORKBOOK, BadInputError, "is not a readable XLSX"),
    ],
    ids=["suffix", "not_xlsx", "not_utf8", "empty", "huge_field", "zip_not_workbook"],
)
def test_unreadable_files_are_refused(campaign, tmp_path, name, content, error, needle):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error) as caught:
        read_review_file(path, campaign, by="rev@acme.test")
    assert needle in caught.value.message


def test_a_file_without_filled_rows_is_refused(campaign, tmp_path):
    rows = exported_csv(campaign, tmp_path)[:1]
    with pytest.raises(ReviewFileError, match="no filled-in rows"):
        read_review_file(write_csv(rows, tmp_path), campaign, by="rev@acme.test")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda rows: [row.append(row[COL["Decision"]]) for row in rows],
         f"column {len(COLUMNS) + 1} 'Decision' repeats column {COL['Decision'] + 1}"),
        (lambda rows: [row.append("x") for row in rows], "'Decision' is not a review column"),
    ],
    ids=["duplicate", "unknown"],
)  # fmt: skip
def test_duplicate_or_unknown_headers_are_refused(campaign, tmp_path, change, needle):
    """Two Decision columns: the reviewer sees one and another would be recorded."""
    rows = fill(exported_csv(campaign, tmp_path), ["keep", "keep", "keep"])
    for row in rows[1:]:
        row[COL["Decision"]] = "keep"
    change(rows)
    if "not a review" in needle:
        rows[0][-1], needle = "Decision2", "column 15 'Decision2' is not a review column"
    else:
        for row in rows[1:]:
            row[-1] = "revoke"
    with pytest.raises(ReviewFileError) as caught:
        read_review_file(write_csv(rows, tmp_path), campaign, by="rev@acme.test")
    assert needle in caught.value.message and "nothing was recorded" in caught.value.message


def test_a_workbook_that_would_inflate_past_the_bounds_is_refused(campaign, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("xl/worksheets/sheet1.xml", b"\0" * 20_000_000)  # ~20 KB compressed
    with pytest.raises(BadInputError, match="refused as a likely decompression bomb"):
        read_review_file(path, campaign, by="rev@acme.test")
