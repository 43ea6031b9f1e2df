"""Audit-log review workflows: a period of the standard log analysed in the database (one
grouped pass plus streamed detail rows), as the review an auditor expects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.logs import LogReview, LogReviewSignOff
    from moodle_soc.models.records import StoredRecord
    from moodle_soc.policy import Policy
    from moodle_soc.site.moodle import MoodleSite


def review_period(site: MoodleSite, policy: Policy | None = None) -> tuple[date, date]:
    """The default period: the policy's ``log_review_days`` up to the audit day (inclusive)."""
    from moodle_soc.policy import Policy

    days = (policy or Policy()).log_review_days
    end = site.audit_time.date()
    return end - timedelta(days=days - 1), end


def log_review(
    site: MoodleSite,
    start: date | None = None,
    end: date | None = None,
    *,
    policy: Policy | None = None,
    cursor: Path | None = None,
) -> LogReview:
    """The audit-log review of ``site`` for the UTC days ``start``..``end`` (both inclusive;
    default ``review_period``): authentication, privileged activity, the log's integrity and a
    daily series, with the provenance of every query. Read-only; thresholds from ``policy``.
    With ``cursor`` (a local JSON file, written back; ``incremental_log_review`` keeps it in
    the evidence store instead), a re-run of the same site and period reads only the log rows
    after the last id already reviewed and gives the same review."""
    from moodle_soc.logreview.build import build_log_review
    from moodle_soc.logreview.cursor import load_cursor, save_cursor
    from moodle_soc.policy import Policy

    chosen = policy or Policy()
    start, end = _period(site, start, end, chosen)
    if cursor is None:
        return build_log_review(site, start, end, chosen)
    kept = load_cursor(cursor, site.identity.wwwroot, start, end)
    review = build_log_review(site, start, end, chosen, cursor=kept)
    kept.record_covered(review.integrity.id_gaps)
    save_cursor(cursor, kept)
    return review


def _period(
    site: MoodleSite, start: date | None, end: date | None, policy: Policy
) -> tuple[date, date]:
    from moodle_soc.api.evidence import _check_period

    if start is None or end is None:
        default_start, default_end = review_period(site, policy)
        start, end = start or default_start, end or default_end
    _check_period(start, end)
    return start, end


@dataclass
class IncrementalReview:
    """A review made from the cursor kept in the evidence store, and the cursor kept after it."""

    review: LogReview
    notes: list[str]  # how the log was read: resumed from which id, or why in full
    record: StoredRecord  # the ``log_cursor`` record this run appended
    rows_read: int  # log rows the grouped pass read (all of the period's on a full run)
    resumed_from: int | None  # the kept cursor's last id (None: the whole period was read)


def incremental_log_review(
    site: MoodleSite,
    start: date | None = None,
    end: date | None = None,
    *,
    store: EvidenceStore,
    policy: Policy | None = None,
    full: bool = False,
    verify: bool = True,
) -> IncrementalReview:
    """``log_review`` starting from the newest ``log_cursor`` record the store keeps for this
    site and period: only the log rows after its last id are grouped, and the review is the
    same as a full run's. A cursor for another period or wwwroot is not used (noted); with
    ``full``, none is. Rows deleted at or below the kept cursor since it was stored (one count
    of the ids it covered) make a full run, noted; without ``verify`` that count is skipped (and
    such rows would still be counted). The run's cursor is appended as a new record."""
    from moodle_soc.evidence.periods.log_cursors import latest_cursor, store_cursor
    from moodle_soc.evidence.store.runs import site_ref_for_site
    from moodle_soc.logreview.build import build_log_review
    from moodle_soc.logreview.cursor import LogCursor
    from moodle_soc.policy import Policy

    chosen = policy or Policy()
    start, end = _period(site, start, end, chosen)
    ref, wwwroot = site_ref_for_site(site), site.identity.wwwroot
    if full:
        kept, notes = LogCursor(wwwroot, start, end), ["--full: the kept cursor was not used."]
    else:
        found = latest_cursor(store, ref, wwwroot, start, end)
        kept, notes = found.cursor, found.notes
        kept.verify = verify
    review = build_log_review(site, start, end, chosen, cursor=kept)
    kept.record_covered(review.integrity.id_gaps)
    record = store_cursor(store, ref, kept)
    return IncrementalReview(review, notes + kept.notes, record, kept.rows_read, kept.resumed_from)


@dataclass
class SignedLogReview:
    """A review signed off and stored: what was reviewed, and the record holding it."""

    review: LogReview
    signed: LogReviewSignOff
    record: StoredRecord


def sign_off_log_review(
    site: MoodleSite,
    start: date | None = None,
    end: date | None = None,
    *,
    reviewer: str,
    statement: str,
    store: EvidenceStore,
    policy: Policy | None = None,
    signed_at: datetime | None = None,
) -> SignedLogReview:
    """Review ``site``'s log for the period (as ``log_review``) and store the reviewer's
    sign-off as a ``log_review`` record: the review, its SHA-256 and its figures. The period
    report then lists these days as reviewed, by ``reviewer``, at ``signed_at`` (default now)."""
    from moodle_soc.errors import UsageError
    from moodle_soc.evidence.periods.log_reviews import sign_off, store_sign_off
    from moodle_soc.evidence.store.runs import site_ref_for_site

    reviewer, statement = " ".join(reviewer.split()), " ".join(statement.split())
    if not reviewer:
        raise UsageError("A log review sign-off needs the reviewer's name (--reviewer).")
    if not statement:
        raise UsageError("A log review sign-off needs a statement (--sign-off).")
    review = log_review(site, start, end, policy=policy)
    moment = signed_at or datetime.now(UTC)
    signed = sign_off(review, reviewer=reviewer, statement=statement, signed_at=moment)
    record = store_sign_off(store, site_ref_for_site(site), signed)
    return SignedLogReview(review, signed, record)
