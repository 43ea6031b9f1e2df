"""The files of an evidence package, built from the records that serve the period.

The site's chain is verified before anything is exported: a package must never carry evidence
the store itself would reject (the written package is verified again, as a whole). File names
from Moodle or from uploaders are reduced to safe ASCII, so unzipping stays in its folder.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from moodle_soc.evidence.package.chain import record_document
from moodle_soc.evidence.package.manifest import RecordEntry
from moodle_soc.evidence.package.tables import (
    Cell,
    Table,
    cell,
    control_matrix,
    csv_bytes,
    finding_rows,
    findings_table,
    framework_table,
    matrix_summary,
    xlsx_bytes,
)
from moodle_soc.evidence.periods.populations import POPULATION_KINDS
from moodle_soc.evidence.store.canonical import canonical_bytes, sha256_hex
from moodle_soc.evidence.store.runs import population_hashes, run_from_payload
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.frameworks import Framework
from moodle_soc.models.period import PeriodReport
from moodle_soc.models.records import (
    DEFAULT_MAX_RECORDING_DELAY_HOURS,
    RecordKind,
    SiteRef,
    StoredRecord,
)

Progress = Callable[[str, int, int], None]
PERIOD_JSON = "report/period-report.json"
PERIOD_HTML = "report/period-report.html"
PERIOD_PDF = "report/period-report.pdf"
MATRIX_CSV = "controls/control-matrix.csv"
FINDINGS_CSV = "findings/findings.csv"


def population_file(digest: str) -> str:
    """Where a run's population (a check's findings, gzip'd JSON Lines) is in the package:
    named by its SHA-256, which the chained run names."""
    return f"runs/populations/{digest}.jsonl.gz"


FINDINGS_XLSX = "findings/findings.xlsx"
FIXED_STEPS = 4  # period report, PDF, tables, and writing + verifying the archive (2)


@dataclass
class Content:
    files: dict[str, bytes] = field(default_factory=dict)
    records: list[RecordEntry] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    summary: str = ""
    done: int = 0
    total: int = 0

    def step(self, progress: Progress | None, what: str) -> None:
        self.done += 1
        if progress is not None:
            progress(what, self.done, self.total)


def collect(
    store: EvidenceStore,
    site: SiteRef,
    included: list[StoredRecord],
    start: date,
    end: date,
    moment: datetime,
    progress: Progress | None,
    frameworks: Sequence[Framework] = (),
    *,
    max_recording_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS,
) -> Content:
    from moodle_soc.evidence.periods.frameworks import framework_periods
    from moodle_soc.evidence.periods.timeline import period_report
    from moodle_soc.evidence.store.verify import verify_store
    from moodle_soc.programme.scope import scope_in_force
    from moodle_soc.reports.pdf import html_to_pdf
    from moodle_soc.reports.period import render_period_html

    checked = verify_store(store, site.key)
    if not checked.ok:
        raise StoreError(
            f"The evidence store fails verification ({checked.problems[0].describe()});"
            " run 'moodle-soc evidence verify' and resolve it before exporting."
        )
    content = Content(total=len(included) + FIXED_STEPS + 1)
    report = period_report(
        store,
        site.key,
        start,
        end,
        generated_at=moment,
        max_recording_delay_hours=max_recording_delay_hours,
    )
    views = framework_periods(report, frameworks)
    html = render_period_html(report, views)
    content.step(progress, "Period report")
    pdf = html_to_pdf(html)
    content.step(progress, "Period report (PDF)")
    readiness_files = _readiness(store, site, end, moment)
    per_record: dict[str, dict[str, bytes]] = {"runs": {}, "records": {}, "attachments": {}}
    derived: dict[str, bytes] = {}
    findings: list[list[Cell]] = []
    attached: dict[int, str] = {}
    history = {(h.check_id, h.resource): h for h in report.findings}
    for record in included:
        payload_text = store.payload_text(record)
        content.kinds[record.kind] += 1
        entry = _entry(record)
        if record.kind == RecordKind.RUN and payload_text is not None:
            name = f"runs/run-{record.seq}.json"  # the stored bytes: they hash to the record
            entry = entry.model_copy(update={"file": name})
            per_record["runs"][name] = payload_text.encode()
            run_payload = json.loads(payload_text)
            blobs = store.get_blobs(population_hashes(run_payload))
            for digest, data in blobs.items():  # the findings: the run names each by its hash
                per_record["runs"][population_file(digest)] = data
            run = run_from_payload(run_payload, blobs.get, f"record {record.seq}")
            findings += finding_rows(record.seq, run, history)
        else:
            payload = None if payload_text is None else json.loads(payload_text)
            if record.kind == RecordKind.ATTACHMENT and isinstance(payload, dict):
                name, data = _attachment(store, record, payload)
                entry = entry.model_copy(update={"attachment": name})
                per_record["attachments"][name] = data
                attached[record.seq] = str(payload.get("control", ""))
            elif record.kind in POPULATION_KINDS and isinstance(payload, dict):
                derived |= population_files(record.seq, payload, derived, moment)
            elif record.kind == RecordKind.SAMPLE and payload is not None:
                derived[sample_file(record.seq)] = pretty_json(payload)
            document = record_document(record.header(), entry, payload)
            per_record["records"][f"records/{record.seq}.json"] = document
        content.records.append(entry)
        content.step(progress, f"Record {record.seq} ({record.kind})")
    table = findings_table(findings)
    matrix = control_matrix(report, attached, scope_in_force(store, site.key))
    content.summary = matrix_summary(matrix)
    content.files = {
        PERIOD_JSON: period_json(report),
        PERIOD_HTML: html.encode(),
        PERIOD_PDF: pdf,
        MATRIX_CSV: csv_bytes(matrix),
        FINDINGS_CSV: csv_bytes(table),
        FINDINGS_XLSX: xlsx_bytes([table], moment),
        **readiness_files,
    }
    for framework, view in zip(frameworks, views, strict=True):
        content.files[f"frameworks/{safe_name(framework.id)}.csv"] = csv_bytes(
            framework_table(view)
        )
        content.files[f"frameworks/{safe_name(framework.id)}.json"] = pretty_json(
            framework.model_dump(mode="json")
        )
    content.step(progress, "Control matrix and findings")
    content.files |= dict(sorted(derived.items()))
    for group in per_record.values():
        content.files |= group
    return content


def _readiness(
    store: EvidenceStore, site: SiteRef, end: date, moment: datetime
) -> dict[str, bytes]:
    """The readiness report (HTML, PDF) and the questionnaire answers at the period's end."""
    from moodle_soc.frameworks import load_catalogue
    from moodle_soc.programme.answers import answers_csv
    from moodle_soc.programme.report import period_readiness
    from moodle_soc.reports.pdf import html_to_pdf
    from moodle_soc.reports.readiness import render_readiness_html

    report, answers = period_readiness(store, site, end, moment, load_catalogue())
    html = render_readiness_html(report)
    return {
        "report/readiness-report.html": html.encode(),
        "report/readiness-report.pdf": html_to_pdf(html),
        "report/questionnaire-answers.csv": answers_csv(answers).encode(),
    }


def _entry(record: StoredRecord) -> RecordEntry:
    header = record.header()
    return RecordEntry(
        seq=record.seq,
        index=record.chain_index,
        kind=record.kind,
        collected_at=header["collected_at"],
        effective_date=header["effective_date"],
        record_hash=record.record_hash,
        content_sha256=record.content_sha256,
        prev_hash=record.prev_hash,
        signature=record.signature,
        key_id=record.key_id,
        file=f"records/{record.seq}.json",
        cleared_by=record.pruned_by,
    )


def _attachment(
    store: EvidenceStore, record: StoredRecord, payload: dict[str, Any]
) -> tuple[str, bytes]:
    digest = str(payload.get("sha256", ""))
    data = store.get_blob(digest)
    if data is None or sha256_hex(data) != digest:
        problem = "is missing" if data is None else "was altered"
        raise StoreError(f"The file of attachment record {record.seq} {problem} in the store.")
    return f"attachments/{record.seq}-{safe_name(str(payload.get('filename', '')))}", data


def period_json(report: PeriodReport) -> bytes:
    """The period report as data: what the HTML and PDF are rendered from, and the figures
    ``verify-package`` makes again from the runs."""
    return (report.model_dump_json(indent=2) + "\n").encode()


def sample_file(seq: int) -> str:
    return f"samples/sample-{seq}.json"


def population_files(
    seq: int, payload: dict[str, Any], taken: Mapping[str, bytes], moment: datetime
) -> dict[str, bytes]:
    """CSV, workbook, canonical JSON Lines (their SHA-256 is the population's) and the SQL
    of population record ``seq``; ``taken`` holds the files of the records before it."""
    name = safe_name(str(payload.get("name", "")), f"population-{seq}")
    if f"populations/{name}.csv" in taken:
        name = f"{name}-{seq}"
    columns = [str(c) for c in payload.get("columns") or []]
    rows = [r for r in payload.get("rows") or [] if isinstance(r, dict)]
    table = Table(name, tuple(columns), [[cell(row.get(c)) for c in columns] for row in rows])
    base = f"populations/{name}"
    return {
        f"{base}.csv": csv_bytes(table),
        f"{base}.jsonl": b"".join(canonical_bytes(row) + b"\n" for row in rows),
        f"{base}.sql.txt": _sql_text(payload),
        f"{base}.xlsx": xlsx_bytes([table], moment),
    }


def _sql_text(payload: dict[str, Any]) -> bytes:
    period = payload.get("period") or {}
    lines = [
        f"-- Population {payload.get('name')}: {payload.get('description', '')}",
        f"-- Period {period.get('start')} to {period.get('end')}; audit time"
        f" {payload.get('audit_time')}; {payload.get('row_count')} rows; SHA-256 of the rows"
        f" as canonical JSON Lines: {payload.get('sha256')}",
    ]
    lines += [f"-- Note: {note}" for note in payload.get("notes") or []]
    for query in payload.get("query_sql") or []:
        params = json.dumps(query.get("params", {}), sort_keys=True, default=str)
        lines += ["", f"-- {query.get('purpose', '')}", f"-- Parameters: {params}"]
        lines += [f"-- Rows: {query.get('rows')}; result SHA-256: {query.get('sha256')}"]
        lines += [f"{str(query.get('sql', '')).rstrip().rstrip(';')};"]
    return ("\n".join(lines) + "\n").encode()


def safe_name(text: str, fallback: str = "file") -> str:
    """The last component of ``text`` as a safe ASCII file name: letters, digits, '.', '_'
    and '-', never starting with a dot (so never '..')."""
    base = text.replace("\\", "/").rsplit("/", 1)[-1]
    stem, _dot, suffix = base.rpartition(".")
    if not stem.strip("."):
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:80]
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix)[:12]
    if not stem:
        return fallback
    return f"{stem}.{suffix}" if suffix else stem


def pretty_json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()
