"""Access-review campaigns in a period report: each review, its sign-off and follow-ups.

An auditor testing CC6.2/CC6.3 over a Type II period wants every review instance in the
window: who reviewed, when it was signed off, what was decided, and whether the revocations
were carried out. This reads the campaign records the ``review`` commands stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.period import AccessReviewSummary, FollowUpSummary


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def access_reviews_in_period(
    store: EvidenceStore, site_key: str, start: date, end: date
) -> list[AccessReviewSummary]:
    """Campaigns of ``site_key`` started or signed off within the UTC days start..end."""
    from moodle_soc.reviews.campaigns import load_campaigns

    summaries = []
    for campaign in load_campaigns(store, site_key):
        close = campaign.close
        moments = [campaign.start.started_at] + ([close.closed_at] if close else [])
        if not any(start <= _day(moment) <= end for moment in moments):
            continue
        latest = campaign.checks[-1] if campaign.checks else None
        verified = {s.key: s.status for s in latest.statuses} if latest else {}
        follow_ups = [
            FollowUpSummary(
                username=f.username,
                action=f.action,
                due=f.due,
                status=verified.get(f.key, "not verified"),
            )
            for f in (close.follow_ups if close else [])
        ]
        summaries.append(
            AccessReviewSummary(
                campaign_id=campaign.id,
                scope=campaign.start.scope,
                reviewer=campaign.start.reviewer,
                started_at=campaign.start.started_at,
                state=campaign.state,
                closed_at=close.closed_at if close else None,
                closed_by=close.closed_by if close else None,
                counts=campaign.counts(),
                follow_ups=follow_ups,
                last_checked_at=latest.checked_at if latest else None,
            )
        )
    return summaries
