"""Audit-log reviews as evidence: a reviewer's sign-off stored as a ``log_review`` record, and
the signed-off reviews a period report lists (which days' logs were reviewed, by whom, when).

The record holds the review document as it was signed off, its SHA-256 (RFC 8785 canonical
JSON, the store's own hash) and its headline figures, so an auditor can match the report the
reviewer read to the record, and see the review's counts without opening it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from moodle_soc.evidence.store.canonical import content_hash
from moodle_soc.models.logs import LogReviewSignOff, figures
from moodle_soc.models.period import LogReviewSummary
from moodle_soc.models.records import RecordKind

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.logs import LogReview
    from moodle_soc.models.records import SiteRef, StoredRecord

__all__ = ["log_reviews_in_period", "review_sha256", "sign_off", "store_sign_off"]


def review_sha256(review: LogReview) -> str:
    """SHA-256 of the review document, as canonical JSON (what ``--format json`` holds)."""
    return content_hash(review.document())


def sign_off(
    review: LogReview, *, reviewer: str, statement: str, signed_at: datetime
) -> LogReviewSignOff:
    return LogReviewSignOff(
        site=review.site,
        wwwroot=review.wwwroot,
        period=review.period,
        audit_time=review.audit_time,
        reviewer=reviewer,
        statement=statement,
        signed_at=signed_at,
        review_sha256=review_sha256(review),
        figures=figures(review),
        review=review.document(),
    )


def store_sign_off(store: EvidenceStore, site: SiteRef, signed: LogReviewSignOff) -> StoredRecord:
    """Append the sign-off: collected when it was signed, effective for the reviewed last day."""
    return store.append(
        site,
        RecordKind.LOG_REVIEW,
        signed.payload(),
        collected_at=signed.signed_at,
        effective_date=signed.period.end,
    )


def log_reviews_in_period(
    store: EvidenceStore, site_key: str, start: date, end: date
) -> list[LogReviewSummary]:
    """Signed-off reviews of ``site_key`` whose reviewed days overlap ``start``..``end``."""
    found = []
    for record in store.records(site_key=site_key, kind=RecordKind.LOG_REVIEW):
        payload = store.payload(record)
        if payload is None:  # cleared by retention: the seal accounts for it
            continue
        signed = LogReviewSignOff.model_validate(payload)
        if signed.period.end < start or signed.period.start > end:
            continue
        found.append(LogReviewSummary.of(signed, record.seq, record.record_hash))
    return sorted(found, key=lambda r: (r.start, r.signed_at, r.record_seq))
