"""A Type II period as data: per-control day timelines, finding histories and the access
reviews of the period (``evidence.periods`` builds it; ``reports`` renders it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from moodle_soc.models.logs import LogReviewSignOff

SCHEMA_VERSION = "1.1"


class FindingHistory(BaseModel):
    """One (check, resource) that failed: when first seen, last failed and resolved."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    check_id: str
    resource: str
    severity: str
    reason: str  # the last failing run's sentence
    first_seen: datetime
    first_seen_run: int
    last_failed: datetime
    last_failed_run: int
    resolved_at: datetime | None  # the first later run where the check ran and this passed
    resolved_run: int | None
    failing_runs: int
    recurrences: int  # times it failed again after passing


class FollowUpSummary(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    username: str
    action: str
    due: date
    status: str  # done, pending, overdue, or "not verified" when no check was recorded


class AccessReviewSummary(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    campaign_id: str
    scope: str
    reviewer: str
    started_at: datetime
    state: str
    closed_at: datetime | None
    closed_by: str | None
    counts: dict[str, int]
    follow_ups: list[FollowUpSummary]
    last_checked_at: datetime | None


class _Model(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)


class LogReviewSummary(BaseModel):
    """A signed-off audit-log review whose reviewed days overlap the report's period."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    record_seq: int
    record_hash: str
    start: date  # the reviewed days
    end: date
    reviewer: str
    signed_at: datetime
    statement: str
    review_sha256: str
    figures: dict[str, int]

    @classmethod
    def of(cls, signed: LogReviewSignOff, record_seq: int, record_hash: str) -> LogReviewSummary:
        """The summary of the sign-off ``signed``, kept as record ``record_seq``."""
        return cls(
            record_seq=record_seq,
            record_hash=record_hash,
            start=signed.period.start,
            end=signed.period.end,
            reviewer=signed.reviewer,
            signed_at=signed.signed_at,
            statement=signed.statement,
            review_sha256=signed.review_sha256,
            figures=signed.figures,
        )


class DateRange(_Model):
    start: date
    end: date
    days: int


class DayCell(_Model):
    day: date
    status: DayStatus  # from contemporaneous runs only
    runs: int
    reconstructed_runs: int = 0  # runs recorded late for this day: shown, never counted


class ControlPeriod(_Model):
    """One control over the period: its day counts, failures, fix and timeline."""

    check_id: str
    title: str
    area: str
    severity: str
    days_pass: int
    days_fail: int
    days_unknown: int
    first_failure: date | None
    last_failure: date | None
    fixed_on: date | None  # the first passing day after the last failure
    still_failing: bool  # failed, and no passing day since the last failure
    exception: bool
    exception_days: list[date]
    exception_ranges: list[DateRange]
    operated_throughout: bool
    timeline: list[DayCell]


class RunRef(_Model):
    seq: int
    record_hash: str
    audit_time: datetime
    day: date
    failed_checks: int
    recorded_at: datetime | None = None  # when the store recorded it (None: not known)
    reconstructed: bool = False  # recorded more than the tolerance after its audit time
    score: float | None = None  # the run's overall readiness score (percent), when it had one
    unreadable_tables: list[str] = []  # the run was incomplete: tables it could not read


class PeriodReport(_Model):
    schema_version: str = SCHEMA_VERSION
    site_key: str
    site_name: str
    wwwroot: str | None
    start: date
    end: date
    generated_at: datetime
    days: int
    days_scanned: int  # days monitored live: with at least one contemporaneous run
    monitoring_gaps: list[DateRange]  # days with no contemporaneous run
    runs: list[RunRef]  # the contemporaneous runs the timelines count
    unreadable_runs: list[RunRef]  # payload cleared by retention: their days count as gaps
    controls: list[ControlPeriod]  # exceptions first
    exceptions: list[str]
    findings: list[FindingHistory]
    access_reviews: list[AccessReviewSummary] = []  # review campaigns started or closed in it
    log_reviews: list[LogReviewSummary] = []  # signed-off log reviews of days in it
    logs_unreviewed: list[DateRange] = []  # days of it no signed-off log review covers
    max_recording_delay_hours: int = 6  # the policy's tolerance that tells live from late
    reconstructed_runs: list[RunRef] = []  # recorded late: listed, never counted as monitoring
    reconstructed_days: list[date] = []  # days covered only by reconstructed runs


DayStatus = Literal["pass", "fail", "unknown"]
