"""The review file a reviewer fills in (XLSX or CSV), and its strict import.

One row per entry of the campaign: locked columns say who holds what (with a hidden per-row
checksum of them), unlocked ones take the decision, the grants to remove and a comment. An
import checks every row and collects every problem with its row number; when any row is bad it
raises ``ReviewFileError`` and nothing is recorded. Moodle data is untrusted: a value a
spreadsheet could run as a formula is written as text (XLSX) or behind a quote (CSV).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moodle_soc.errors import BadInputError, UsageError
from moodle_soc.models.reviews import DECISIONS, Campaign, Decision, DecisionImport
from moodle_soc.safety import neutralize_formula, strip_formula_guard

LOCKED = ("Campaign", "Key", "Username", "Name", "Email", "Auth", "State", "Grants", "Flags", "Tag")
UNLOCKED = ("Decision", "Remove grants", "Comment")
CHECKSUM = "Checksum"
COLUMNS = (*LOCKED, *UNLOCKED, CHECKSUM)
OPTIONAL = ("Remove grants", "Comment")
MAX_PROBLEMS = 20
MAX_FILE_BYTES = 50 * 2**20
MAX_COMMENT = 2000
_LIST_SEPARATORS = re.compile(r"[;,\s]+")


@dataclass(frozen=True)
class RowProblem:
    row: int
    message: str
    key: str | None = None

    def describe(self) -> str:
        where = f"row {self.row}" + (f" ({self.key})" if self.key else "")
        return f"{where}: {self.message}"


class ReviewFileError(BadInputError):
    """A review file with bad rows; ``problems`` lists every one, in row order."""

    def __init__(self, source: str, problems: list[RowProblem]) -> None:
        shown = "; ".join(p.describe() for p in problems[:MAX_PROBLEMS])
        more = len(problems) - MAX_PROBLEMS
        tail = f"; and {more} more" if more > 0 else ""
        super().__init__(
            f"{source}: {len(problems)} problem(s), nothing was recorded: {shown}{tail}."
        )
        self.problems = problems


def _raw(value: Any) -> str:
    """A cell's value, without the quote our export put before a formula-like value."""
    return strip_formula_guard("" if value is None else str(value))


def _plain(value: Any) -> str:
    """A cell as text with whitespace runs collapsed (Excel rewrites line ends)."""
    return " ".join(_raw(value).split())


def _cell(row: list[Any], where: dict[str, int], column: str) -> str:
    index = where.get(column.lower())
    if index is None or index >= len(row):
        return ""
    if column == "Comment":
        return "\n".join(line.rstrip() for line in _raw(row[index]).splitlines()).strip()
    return _plain(row[index])


def checksum(values: list[str]) -> str:
    return hashlib.sha256("\x1f".join(_plain(v) for v in values).encode()).hexdigest()


def locked_values(campaign: Campaign, key: str) -> list[str]:
    """The locked columns of ``key``'s row, as exported."""
    entry = campaign.entry(key)
    if entry is None:
        raise KeyError(key)
    return [
        campaign.id,
        entry.key,
        entry.username,
        entry.fullname,
        entry.email,
        entry.auth,
        entry.state,
        "\n".join(grant.key for grant in entry.grants),
        "\n".join(f"{flag.code}: {flag.reason}" for flag in entry.flags),
        campaign.tag(entry.key).tag,
    ]


def review_rows(campaign: Campaign) -> list[list[str]]:
    """Every row of the file: locked values, empty decision columns, the checksum."""
    rows = []
    for entry in campaign.entries:
        locked = locked_values(campaign, entry.key)
        rows.append([*locked, "", "", "", checksum(locked)])
    return rows


def write_review_file(campaign: Campaign, path: Path) -> int:
    """Write the review file (format from the suffix); returns the number of entry rows."""
    from moodle_soc.reviews.xlsx import write_xlsx

    rows = review_rows(campaign)
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            write_xlsx(campaign, rows, path)
        elif suffix == ".csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(COLUMNS)
            writer.writerows([[neutralize_formula(value) for value in row] for row in rows])
            path.write_text(out.getvalue(), encoding="utf-8-sig", newline="")
        else:
            raise UsageError(f"{path.name}: the review file must end in .xlsx or .csv.")
    except OSError as exc:
        raise BadInputError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    return len(rows)


# --- import -------------------------------------------------------------------------------------


def _table(path: Path, data: bytes) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInputError(f"{path.name} is not UTF-8 text; save it as CSV UTF-8.") from None
        try:
            return [list(row) for row in csv.reader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise BadInputError(f"{path.name} is not a readable CSV file ({exc}).") from None
    if suffix == ".xlsx":
        from moodle_soc.reviews.xlsx import read_xlsx

        return read_xlsx(path.name, data)
    raise UsageError(f"{path.name}: the review file must end in .xlsx or .csv.")


def _grant_list(text: str) -> list[str]:
    return [item for item in _LIST_SEPARATORS.split(text) if item]


def _check_row(
    campaign: Campaign, number: int, cells: dict[str, str], reviewer: str
) -> tuple[Decision | None, list[RowProblem]]:
    key = cells["Key"]
    problems: list[RowProblem] = []

    def problem(message: str) -> None:
        problems.append(RowProblem(number, message, key or None))

    if cells["Campaign"] != campaign.id:
        problem(f"Campaign is {cells['Campaign'] or 'empty'!r}, not {campaign.id}")
    entry = campaign.entry(key) if key else None
    if not key:
        problem("Key is empty")
    elif entry is None:
        problem(f"{key!r} is not an entry to review in campaign {campaign.id}")
    else:
        expected = locked_values(campaign, key)
        changed = [c for c, v in zip(LOCKED, expected, strict=True) if _plain(v) != cells[c]]
        if changed:
            problem(f"locked column(s) {', '.join(changed)} differ from the export")
        elif cells[CHECKSUM] != checksum(expected):
            problem("the Checksum column was changed or removed")
    decision = cells["Decision"].lower()
    grants = _grant_list(cells["Remove grants"])
    if not decision:
        problem(f"Decision is empty; choose one of {', '.join(DECISIONS)}")
    elif decision not in DECISIONS:
        problem(f"Decision {cells['Decision']!r} is not one of {', '.join(DECISIONS)}")
    elif decision in ("keep", "escalate") and grants:
        problem(f"Remove grants must be empty for decision {decision}")
    elif decision == "modify" and not grants:
        problem("decision modify needs Remove grants: the grants to take away")
    if entry is not None and grants:
        held = {grant.key for grant in entry.grants}
        foreign = [g for g in grants if g not in held]
        if foreign:
            problem(f"Remove grants names {', '.join(foreign)}, not held by {entry.username}")
    if len(cells["Comment"]) > MAX_COMMENT:
        problem(f"Comment is longer than {MAX_COMMENT} characters")
    if problems or entry is None:
        return None, problems
    made = Decision.model_validate(
        {"key": key, "decision": decision, "comment": cells["Comment"], "row": number}
        | {"remove_grants": grants, "reviewer": reviewer}
    )
    return made, problems


def _check_header(source: str, header: list[str]) -> None:
    """Two columns of one name (which would win?) or a column the file never had are errors:
    a reviewer must see exactly what is recorded."""
    known = {column.lower() for column in COLUMNS}
    seen: dict[str, int] = {}
    problems = []
    for number, name in enumerate(header, start=1):
        if not name:
            continue
        if name.lower() in seen:
            problems.append(
                RowProblem(1, f"column {number} {name!r} repeats column {seen[name.lower()]}")
            )
        elif name.lower() not in known:
            problems.append(RowProblem(1, f"column {number} {name!r} is not a review column"))
        seen.setdefault(name.lower(), number)
    if problems:
        raise ReviewFileError(source, problems)


def read_review_file(
    path: Path, campaign: Campaign, *, by: str, now: datetime | None = None
) -> DecisionImport:
    """Validate every row of a filled-in review file against ``campaign``; all or nothing."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BadInputError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB.")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    table = _table(path, data)
    header = [_plain(cell) for cell in (table[0] if table else [])]
    _check_header(path.name, header)
    where = {name.lower(): index for index, name in enumerate(header) if name}
    missing = [c for c in COLUMNS if c.lower() not in where and c not in OPTIONAL]
    if missing:
        raise ReviewFileError(path.name, [RowProblem(1, f"missing column(s) {', '.join(missing)}")])
    problems: list[RowProblem] = []
    decisions: list[Decision] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(table[1:], start=2):
        cells = {column: _cell(row, where, column) for column in COLUMNS}
        if not any(cells.values()):
            continue
        key = cells["Key"]
        if key and key in seen:
            problems.append(RowProblem(number, f"duplicate of row {seen[key]}", key))
            continue
        seen.setdefault(key, number)
        decision, found = _check_row(campaign, number, cells, by)
        problems.extend(found)
        if decision is not None:
            decisions.append(decision)
    if not problems and not decisions:
        problems.append(RowProblem(2, "the file has no filled-in rows"))
    if problems:
        raise ReviewFileError(path.name, problems)
    return DecisionImport(
        campaign_id=campaign.id,
        imported_by=by,
        imported_at=now or datetime.now(UTC),
        file_name=path.name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_format="xlsx" if path.suffix.lower() == ".xlsx" else "csv",
        decisions=decisions,
    )
