"""A check's population: every finding row it produced, as gzip'd JSON Lines.

One finding per affected resource is what an auditor samples from, so a scan keeps them all,
but never as objects in memory: each check's rows are written, as the check yields them, into
one compressed population (a few bytes per row), and read back one row at a time. The stored
run names each population by the SHA-256 of its compressed bytes, so the hash chain covers it.

A row carries only what varies per resource (docs/json-format.md, "finding"); what is per check
lives once in the run's ``checks``.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from moodle_soc.results import Severity

#: Keys every row has, in this order; the optional ones follow only when they apply.
ROW_KEYS = ("check_id", "status", "resource", "reason", "observed")
#: Per-row overrides of the check's values, present only when they differ from them.
OVERRIDE_KEYS = ("severity", "remediation", "fix_command")
#: Examples a check keeps of each status (docs/json-format.md, "check"): the worst severity
#: first, then in the order the check produced them. Reports list these and count the rest.
EXAMPLES_PER_STATUS = 20
#: The order statuses are listed in, worst first (a check's verdict is the first it has).
STATUS_ORDER = ("fail", "error", "accepted", "manual", "pass", "not_applicable")


class PopulationRef(BaseModel):
    """Where a check's findings are: ``sha256`` of the compressed JSON Lines, as stored."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    sha256: str
    rows: int
    size: int  # compressed bytes


#: Rows compressed at once: a few hundred lines cost one call into zlib instead of hundreds.
_BATCH = 256
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class PopulationWriter:
    """Rows in, one compressed population out; only the compressed bytes stay in memory.

    The bytes depend only on the rows (no timestamp in the gzip header, the same rows written
    in the same batches), so the same rows always give the same SHA-256.
    """

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", mtime=0, compresslevel=6)
        self._pending: list[str] = []  # lines not yet compressed: at most _BATCH
        self.rows = 0

    def add(self, row: Mapping[str, Any]) -> None:
        self._pending.append(_encode(row))
        self.rows += 1
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._pending.append("")
            self._gzip.write("\n".join(self._pending).encode())
            self._pending = []

    def finish(self) -> tuple[bytes, PopulationRef]:
        self._flush()
        self._gzip.close()
        data = self._buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        return data, PopulationRef(sha256=digest, rows=self.rows, size=len(data))


class Examples:
    """The first of the worst rows of each status, kept as rows arrive: at most
    ``EXAMPLES_PER_STATUS`` per status, however many rows the check produces."""

    def __init__(self, severity: str, limit: int = EXAMPLES_PER_STATUS) -> None:
        self._severity = severity  # the check's: a row without its own has this one
        self._limit = limit
        self._kept: dict[str, list[tuple[int, int]]] = {}
        self._rows: dict[tuple[int, int], Mapping[str, Any]] = {}
        self._seen = 0

    def add(self, row: Mapping[str, Any]) -> None:
        self._seen += 1
        key = (-Severity(row.get("severity", self._severity)).rank, self._seen)
        kept = self._kept.setdefault(str(row["status"]), [])
        if len(kept) >= self._limit and key > kept[-1]:
            return  # the usual case on a big population: no worse than what is kept
        bisect.insort(kept, key)
        self._rows[key] = row
        if len(kept) > self._limit:
            del self._rows[kept.pop()]

    def rows(self) -> tuple[dict[str, Any], ...]:
        """The kept rows, status by status (worst status first), each status worst first."""
        return tuple(
            dict(self._rows[key]) for status in STATUS_ORDER for key in self._kept.get(status, ())
        )

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, Any]], severity: str) -> tuple[dict[str, Any], ...]:
        examples = cls(severity)
        for row in rows:
            examples.add(row)
        return examples.rows()


def iter_lines(data: bytes) -> Iterator[str]:
    """Each row's JSON text, without its newline, decompressed a block at a time."""
    with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as stream:
        for line in stream:
            yield line.decode().rstrip("\n")


def iter_rows(data: bytes) -> Iterator[dict[str, Any]]:
    for line in iter_lines(data):
        yield json.loads(line)


def default_fix_command(check: Mapping[str, Any], status: str) -> str | None:
    """The check's fix command applies to a failed finding only."""
    return check.get("fix_command") if status == "fail" else None


def slim_row(finding: Mapping[str, Any], check: Mapping[str, Any]) -> dict[str, Any]:
    """A finding (its JSON form, per-check fields included) as a row of ``check``'s population:
    the per-resource fields, plus severity, remediation and fix command where they differ from
    the check's, plus the risk exception when one applies."""
    if "title" not in finding:  # already a row
        return dict(finding)
    row = {key: finding[key] for key in ROW_KEYS}
    if finding["severity"] != check["severity"]:
        row["severity"] = finding["severity"]
    if finding["remediation"] != check.get("remediation", ""):
        row["remediation"] = finding["remediation"]
    fix = finding.get("fix_command")
    if fix != default_fix_command(check, finding["status"]):
        row["fix_command"] = fix
    if finding.get("exception") is not None:
        row["exception"] = finding["exception"]
    return row
