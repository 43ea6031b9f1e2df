"""Audit-log review workflows: a period of the standard log analysed in the database (one
grouped pass plus streamed detail rows), as the review an auditor expects."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moodle_soc.models.logs import LogReview
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
) -> LogReview:
    """The audit-log review of ``site`` for the UTC days ``start``..``end`` (both inclusive;
    default ``review_period``): authentication, privileged activity, the log's integrity and a
    daily series, with the provenance of every query. Read-only; thresholds from ``policy``."""
    from moodle_soc.api.evidence import _check_period
    from moodle_soc.logreview.build import build_log_review
    from moodle_soc.policy import Policy

    chosen = policy or Policy()
    if start is None or end is None:
        default_start, default_end = review_period(site, chosen)
        start, end = start or default_start, end or default_end
    _check_period(start, end)
    return build_log_review(site, start, end, chosen)
