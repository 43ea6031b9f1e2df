"""Evidence records as stored: their kinds, which site a chain belongs to, a record's header.

The header is what ``record_hash`` covers (RFC 8785 canonical JSON); times are UTC ISO 8601
with microseconds and a ``Z``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64


RECORD_VERSION = 1

#: The default of the policy's ``max_recording_delay_hours``.
DEFAULT_MAX_RECORDING_DELAY_HOURS = 6
#: How far a record's audit time may lie after its recording time (clock skew between the
#: scanning machine and the store's); anything later is refused as future-dated.
CLOCK_SKEW = timedelta(minutes=5)


class RecordKind(StrEnum):
    """What a record holds. The values are the strings stored in (and hashed with) every
    header, so they never change; a new kind is a new member plus its handler in
    ``evidence/store/kinds.py``."""

    RUN = "run"
    ATTACHMENT = "attachment"
    POPULATION = "population"
    SAMPLE = "sample"
    RETENTION_SEAL = "retention_seal"
    REVIEW_CAMPAIGN = "review_campaign"
    REVIEW_DECISIONS = "review_decisions"
    REVIEW_CLOSE = "review_close"
    REVIEW_FOLLOWUP_CHECK = "review_followup_check"
    CHANGE_POPULATION = "change_population"
    LOG_REVIEW = "log_review"
    READINESS_SCOPE = "readiness_scope"
    RISK_EXCEPTION = "risk_exception"
    EXCEPTION_REVOCATION = "exception_revocation"
    CONTROL_OWNER = "control_owner"
    REMEDIATION_ASSIGNMENT = "remediation_assignment"
    LOG_CURSOR = "log_cursor"

    @classmethod
    def known(cls, text: object) -> RecordKind | None:
        """The kind ``text`` names, or None (a kind from a newer version, or a damaged row)."""
        if not isinstance(text, str):
            return None
        try:
            return cls(text)
        except ValueError:
            return None


@dataclass(frozen=True)
class SiteRef:
    """Which site a chain belongs to. ``key`` is stable: Moodle's own siteidentifier."""

    key: str
    name: str
    wwwroot: str | None = None


@dataclass(frozen=True)
class StoredRecord:
    """A record's header as stored. ``kind`` stays the stored text (a ``RecordKind`` value, or
    a kind this version does not know), so reading never fails on a newer store's records."""

    seq: int
    site_key: str
    chain_index: int
    kind: str
    created_at: datetime
    collected_at: datetime
    effective_date: date | None
    content_sha256: str
    prev_hash: str
    record_hash: str
    signature: str | None
    key_id: str | None
    pruned_by: str | None

    @property
    def short(self) -> str:
        return self.record_hash[:12]

    @property
    def recorded_at(self) -> datetime:
        """When the store recorded it (the machine clock; the chain's order)."""
        return self.created_at

    def reconstructed(self, max_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS) -> bool:
        """Recorded more than ``max_delay_hours`` after the audit time it judges."""
        return is_reconstructed(self.collected_at, self.created_at, max_delay_hours)

    def header(self) -> dict[str, Any]:
        """What ``record_hash`` covers (RFC 8785 canonical JSON of this mapping)."""
        return record_header(
            self.site_key,
            self.chain_index,
            self.kind,
            self.created_at,
            self.collected_at,
            self.effective_date,
            self.content_sha256,
            self.prev_hash,
        )


def is_reconstructed(
    audit_time: datetime,
    recorded_at: datetime,
    max_delay_hours: int = DEFAULT_MAX_RECORDING_DELAY_HOURS,
) -> bool:
    """Whether evidence about ``audit_time`` recorded at ``recorded_at`` came too late to be
    contemporaneous (a backdated scan, a reconstruction): it never counts as monitoring."""
    return recorded_at - audit_time > timedelta(hours=max_delay_hours)


def record_header(
    site_key: str,
    chain_index: int,
    kind: str,
    created_at: datetime,
    collected_at: datetime,
    effective_date: date | None,
    content_sha256: str,
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "v": RECORD_VERSION,
        "site": site_key,
        "index": chain_index,
        "kind": kind,
        "created_at": utc_iso(created_at),
        "collected_at": utc_iso(collected_at),
        "effective_date": effective_date.isoformat() if effective_date else None,
        "content": content_sha256,
        "prev": prev_hash,
    }


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_utc_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
