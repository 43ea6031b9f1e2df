"""Findings across runs: when each failing (check, resource) was first seen and resolved.

A finding is resolved by the first later run that ran its check (the check's verdict there is
known: it did not error or lack evidence) and did not fail that resource; a finding that fails
again after that counts a recurrence and is open until resolved again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from moodle_soc.models.period import FindingHistory


class RunLike(Protocol):
    """A run as the history needs it (``periods.RunView`` is one)."""

    @property
    def seq(self) -> int: ...
    @property
    def audit_time(self) -> datetime: ...
    @property
    def verdicts(self) -> Mapping[str, str]: ...
    @property
    def failing(self) -> Mapping[tuple[str, str], tuple[str, str]]: ...


@dataclass
class _Track:
    first: RunLike
    last: RunLike
    severity: str
    reason: str
    runs: int = 0
    recurrences: int = 0
    resolved: RunLike | None = None


def finding_histories(runs: Iterable[RunLike]) -> list[FindingHistory]:
    """The history of every (check, resource) that failed in ``runs`` (in audit-time order)."""
    tracks: dict[tuple[str, str], _Track] = {}
    for run in runs:
        for key, (severity, reason) in run.failing.items():
            track = tracks.get(key)
            if track is None:
                track = tracks[key] = _Track(run, run, severity, reason)
            elif track.resolved is not None:
                track.recurrences += 1
            track.last, track.severity, track.reason, track.resolved = run, severity, reason, None
            track.runs += 1
        for key, track in tracks.items():
            ran = run.verdicts.get(key[0], "unknown") != "unknown"
            if track.resolved is None and ran and key not in run.failing:
                track.resolved = run
    return [
        FindingHistory(
            check_id=check_id,
            resource=resource,
            severity=t.severity,
            reason=t.reason,
            first_seen=t.first.audit_time,
            first_seen_run=t.first.seq,
            last_failed=t.last.audit_time,
            last_failed_run=t.last.seq,
            resolved_at=t.resolved.audit_time if t.resolved else None,
            resolved_run=t.resolved.seq if t.resolved else None,
            failing_runs=t.runs,
            recurrences=t.recurrences,
        )
        for (check_id, resource), t in sorted(tracks.items())
    ]
