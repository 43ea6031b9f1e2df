"""The readable findings table, bound to the hash chain by regenerating it from the runs.

``findings/findings.csv`` is what an auditor opens, but its hash sits only in the manifest,
which a forger without a signing key can recompute. Every run it is made from is in the
package and hashes to its chained record, so ``verify-package`` rebuilds the table from those
runs and compares it cell by cell: an edited status, reason or resource is named by its row.
The finding history columns (first seen, resolved) come from the period report and are not
compared.
"""

from __future__ import annotations

import csv
import io

from pydantic import ValidationError

from moodle_soc.evidence.package.chain import Tampered
from moodle_soc.evidence.package.manifest import Manifest
from moodle_soc.evidence.package.tables import (
    FINDING_COLUMNS,
    Cell,
    csv_bytes,
    finding_rows,
    findings_table,
)
from moodle_soc.models.records import RecordKind
from moodle_soc.models.run import AuditRun

FINDINGS = "findings/findings.csv"
COMPARED = FINDING_COLUMNS.index("criteria") + 1  # run_seq .. criteria; not the history


def check_findings(manifest: Manifest, files: dict[str, bytes]) -> None:
    """Raise ``Tampered`` naming the first row of the findings CSV that the chained runs do
    not produce (the runs themselves were already matched to their records)."""
    data = files.get(FINDINGS)
    if data is None:
        return
    rows: list[list[Cell]] = []
    for entry in manifest.records:
        if entry.kind != RecordKind.RUN or entry.cleared_by is not None or entry.file is None:
            continue
        try:
            run = AuditRun.model_validate_json(files[entry.file])
        except (KeyError, ValidationError):
            raise Tampered(entry.file, f"record {entry.seq}'s run cannot be read") from None
        rows += finding_rows(entry.seq, run, {})
    expected = _rows(csv_bytes(findings_table(rows)))
    try:
        actual = _rows(data)
    except (UnicodeDecodeError, csv.Error):
        raise Tampered(FINDINGS, "is not a UTF-8 CSV file") from None
    for number, (got, want) in enumerate(zip(actual, expected, strict=False), start=1):
        if got[:COMPARED] != want[:COMPARED]:
            if number == 1:
                raise Tampered(FINDINGS, "its header row differs from the findings table's")
            column = next(
                (name for name, g, w in zip(FINDING_COLUMNS, got, want, strict=False) if g != w),
                FINDING_COLUMNS[0],
            )
            raise Tampered(
                FINDINGS,
                f"row {number} ({column}) differs from the findings of the chained runs"
                f" (runs/run-{want[0]}.json): the table was edited after export",
            )
    if len(actual) != len(expected):
        raise Tampered(
            FINDINGS,
            f"has {len(actual) - 1} findings; the chained runs hold {len(expected) - 1}",
        )


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
