"""An audit-log review of one period: the security events an auditor expects reviewed.

Authentication (logins, failures by Moodle's reason code, bursts, password spraying, lockouts,
new sources of privileged logins), privileged activity (configuration, roles, accounts,
passwords, "log in as", web-service tokens), the integrity of the log itself (silent days,
deleted ids, the store switched off, retention) and a daily series of each count.
docs/logs.md documents every field; the JSON is this model's ``model_dump(mode="json",
by_alias=True)``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Moodle's reason codes of a failed login (``AUTH_LOGIN_*``).
FAILURE_REASONS = {
    1: "no such user",
    2: "suspended",
    3: "wrong password",
    4: "locked out",
    5: "not authorised",
    6: "reCAPTCHA failed",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, populate_by_name=True)


class Period(_Frozen):
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class FailedLogins(_Frozen):
    total: int
    by_reason: dict[str, int]  # reason code (as text, "unknown" when absent) -> count


class Burst(_Frozen):
    """At least the policy's number of failed logins for one account or from one IP within
    its window."""

    by: Literal["account", "ip"]
    key: str
    failures: int
    first: datetime
    last: datetime


class Spraying(_Frozen):
    """One IP trying many distinct usernames within the policy's window."""

    ip: str
    usernames: int
    failures: int
    first: datetime
    last: datetime
    sample: list[str]  # the first usernames tried, in order (at most ten)


class AccountAttempts(_Frozen):
    """Failed logins of one account for one reason (locked out, suspended)."""

    username: str
    userid: int
    attempts: int
    first: datetime
    last: datetime


class InactiveLogin(_Frozen):
    userid: int
    username: str
    state: Literal["deleted", "suspended"]
    logins: int
    last: datetime


class NewSource(_Frozen):
    """A privileged account's first login from an IP never seen for it before."""

    userid: int
    username: str
    ip: str
    first: datetime
    logins: int


class Authentication(_Frozen):
    successful_logins: int
    failed_logins: FailedLogins
    bursts: list[Burst]
    spraying: list[Spraying]
    lockouts: list[AccountAttempts]
    suspended_attempts: list[AccountAttempts]
    inactive_account_logins: list[InactiveLogin]
    new_admin_sources: list[NewSource]


class AdminAction(_Frozen):
    """One administrative event: who (and as whom), to whom, what, when."""

    id: str  # "<source table>:<id>"
    at: datetime
    what: str
    by_id: int
    by_username: str | None
    real_by_id: int | None = None  # "log in as": the administrator really acting
    target_id: int | None = None
    target_username: str | None = None
    detail: str = ""
    ip: str = ""


class Category(_Frozen):
    total: int
    items: list[AdminAction]


class Privileged(_Frozen):
    config_changes: Category
    role_changes: Category
    role_assignments: Category  # items: assignments and removals at system level
    users_created: Category
    users_deleted: Category
    passwords_changed_by_others: Category
    loginas_sessions: Category
    acting_as_rows: int  # rows written while logged in as someone else
    tokens_created: Category
    ws_login_failures: int


class IdGapRange(_Frozen):
    after: int
    before: int
    missing: int


class IdGaps(_Frozen):
    first_id: int | None
    last_id: int | None
    missing: int
    ranges: list[IdGapRange]
    truncated: bool


class StoreOff(_Frozen):
    """A time the standard log store was not among the enabled stores."""

    start: datetime | None = Field(alias="from")  # None: before the period (or unknown)
    end: datetime | None = Field(alias="to")  # None: still off at the period's end
    by_id: int | None


class Integrity(_Frozen):
    days_without_events: list[date]
    id_gaps: IdGaps
    store_disabled: list[StoreOff]
    store_enabled_now: bool
    retention_days: int  # logstore_standard/loglifetime; 0 keeps logs for ever
    retention_shorter_than_period: bool
    oldest_row: datetime | None
    covers_period_start: bool
    malformed_other: int  # ``other`` values the decoder could not read (the rows still count)


class Day(_Frozen):
    day: date
    events: int
    counts: dict[str, int]


class LogReview(_Frozen):
    site: str
    wwwroot: str | None
    audit_time: datetime
    period: Period
    thresholds: dict[str, int]
    authentication: Authentication
    privileged: Privileged
    integrity: Integrity
    daily: list[Day]
    events: dict[str, int]  # rows per event name in the period
    notes: list[str]
    queries: list[dict[str, Any]]

    def document(self) -> dict[str, Any]:
        """The JSON document (``from``/``to`` spelled as in docs/logs.md)."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True)
        return data


class LogReviewSignOff(_Frozen):
    """A reviewer's sign-off of one period's log review: the ``log_review`` record's payload.

    ``review_sha256`` is the SHA-256 of the review document (RFC 8785 canonical JSON), so the
    report the reviewer read can be matched to the record; ``figures`` are its headline counts.
    """

    site: str
    wwwroot: str | None
    period: Period
    audit_time: datetime
    reviewer: str
    statement: str
    signed_at: datetime
    review_sha256: str
    figures: dict[str, int]
    review: dict[str, Any]  # the review document as signed off (docs/logs.md)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True)
        return data


def figures(review: LogReview) -> dict[str, int]:
    """The headline counts of a review, as a sign-off records them."""
    auth, priv, integrity = review.authentication, review.privileged, review.integrity
    return {
        "successful_logins": auth.successful_logins,
        "failed_logins": auth.failed_logins.total,
        "bursts": len(auth.bursts),
        "spraying": len(auth.spraying),
        "lockouts": len(auth.lockouts),
        "new_admin_sources": len(auth.new_admin_sources),
        "config_changes": priv.config_changes.total,
        "role_changes": priv.role_changes.total,
        "role_assignments": priv.role_assignments.total,
        "loginas_sessions": priv.loginas_sessions.total,
        "tokens_created": priv.tokens_created.total,
        "days_without_events": len(integrity.days_without_events),
        "missing_ids": integrity.id_gaps.missing,
        "store_disabled": len(integrity.store_disabled),
    }
