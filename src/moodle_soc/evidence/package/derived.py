"""The package's readable files, bound to the hash chain by regenerating them from its records.

An auditor opens ``findings/findings.csv`` or the period report, not the runs, but their hashes
sit only in the manifest, which a forger without a signing key can recompute. Every record they
are made from is in the package and hashes to its chained header (``chain.ChainCheck``), so
``verify-package`` makes each readable file again from those records, with the export's own
code, and compares it: the same bytes, or for a workbook the same cell values. A difference is
named by file, row and column. What cannot be made again from the package (the readiness
report, the scope columns of the control matrix, the review sections of the period report) is
listed as not bound, with the reason, so nothing is trusted silently.

Regenerating needs the exporting version's code: a package made by another moodle-soc version
has its readable files listed as not bound (the chained records still verify).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from moodle_soc import __version__
from moodle_soc.errors import BadInputError
from moodle_soc.evidence.package.archive import MAX_MEMBER_BYTES, MAX_RATIO
from moodle_soc.evidence.package.chain import Tampered
from moodle_soc.evidence.package.content import (
    FINDINGS_CSV,
    FINDINGS_XLSX,
    MATRIX_CSV,
    PERIOD_HTML,
    PERIOD_JSON,
    PERIOD_PDF,
    period_json,
    population_file,
    population_files,
    pretty_json,
    sample_file,
)
from moodle_soc.evidence.package.manifest import CHAIN, MANIFEST, Manifest, RecordEntry
from moodle_soc.evidence.periods.populations import POPULATION_KINDS
from moodle_soc.evidence.store.canonical import sha256_hex
from moodle_soc.evidence.store.engine import StoreError
from moodle_soc.evidence.store.runs import population_hashes, run_from_payload
from moodle_soc.models.period import PeriodReport
from moodle_soc.models.records import RecordKind, SiteRef, parse_utc_iso
from moodle_soc.models.run import AuditRun

Bound = Literal["chain", "regenerated", "partly", "not bound"]
FINDING_HISTORY = ("first_seen", "resolved_at")
SCOPE_COLUMNS = ("in_scope", "scope_decision")
#: Why each readable file that is not made from the package's records cannot be compared.
UNBOUND = {
    "README.txt": f"the package has no {MATRIX_CSV} to take the controls' score from",
    "report/readiness-report.html": "built from the whole evidence store as of the period's"
    " end (the latest run, scope, attachments and risk exceptions, also from before the"
    " period), which the package does not hold",
    "report/questionnaire-answers.csv": "built from the whole evidence store as of the"
    " period's end, which the package does not hold",
}
UNBOUND["report/readiness-report.pdf"] = UNBOUND["report/readiness-report.html"]
_DIFFERENT_VERSION = (
    "made by moodle-soc {made}; only the same version can make it again to compare (this is"
    " moodle-soc {this}): verify with moodle-soc {made}"
)
_MAPPING = "the framework mapping given at export (input, not evidence)"
_NO_PERIOD_JSON = f"the package has no {PERIOD_JSON} (made before it was added) to regenerate from"


@dataclass(frozen=True)
class Binding:
    """How one file of a package is tied to the hash chain, or why it is not."""

    path: str
    bound: Bound
    how: str


def check_derived(
    manifest: Manifest,
    files: Mapping[str, bytes],
    headers: Mapping[int, dict[str, Any]],
    payloads: Mapping[int, Any],
    *,
    reprint: bool = True,
) -> list[Binding]:
    """Every file of the package with how it is bound; raise ``Tampered`` naming the first
    readable file that its records do not produce. ``headers`` and ``payloads`` are the
    verified headers and payloads of the included records (payload None for runs and
    cleared records). Without ``reprint`` the PDF is not printed again (the exporter's own
    check: it printed it from the very HTML just compared)."""
    regeneration = _Regeneration(manifest, files, headers, payloads)
    regeneration.reprint = reprint
    return regeneration.run()


class _Regeneration:
    def __init__(
        self,
        manifest: Manifest,
        files: Mapping[str, bytes],
        headers: Mapping[int, dict[str, Any]],
        payloads: Mapping[int, Any],
    ) -> None:
        self.manifest = manifest
        self.files = files
        self.headers = headers
        self.payloads = payloads
        try:
            self.moment = parse_utc_iso(manifest.generated_at).astimezone(UTC)
        except ValueError:
            raise Tampered(MANIFEST, "its generated_at is not a time") from None
        self.bindings: dict[str, Binding] = {}
        self.reprint = True
        made_by = manifest.tool.get("version", "unknown")
        self.other_version = (
            _DIFFERENT_VERSION.format(made=made_by, this=__version__)
            if made_by != __version__
            else None
        )

    def run(self) -> list[Binding]:
        self._chained()
        if self.other_version is None:
            self._records()
            report = self._period_report()
            self._findings(report)
            if report is not None:
                self._rendered(report)
                self._readme()
            else:
                self._without_report()
        for entry in self.manifest.files:
            if entry.path not in self.bindings:
                reason = self.other_version or UNBOUND.get(entry.path) or _unknown(entry.path)
                self.bindings[entry.path] = Binding(entry.path, "not bound", reason)
        return [self.bindings[entry.path] for entry in self.manifest.files]

    def bind(self, path: str, bound: Bound, how: str) -> None:
        self.bindings[path] = Binding(path, bound, how)

    # -- files the chain check already ties to their records -------------------------------

    def _chained(self) -> None:
        self.bind(CHAIN, "chain", "every header rehashed and linked to the one before")
        for entry in self.manifest.records:
            if entry.file is not None:
                what = "hashes to" if entry.kind == RecordKind.RUN else "its payload hashes to"
                self.bind(entry.file, "chain", f"{what} record {entry.seq}'s content hash")
            if entry.kind == RecordKind.RUN and entry.file in self.files:
                self._populations(entry)
            if entry.attachment is not None:
                self.bind(
                    entry.attachment, "chain", f"hashes to the SHA-256 record {entry.seq} gives"
                )

    def _populations(self, entry: RecordEntry) -> None:
        """Each population the chained run names by hash must be there and hash to it."""
        assert entry.file is not None
        try:
            digests = population_hashes(json.loads(self.files[entry.file]))
        except ValueError:
            raise Tampered(entry.file, f"record {entry.seq}'s run cannot be read") from None
        for digest in digests:
            name = population_file(digest)
            data = self.files.get(name)
            if data is None:
                raise Tampered(name, f"the findings record {entry.seq} names are missing")
            if sha256_hex(data) != digest:
                raise Tampered(name, f"does not hash to the SHA-256 record {entry.seq} gives")
            self.bind(name, "chain", f"hashes to the SHA-256 record {entry.seq} gives")

    # -- populations and samples: made from one record each ---------------------------------

    def _records(self) -> None:
        made: dict[str, bytes] = {}
        source: dict[str, int] = {}
        for entry in self._live((*POPULATION_KINDS, RecordKind.SAMPLE)):
            payload = self.payloads.get(entry.seq)
            if entry.kind == RecordKind.SAMPLE:
                if payload is None:
                    continue
                new = {sample_file(entry.seq): pretty_json(payload)}
            elif isinstance(payload, dict):
                new = population_files(entry.seq, payload, made, self.moment)
            else:
                continue
            made |= new
            source |= dict.fromkeys(new, entry.seq)
        for path, data in made.items():
            if path not in self.files:
                raise Tampered(path, f"record {source[path]} makes this file; it is missing")
            self._same(path, data, f"record {source[path]}")
            self.bind(path, "regenerated", f"made again from record {source[path]} and compared")
        for path in self.files:
            if path.startswith(("populations/", "samples/")) and path not in made:
                raise Tampered(path, "no record in the package makes this file")

    # -- the period report: regenerated from the runs ---------------------------------------

    def _period_report(self) -> PeriodReport | None:
        """The period report the package states, once its run-based parts are shown to be
        what the chained runs give (under the recording tolerance it states)."""
        from moodle_soc.evidence.periods.timeline import RunView, build_period_report

        data = self.files.get(PERIOD_JSON)
        if data is None:
            return None
        try:
            stated = PeriodReport.model_validate_json(data)
        except ValidationError:
            raise Tampered(PERIOD_JSON, "is not a period report this version can read") from None
        period, site = self.manifest.period, self.manifest.site
        tolerance = stated.max_recording_delay_hours
        views, cleared = [], []
        for entry in self._live((RecordKind.RUN,), cleared=True):
            header = self.headers.get(entry.seq, {})
            recorded = parse_utc_iso(str(header.get("created_at") or entry.collected_at))
            if entry.cleared_by is not None:
                audited = parse_utc_iso(entry.collected_at)
                cleared.append(
                    RunView(entry.seq, entry.record_hash, audited, {}, recorded_at=recorded)
                )
                continue
            views.append(
                RunView.from_parts(entry.seq, entry.record_hash, recorded, self.audit_run(entry))
            )
        made = build_period_report(
            SiteRef(site.key, site.name, site.wwwroot),
            views,
            period.start,
            period.end,
            generated_at=self.moment,
            max_recording_delay_hours=tolerance,
        )
        made = made.model_copy(
            update={
                "unreadable_runs": [view.ref(tolerance) for view in cleared],
                # Built from campaign records that can lie outside the period: as stated.
                "access_reviews": stated.access_reviews,
            }
        )
        made = made.model_copy(update={"log_reviews": self._log_reviews(stated)})
        made = made.model_copy(
            update={"logs_unreviewed": _unreviewed(made, period.start, period.end)}
        )
        expected = period_json(made)
        if data != expected:
            got, want = json.loads(data), json.loads(expected)
            field = next((k for k in want if got.get(k) != want.get(k)), "its layout")
            raise Tampered(
                PERIOD_JSON,
                f"{field} differs from the period report of the chained runs"
                f" (recording tolerance {tolerance} hours, as it states): edited after export",
            )
        self.bind(
            PERIOD_JSON,
            "partly",
            "regenerated from the chained runs and log reviews and compared, under the"
            f" recording tolerance it states ({tolerance} hours: check it is your policy's);"
            " its access_reviews, and log_reviews whose record ends after the period, are"
            " taken as stated (their records lie outside the package)",
        )
        return made

    def _log_reviews(self, stated: PeriodReport) -> list[Any]:
        """The signed-off log reviews overlapping the period: made again from the log-review
        records the package holds; one it does not hold (signed off for days reaching past
        the period) is taken as stated, unless the chain file shows that record is not it."""
        from moodle_soc.models.logs import LogReviewSignOff
        from moodle_soc.models.period import LogReviewSummary

        period = self.manifest.period
        held = {entry.seq for entry in self.manifest.records}
        found = []
        for entry in self._live((RecordKind.LOG_REVIEW,)):
            try:
                signed = LogReviewSignOff.model_validate(self.payloads.get(entry.seq))
            except ValidationError:
                raise Tampered(self._file(entry), "is not a log review sign-off") from None
            if signed.period.end < period.start or signed.period.start > period.end:
                continue
            found.append(LogReviewSummary.of(signed, entry.seq, entry.record_hash))
        segment = {}
        for raw in self.files.get(CHAIN, b"").splitlines():
            line = json.loads(raw)
            segment[line.get("seq")] = (line.get("record_hash"), line["header"].get("kind"))
        for review in stated.log_reviews:
            if review.record_seq in held:
                continue  # made again above
            seen = segment.get(review.record_seq)
            if seen is not None and seen != (review.record_hash, RecordKind.LOG_REVIEW):
                raise Tampered(
                    PERIOD_JSON,
                    f"log_reviews names record {review.record_seq}, which the chain shows is"
                    " not that log review: edited after export",
                )
            found.append(review)
        return sorted(found, key=lambda r: (r.start, r.signed_at, r.record_seq))

    def audit_run(self, entry: RecordEntry) -> AuditRun:
        """The chained run with its findings, from the populations it names by hash."""
        assert entry.file is not None
        try:
            payload = json.loads(self.files[entry.file])
            return run_from_payload(
                payload, lambda digest: self.files.get(population_file(digest)), entry.file
            )
        except StoreError as error:
            raise Tampered(entry.file, error.message.rstrip(".")) from None
        except (KeyError, ValueError, TypeError, ValidationError):
            raise Tampered(entry.file, f"record {entry.seq}'s run cannot be read") from None

    # -- findings: one row per finding of every run ----------------------------------------

    def _findings(self, report: PeriodReport | None) -> None:
        from moodle_soc.evidence.package.tables import (
            csv_bytes,
            finding_rows,
            findings_table,
            xlsx_bytes,
        )

        history = {(h.check_id, h.resource): h for h in report.findings} if report else {}
        rows = []
        for entry in self._live((RecordKind.RUN,)):
            rows += finding_rows(entry.seq, self.audit_run(entry), history)
        table = findings_table(rows)
        if FINDINGS_CSV in self.files:
            ignored = () if report else FINDING_HISTORY
            _compare_csv(FINDINGS_CSV, self.files[FINDINGS_CSV], csv_bytes(table), ignored)
            if report:
                self.bind(FINDINGS_CSV, "regenerated", "made again from the chained runs")
            else:
                self.bind(FINDINGS_CSV, "partly", f"made again from the chained runs, except"
                          f" first_seen and resolved_at: {_NO_PERIOD_JSON}")  # fmt: skip
        if FINDINGS_XLSX in self.files and report is not None:
            self._same(FINDINGS_XLSX, xlsx_bytes([table], self.moment), "the chained runs")
            self.bind(FINDINGS_XLSX, "regenerated", "made again from the chained runs")
        elif FINDINGS_XLSX in self.files:
            self.bind(FINDINGS_XLSX, "not bound", _NO_PERIOD_JSON)

    # -- what is drawn from the period report: HTML, PDF, matrix, frameworks ---------------

    def _rendered(self, report: PeriodReport) -> None:
        from moodle_soc.evidence.package.tables import (
            MATRIX_COLUMNS,
            control_matrix,
            csv_bytes,
            framework_table,
        )
        from moodle_soc.evidence.periods.frameworks import framework_periods
        from moodle_soc.frameworks import parse_framework
        from moodle_soc.reports.period import render_period_html

        frameworks = []
        for path in self.files:
            if path.startswith("frameworks/") and path.endswith(".json"):
                try:
                    frameworks.append((path, parse_framework(self.files[path], path)))
                except BadInputError as error:
                    raise Tampered(path, f"is not a framework mapping ({error})") from None
        views = framework_periods(report, [f for _, f in frameworks])
        for (path, framework), view in zip(frameworks, views, strict=True):
            table_path = path.removesuffix(".json") + ".csv"
            if table_path not in self.files:
                raise Tampered(table_path, f"{path} is in the package but its table is missing")
            self._same(table_path, csv_bytes(framework_table(view)), "the period report")
            self.bind(table_path, "regenerated", f"made again from the period report and {path}")
            self.bind(path, "not bound", _mapping_reason(framework))
        attached = {
            entry.seq: str(self.payloads[entry.seq].get("control", ""))
            for entry in self._live((RecordKind.ATTACHMENT,))
            if isinstance(self.payloads.get(entry.seq), dict)
        }
        if MATRIX_CSV in self.files:
            matrix = csv_bytes(control_matrix(report, attached, None))
            ignored = SCOPE_COLUMNS
            _compare_csv(MATRIX_CSV, self.files[MATRIX_CSV], matrix, ignored, MATRIX_COLUMNS)
            self.bind(
                MATRIX_CSV,
                "partly",
                "made again from the period report and the attachment records, except"
                " in_scope and scope_decision (the scope decision in force at export, which"
                " the package does not hold)",
            )
        html = render_period_html(report, views)
        if PERIOD_HTML in self.files:
            self._same(PERIOD_HTML, html.encode(), f"{PERIOD_JSON} and the framework mappings")
            self.bind(PERIOD_HTML, "partly", f"rendered again from {PERIOD_JSON} (so bound as"
                      " far as it is) and compared")  # fmt: skip
        if PERIOD_PDF in self.files and self.reprint:
            from moodle_soc.reports.pdf import html_to_pdf

            self._same(PERIOD_PDF, html_to_pdf(html), PERIOD_HTML)
            self.bind(PERIOD_PDF, "partly", f"printed again from {PERIOD_HTML} and compared")
        elif PERIOD_PDF in self.files:
            self.bind(PERIOD_PDF, "not bound", "not printed again in this check")

    def _without_report(self) -> None:
        """A package made before report/period-report.json was added: what is drawn from the
        period report cannot be made again."""
        for path in self.files:
            if path in (PERIOD_HTML, PERIOD_PDF, MATRIX_CSV, "README.txt") or (
                path.startswith("frameworks/") and path.endswith(".csv")
            ):
                self.bind(path, "not bound", _NO_PERIOD_JSON)
            elif path.startswith("frameworks/") and path.endswith(".json"):
                self.bind(path, "not bound", _MAPPING)

    def _readme(self) -> None:
        """README.txt: its figures come from the manifest (checked against the chain), the
        chain file and the control matrix's score."""
        from moodle_soc.evidence.package.readme import README, readme_bytes
        from moodle_soc.evidence.package.tables import MATRIX_COLUMNS, Table, matrix_summary

        if README not in self.files or MATRIX_CSV not in self.files:
            return
        inside = MATRIX_COLUMNS.index("in_scope")
        rows: list[list[Any]] = [
            [*row[:inside], row[inside] != "false", *row[inside + 1 :]]
            for row in _rows(MATRIX_CSV, self.files[MATRIX_CSV])[1:]
        ]
        keys = [json.loads(line).get("key_id") for line in self.files[CHAIN].splitlines()]
        manifest, site = self.manifest, self.manifest.site
        expected = readme_bytes(
            SiteRef(site.key, site.name, site.wwwroot),
            manifest.period.start,
            manifest.period.end,
            self.moment,
            Counter(entry.kind for entry in manifest.records),
            matrix_summary(Table("Control matrix", MATRIX_COLUMNS, rows)),
            manifest.chain.range_head,
            manifest.chain.head_at_export,
            [str(key) for key in keys if key],
            sorted(signature.key_id for signature in manifest.signatures),
        )
        self._same(README, expected, "the manifest, the chain and the control matrix")
        self.bind(
            README,
            "partly",
            "made again from the manifest, the chain and the control matrix and compared; the"
            " site's name and address (here and in every report) are the manifest's, the chain"
            " holds only the site key",
        )

    # -- helpers ---------------------------------------------------------------------------

    def _file(self, entry: RecordEntry) -> str:
        return entry.file or f"records/{entry.seq}.json"

    def _live(self, kinds: tuple[str, ...], *, cleared: bool = False) -> list[RecordEntry]:
        return [
            entry
            for entry in self.manifest.records
            if entry.kind in kinds and (cleared or entry.cleared_by is None)
        ]

    def _same(self, path: str, expected: bytes, source: str) -> None:
        data = self.files[path]
        if data == expected:
            return
        if path.endswith(".xlsx"):
            _compare_workbooks(path, data, expected, source)
            return
        if path.endswith(".csv"):
            _compare_csv(path, data, expected, ())
        where = _first_difference(data, expected)
        raise Tampered(
            path, f"differs from the file made again from {source} ({where}): edited after export"
        )


def _unreviewed(report: PeriodReport, start: date, end: date) -> list[Any]:
    from moodle_soc.evidence.periods.timeline import day_ranges

    reviewed = {
        r.start + timedelta(days=n)
        for r in report.log_reviews
        for n in range((r.end - r.start).days + 1)
    }
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return day_ranges(d for d in days if d not in reviewed)


def _mapping_reason(framework: Any) -> str:
    from moodle_soc.frameworks import builtin_frameworks

    if any(framework == known for known in builtin_frameworks()):
        return f"{_MAPPING}: the same as this version's built-in {framework.id}"
    return f"{_MAPPING}: check it is the one you expect"


def _unknown(path: str) -> str:
    return "not a file moodle-soc makes from evidence: nothing ties it to the records"


def _rows(path: str, data: bytes) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error):
        raise Tampered(path, "is not a UTF-8 CSV file") from None


def _compare_csv(
    path: str,
    data: bytes,
    expected: bytes,
    ignored: tuple[str, ...],
    columns: tuple[str, ...] | None = None,
) -> None:
    """Raise ``Tampered`` naming the first row and column of ``data`` that differs from
    ``expected`` (outside the ``ignored`` columns)."""
    actual, wanted = _rows(path, data), _rows(path, expected)
    header = wanted[0] if wanted else list(columns or ())
    if not actual or actual[0] != header:
        raise Tampered(path, "its header row differs from the table the records make")
    keep = [n for n, name in enumerate(header) if name not in ignored]
    for number, (got, want) in enumerate(zip(actual, wanted, strict=False), start=1):
        if [got[n] if n < len(got) else None for n in keep] != [want[n] for n in keep]:
            column = next(
                (header[n] for n in keep if n >= len(got) or got[n] != want[n]), header[0]
            )
            raise Tampered(
                path,
                f"row {number} ({column}) differs from {_made_by(path)}"
                f" ({_source(path, want)}): the table was edited after export",
            )
        if len(got) != len(want):
            raise Tampered(path, f"row {number} has {len(got)} cells; it should have {len(want)}")
    if len(actual) != len(wanted):
        noun = "findings" if path == FINDINGS_CSV else "rows"
        source = "the chained runs" if path == FINDINGS_CSV else "the chained records"
        raise Tampered(path, f"has {len(actual) - 1} {noun}; {source} hold {len(wanted) - 1}")
    if data != expected and not ignored:  # same cells, other bytes (line ends, quoting)
        raise Tampered(path, "its bytes differ from the table the records make (same cells)")


def _made_by(path: str) -> str:
    return "the findings of the chained runs" if path == FINDINGS_CSV else "what the records make"


def _source(path: str, row: list[str]) -> str:
    if path == FINDINGS_CSV and row:
        return f"runs/run-{row[0]}.json"
    return "the chained records"


NEWLINE = b"\n"


def _first_difference(data: bytes, expected: bytes) -> str:
    at = next(
        (n for n, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b),
        min(len(data), len(expected)),
    )
    if data.count(b"\n") or expected.count(b"\n"):
        return f"line {data[:at].count(NEWLINE) + 1}"
    return f"byte {at}"


def _compare_workbooks(path: str, data: bytes, expected: bytes, source: str) -> None:
    """Same sheets, same cell values (workbooks from another openpyxl differ in bytes)."""
    got, want = _sheets(path, data), _sheets(path, expected)
    if [name for name, _ in got] != [name for name, _ in want]:
        raise Tampered(path, "its sheets differ from the workbook the records make")
    for (sheet, rows), (_, wanted) in zip(got, want, strict=True):
        for number, (row, should) in enumerate(zip(rows, wanted, strict=False), start=1):
            if row != should:
                column = next(
                    (n for n, (a, b) in enumerate(zip(row, should, strict=False)) if a != b),
                    min(len(row), len(should)),
                )
                cell = f"{_column_letter(column)}{number}"
                raise Tampered(
                    path,
                    f"sheet {sheet!r} cell {cell} differs from the workbook made again from"
                    f" {source}: edited after export",
                )
        if len(rows) != len(wanted):
            raise Tampered(path, f"sheet {sheet!r} has {len(rows)} rows; it should have"
                           f" {len(wanted)}")  # fmt: skip


def _sheets(path: str, data: bytes) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Each sheet's cell values (never formulas run), after bounding decompression."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
        total = sum(part.file_size for part in parts)
        ratio = max((p.file_size / max(p.compress_size, 1) for p in parts), default=0)
        if total > MAX_MEMBER_BYTES or ratio > MAX_RATIO:
            raise Tampered(path, "would inflate past the bounds: refused unread")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            sheets = []
            for sheet in book.worksheets:
                state = getattr(sheet, "sheet_state", "visible")
                sheets.append((f"{sheet.title} ({state})", list(sheet.iter_rows(values_only=True))))
            return sheets
        finally:
            book.close()
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, SyntaxError, OSError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise Tampered(path, f"is not a readable workbook ({detail})") from None


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def bound_summary(bindings: list[Binding]) -> dict[Bound, int]:
    counts: dict[Bound, int] = {"chain": 0, "regenerated": 0, "partly": 0, "not bound": 0}
    for binding in bindings:
        counts[binding.bound] += 1
    return counts
