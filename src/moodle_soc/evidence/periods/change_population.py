"""The change population as evidence: the same shape as the other populations (rows, the exact
SQL that produced them, row count and SHA-256 of the rows as canonical JSON Lines), stored as a
``change_population`` record so samples and export packages treat it like them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from moodle_soc.evidence.periods.populations import (
    Period,
    Population,
    QuerySql,
    rows_sha256,
)
from moodle_soc.models.changes import CHANGE_COLUMNS
from moodle_soc.models.records import RecordKind

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.changes import ChangeSet
    from moodle_soc.models.records import SiteRef, StoredRecord
    from moodle_soc.site.db import QueryRecord

__all__ = ["change_population", "store_change_population"]
NAME = "changes"
DESCRIPTION = (
    "Every change to the site in the period: settings saved (config_log, old and new values,"
    " secrets masked), core and plugin installs and upgrades (upgrade_log), role definition"
    " changes (standard log events and role_capabilities rows), and differences between stored"
    " scans that Moodle keeps no record of (config.php, removed plugins); each with who made it"
    " when Moodle knows, and its approval status when an approvals file was given."
)


def change_population(changes: ChangeSet, queries: list[QueryRecord]) -> Population:
    """``changes`` as a population; ``queries`` are the site queries that produced them."""
    rows = [change.model_dump(mode="json") for change in changes.changes]
    notes = list(changes.notes)
    if changes.approvals_source is not None:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(changes.counts().items()))
        notes.append(
            f"Matched to the approvals file {changes.approvals_source} (SHA-256"
            f" {changes.approvals_sha256}); {counts or 'no change'}."
        )
    else:
        notes.append("No approvals file was given: approval is null on every row.")
    return Population(
        name=NAME,
        description=DESCRIPTION,
        period=Period(start=changes.start, end=changes.end),
        site=changes.site,
        audit_time=changes.audit_time,
        query_sql=[
            QuerySql(**{k: v for k, v in q.as_dict().items() if k != "duration_ms"})
            for q in queries
        ],
        notes=notes,
        row_count=len(rows),
        sha256=rows_sha256(rows),
        columns=list(CHANGE_COLUMNS),
        rows=rows,
    )


def store_change_population(
    store: EvidenceStore, site: SiteRef, population: Population
) -> StoredRecord:
    """Append the change population: collected at its audit time, effective for the period's
    last day (like the other populations)."""
    end: date = population.period.end
    return store.append(
        site,
        RecordKind.CHANGE_POPULATION,
        population.model_dump(mode="json"),
        collected_at=population.audit_time,
        effective_date=end,
    )
