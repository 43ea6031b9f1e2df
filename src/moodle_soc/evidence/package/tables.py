"""The package's tables (findings, populations, control matrix) as CSV and Excel workbooks.

Moodle data is untrusted: a username such as ``=HYPERLINK(...)`` must never become a formula
when an auditor opens the file. CSV cells that a spreadsheet would read as a formula get a
leading apostrophe (``safety.neutralize_formula``); workbook cells are written as text, with
Excel's quote prefix on those that look like a formula. Workbooks
carry fixed timestamps so the same evidence exports to the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moodle_soc.models.frameworks import FrameworkPeriod
from moodle_soc.models.period import FindingHistory, PeriodReport
from moodle_soc.models.run import AuditRun
from moodle_soc.results import Status
from moodle_soc.safety import is_formula_like, neutralize_formula

if TYPE_CHECKING:
    from moodle_soc.frameworks.catalogue import Catalogue, Criterion
    from moodle_soc.models.programme import ReadinessScope

Cell = str | int | float | bool | None
XLSX_MAX_CELL = 32767  # Excel's limits; the CSV keeps every value whole
XLSX_MAX_ROWS = 1_048_575  # more rows continue on a second sheet
FINDING_COLUMNS = (
    "run_seq", "audit_time", "check_id", "title", "status", "severity", "resource", "reason",
    "criteria", "first_seen", "resolved_at",
)  # fmt: skip


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[list[Cell]]


def cell(value: Any) -> Cell:
    """A JSON value as one cell: nested values as compact JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def csv_bytes(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue().encode()


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralize_formula(value) if isinstance(value, str) else str(value)


def xlsx_bytes(tables: Sequence[Table], moment: datetime) -> bytes:
    """One sheet per table; text cells stay text; the same input gives the same bytes."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.xml.functions import tostring

    stamp = moment.replace(tzinfo=None, microsecond=0)
    book = Workbook(write_only=True)
    book.properties.created = book.properties.modified = stamp
    book.properties.creator = "moodle-soc"
    for table in tables:
        for part, start in enumerate(range(0, max(len(table.rows), 1), XLSX_MAX_ROWS), 1):
            title = table.title if part == 1 else f"{table.title} ({part})"
            sheet = book.create_sheet(_sheet_title(title))
            header = []
            for name in table.columns:
                head = WriteOnlyCell(sheet, value=name)
                head.font = Font(bold=True)
                header.append(head)
            sheet.append(header)
            _append_rows(sheet, table.rows[start : start + XLSX_MAX_ROWS])
    buffer = io.BytesIO()
    book.save(buffer)  # which sets "modified" to now: write the part again, fixed
    book.properties.modified = stamp
    core = tostring(book.properties.to_tree())
    return _fixed_times(buffer.getvalue(), stamp, {"docProps/core.xml": core})


def _append_rows(sheet: Any, rows: list[list[Cell]]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for row in rows:
        cells = []
        for value in row:
            item = WriteOnlyCell(sheet)
            if isinstance(value, str):
                text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)[:XLSX_MAX_CELL]
                item.value = text
                item.data_type = "s"  # never a formula or an error code
                item.quotePrefix = is_formula_like(text)
            else:
                item.value = value
            cells.append(item)
        sheet.append(cells)


def _sheet_title(title: str) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)
    return cleaned[:31] or "Sheet"


def _fixed_times(workbook: bytes, stamp: datetime, replace: dict[str, bytes]) -> bytes:
    """openpyxl stamps each part with the current time; restamp them all with ``stamp``."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    buffer = io.BytesIO()
    when = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, 0)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = zipfile.ZipInfo(info.filename, date_time=when)
            part.compress_type = zipfile.ZIP_DEFLATED
            part.external_attr = 0o100644 << 16
            target.writestr(part, replace.get(info.filename) or source.read(info))
    return buffer.getvalue()


def finding_rows(
    seq: int, run: AuditRun, history: Mapping[tuple[str, str], FindingHistory]
) -> list[list[Cell]]:
    """The run's findings as rows; a failure also shows when its (check, resource) was first
    seen failing and when it was resolved, as the period report's finding history tells."""
    rows: list[list[Cell]] = []
    for f in run.iter_findings():
        known = history.get((f.check_id, f.resource)) if f.status is Status.FAIL else None
        rows.append([
            seq, _iso(run.audit_time), f.check_id, f.title, f.status.value, f.severity.value,
            f.resource, f.reason, " ".join(f.criteria),
            _iso(known.first_seen) if known else None,
            _iso(known.resolved_at) if known and known.resolved_at else None,
        ])  # fmt: skip
    return rows


def findings_table(rows: list[list[Cell]]) -> Table:
    """Every finding of every run, in audit-time order."""
    rows.sort(key=lambda row: (str(row[1]), int(row[0] or 0)))
    return Table("Findings", FINDING_COLUMNS, rows)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


MATRIX_COLUMNS = (
    "type", "id", "title", "criteria_or_checks", "status", "days_pass", "days_fail",
    "days_unknown", "exception", "fixed_on", "still_failing", "manual_evidence", "attachments",
    "in_scope", "scope_decision",
)  # fmt: skip
NO_SCOPE = "No scope decided ('moodle-soc readiness scope'): everything is in scope."


def control_matrix(
    report: PeriodReport, attached: Mapping[int, str], scope: ReadinessScope | None = None
) -> Table:
    """Every check, then every SOC 2 criterion and SOC 1 objective, over the period.

    ``attached`` maps attachment record numbers to the control id they serve. A criterion's
    day fails when any of its checks failed that day and passes when all of them passed.
    With a ``scope``, each row says whether the scope decision keeps it in (a criterion: its
    category's or SOC 1's decision; a check: in while any criterion it serves is in), with
    the decision's reason and who took it. Out-of-scope rows keep their measured status.
    """
    from moodle_soc.checks.registry import all_checks
    from moodle_soc.frameworks import load_catalogue

    catalogue = load_catalogue()
    controls = {c.check_id: c for c in report.controls}
    titles = {spec.id: spec.title for spec in all_checks()}
    titles |= {c.check_id: c.title for c in report.controls if c.check_id not in titles}

    def files_for(*ids: str) -> str:
        return " ".join(str(seq) for seq, control in sorted(attached.items()) if control in ids)

    rows: list[list[Cell]] = []
    for check_id, title in titles.items():
        control = controls.get(check_id)
        days: list[str] | None = [c.status for c in control.timeline] if control else None
        ranges = control.exception_ranges if control else []
        exception = "; ".join(
            str(r.start) if r.days == 1 else f"{r.start}..{r.end}" for r in ranges
        )
        fixed = str(control.fixed_on or "") if control else ""
        criteria = " ".join(catalogue.criteria_for_check(check_id))
        rows.append(["check", check_id, title, criteria, *_over_period(days, report.days)])
        rows[-1] += [exception, fixed, bool(control and control.still_failing), ""]
        rows[-1].append(files_for(check_id))
        rows[-1] += _check_scope(catalogue, check_id, scope)
    for framework in catalogue.frameworks():
        for criterion in framework.criteria:
            mapped = [controls[c] for c in criterion.checks if c in controls]
            complete = len(mapped) == len(criterion.checks)
            days = None
            if mapped:
                days = [
                    _combine([m.timeline[i].status for m in mapped], complete)
                    for i in range(report.days)
                ]
            status = (
                _over_period(days, report.days) if criterion.checks else ["manual"] + [None] * 3
            )
            checks = " ".join(criterion.checks)
            rows.append(["criterion", criterion.id, criterion.title, checks, *status])
            rows[-1].append(" ".join(m.check_id for m in mapped if m.exception))
            rows[-1] += ["", any(m.still_failing for m in mapped)]
            rows[-1].append(" ".join(criterion.manual_evidence))
            rows[-1].append(files_for(criterion.id, *criterion.manual_evidence, *criterion.checks))
            rows[-1] += _criterion_scope(framework.id, criterion, scope)
    return Table("Control matrix", MATRIX_COLUMNS, rows)


def matrix_summary(table: Table) -> str:
    """The matrix's score: criteria and objectives that operated throughout the period, out
    of those in scope; out-of-scope ones are named as such and not counted."""
    kind, status, inside = (table.columns.index(c) for c in ("type", "status", "in_scope"))
    criteria = [row for row in table.rows if row[kind] == "criterion"]
    counted = [row for row in criteria if row[inside] is not False]
    operated = sum(row[status] == "operated throughout" for row in counted)
    text = (
        f"{operated} of {len(counted)} in-scope SOC 2 criteria and SOC 1 objectives operated"
        " throughout the period"
    )
    if excluded := len(criteria) - len(counted):
        text += f"; {excluded} out of scope by the scope decision (listed, not counted)"
    return text + "."


def _decision(framework: str, criterion: Criterion, scope: ReadinessScope) -> tuple[bool, str]:
    """Whether the scope keeps a SOC 2 criterion (by its category) or a SOC 1 objective in,
    and the decision's reason."""
    decided = scope.decision("SOC1" if framework == "soc1" else criterion.category)
    if decided is None:
        return True, "In scope: the scope decision does not name this category."
    return decided.in_scope, decided.reason


def _decided_by(scope: ReadinessScope) -> str:
    return f"Decided by {scope.decided_by} on {scope.decided_at.date()}."


def _criterion_scope(
    framework: str, criterion: Criterion, scope: ReadinessScope | None
) -> list[Cell]:
    if scope is None:
        return [True, NO_SCOPE]
    inside, reason = _decision(framework, criterion, scope)
    return [inside, f"{reason} {_decided_by(scope)}"]


def _check_scope(catalogue: Catalogue, check_id: str, scope: ReadinessScope | None) -> list[Cell]:
    if scope is None:
        return [True, NO_SCOPE]
    served = [
        (criterion.id, *_decision(framework.id, criterion, scope))
        for framework in catalogue.frameworks()
        for criterion in framework.criteria
        if check_id in criterion.checks
    ]
    if not served:
        return [True, "In scope: the check serves no SOC criterion the scope could exclude."]
    inside = [c for c, kept, _ in served if kept]
    if inside:
        return [True, f"In scope: it serves {' '.join(inside)}."]
    ids = " ".join(c for c, _, _ in served)
    reasons = " ".join(dict.fromkeys(reason for _, _, reason in served))
    text = f"Out of scope: every criterion it serves ({ids}) is out of scope. {reasons}"
    return [False, f"{text} {_decided_by(scope)}"]


REQUIREMENT_COLUMNS = (
    "id", "title", "category", "coverage", "state", "checks", "exception_checks",
    "first_failure", "days_fail", "manual_evidence",
)  # fmt: skip


def framework_table(view: FrameworkPeriod) -> Table:
    """One framework's requirements over the period (``frameworks/<id>.csv``)."""
    rows: list[list[Cell]] = [
        [
            r.id,
            r.title,
            r.category,
            r.coverage,
            r.state,
            " ".join(r.checks),
            " ".join(r.exception_checks),
            str(r.first_failure or ""),
            r.days_fail,
            " ".join(r.manual_evidence),
        ]
        for r in view.requirements
    ]
    return Table(f"{view.name} ({view.version})", REQUIREMENT_COLUMNS, rows)


def _combine(statuses: list[str], complete: bool) -> str:
    if "fail" in statuses:
        return "fail"
    return "pass" if complete and all(s == "pass" for s in statuses) else "unknown"


def _over_period(days: list[str] | None, total: int) -> list[Cell]:
    """status, days_pass, days_fail, days_unknown."""
    if days is None:
        return ["not run", 0, 0, total]
    counts = [days.count("pass"), days.count("fail"), days.count("unknown")]
    if counts[1]:
        status = "exception"
    elif counts[0] == total:
        status = "operated throughout"
    else:
        status = "incomplete"
    return [status, *counts]
