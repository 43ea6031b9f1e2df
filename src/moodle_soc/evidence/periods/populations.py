"""Complete populations for a period: what an auditor tests for completeness and accuracy.

Each population comes with the exact SQL that produced it (text and parameters, from the site
layer's query provenance), its row count and a SHA-256 anyone can recompute: the rows as
canonical JSON Lines (RFC 8785 per row, each followed by a newline), as ``-o`` writes them.

Stable API (the export package calls these): ``POPULATIONS``, ``build_populations``,
``build_population``, ``store_population``, ``site_ref_for_site``, ``rows_sha256``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import BaseModel, ConfigDict

from moodle_soc.errors import BadInputError, UsageError
from moodle_soc.evidence.periods.population_rows import BUILDERS, COLUMNS, NEEDS_LOG
from moodle_soc.evidence.store.canonical import canonical_bytes
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord
from moodle_soc.site.populations import NO_STANDARD_LOG, NO_TOKENS, Window

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

#: The change population (``change_population.py``) has the same shape and is sampled alike.
POPULATION_KINDS = (RecordKind.POPULATION, RecordKind.CHANGE_POPULATION)
MAX_ROWS = 1_000_000
BURST_THRESHOLD = 5
Row = dict[str, Any]
Progress = Callable[[str, int], None]

POPULATIONS: dict[str, str] = {
    "users_created": "Accounts created in the period: user rows with timecreated in the period,"
    " joined by user id with \\core\\event\\user_created log events in the period; 'evidence'"
    " says whether the row, the event or both show it.",
    "users_deleted_or_suspended": "Accounts removed or disabled in the period:"
    " \\core\\event\\user_deleted events in the period, and users now deleted or suspended whose"
    " row was last modified in the period (Moodle logs no event for suspension itself, and"
    " user_updated fires for any profile edit, so it is not used).",
    "privileged_role_changes": "Privileged role grants and removals in the period:"
    " \\core\\event\\role_assigned and role_unassigned events at system or category level, or"
    " of a role whose definition allows a RISK_CONFIG or RISK_MANAGETRUST capability, plus"
    " additions to and removals from the siteadmins setting recorded in config_log.",
    "config_changes": "Every config_log row in the period (admin settings saves, auth/plugin"
    " enabling, site administrators): who, plugin, setting, old and new value; values of secret"
    " settings are masked.",
    "webservice_tokens": "Web-service tokens that existed at the end of the period (created"
    " before it ends and not since deleted), with 'created_in_period'; token values are never"
    " read.",
    "failed_login_bursts": "Failed-login bursts: \\core\\event\\user_login_failed events in the"
    " period grouped by username tried, IP address and UTC hour, kept when a group has at least"
    " {threshold} attempts.",
}


class PopulationTooLargeError(BadInputError):
    """A population beyond MAX_ROWS: storing it whole would not be sensible."""


class QuerySql(BaseModel):
    model_config = ConfigDict(frozen=True)

    purpose: str
    sql: str
    params: dict[str, Any]
    rows: int
    sha256: str


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: date
    end: date


class Population(BaseModel):
    """One complete population, its provenance and its hash."""

    model_config = ConfigDict(frozen=True)

    schema_version: str = "1.0"
    name: str
    description: str
    period: Period
    site: str
    audit_time: datetime
    query_sql: list[QuerySql]
    notes: list[str]
    row_count: int
    sha256: str
    columns: list[str]
    rows: list[Row]


def rows_sha256(rows: Iterable[Row]) -> str:
    """SHA-256 of ``rows`` as canonical JSON Lines (RFC 8785 per row, newline after each)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(canonical_bytes(row))
        digest.update(b"\n")
    return digest.hexdigest()


def store_population(store: EvidenceStore, site: SiteRef, population: Population) -> StoredRecord:
    """Append ``population`` (rows included): collected at its audit time, effective for the
    period's last day."""
    return store.append(
        site,
        RecordKind.POPULATION,
        population.model_dump(mode="json"),
        collected_at=population.audit_time,
        effective_date=population.period.end,
    )


def build_populations(
    site: MoodleSite,
    start: date,
    end: date,
    *,
    names: Iterable[str] | None = None,
    burst_threshold: int = BURST_THRESHOLD,
    progress: Progress | None = None,
) -> list[Population]:
    """Every population (or those in ``names``) for the UTC days ``start``..``end``."""
    chosen = list(POPULATIONS) if names is None else list(names)
    return [
        build_population(site, n, start, end, burst_threshold=burst_threshold, progress=progress)
        for n in chosen
    ]


def build_population(
    site: MoodleSite,
    name: str,
    start: date,
    end: date,
    *,
    burst_threshold: int = BURST_THRESHOLD,
    progress: Progress | None = None,
) -> Population:
    if name not in POPULATIONS:
        raise UsageError(f"Unknown population {name!r}; known: {', '.join(POPULATIONS)}.")
    if end < start:
        raise UsageError(f"The period ends ({end}) before it starts ({start}).")
    queries, window = site.populations, Window.for_days(start, end)
    identity = site.identity  # read before the mark: not part of this population's queries
    first_query, notes = site.query_count, []
    if name == "webservice_tokens" and not queries.has_tokens:
        rows, notes = [], [NO_TOKENS]
    else:
        if name in NEEDS_LOG and not queries.has_standard_log:
            notes.append(NO_STANDARD_LOG)
        counted = _Counter(name, progress)
        rows = BUILDERS[name](queries, window, counted, burst_threshold)
        counted.done(len(rows))
    return Population(
        name=name,
        description=POPULATIONS[name].replace("{threshold}", str(burst_threshold)),
        period=Period(start=start, end=end),
        site=identity.name,
        audit_time=site.audit_time,
        query_sql=[_query(record) for record in site.queries_since(first_query)],
        notes=notes,
        row_count=len(rows),
        sha256=rows_sha256(rows),
        columns=list(COLUMNS[name]),
        rows=rows,
    )


def _query(record: dict[str, Any]) -> QuerySql:
    return QuerySql(**{k: v for k, v in record.items() if k != "duration_ms"})


class _Counter:
    """Counts streamed rows for the progress bar and stops a source beyond MAX_ROWS rows."""

    def __init__(self, name: str, progress: Progress | None) -> None:
        self.name, self.progress, self.seen = name, progress, 0

    def __call__(self, rows: Iterable[Any]) -> Iterator[Any]:
        for number, row in enumerate(rows, 1):
            self.seen += 1
            if number > MAX_ROWS and self.name != "failed_login_bursts":
                self.too_large()
            if self.progress is not None and self.seen % 1000 == 0:
                self.progress(self.name, self.seen)
            yield row

    def done(self, rows: int) -> None:
        if rows > MAX_ROWS:
            self.too_large()
        if self.progress is not None:
            self.progress(self.name, self.seen)

    def too_large(self) -> NoReturn:
        raise PopulationTooLargeError(
            f"Population {self.name} has more than {MAX_ROWS:,} rows, too many to keep whole;"
            " narrow the period (--from/--to) and build it in parts."
        )
