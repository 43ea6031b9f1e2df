"""User access reviews: a privileged-access review signed off within the policy interval, and
the revocations it decided carried out on the site.

Campaigns live in the evidence store, which the scan attaches to the site
(``access.campaigns.attach_store``); without one the checks cannot decide and say so (manual).
Only records that existed at the audit time count, so a scan replayed with ``--as-of`` sees the
reviews as they stood then.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from moodle_soc.checks.registry import check
from moodle_soc.evidence.periods.populations import site_ref_for_site
from moodle_soc.inventory.build import build_inventory
from moodle_soc.inventory.follow_ups import closed_by, verify_follow_ups
from moodle_soc.results import Result, Severity
from moodle_soc.reviews.campaigns import load_campaigns, store_for

if TYPE_CHECKING:
    from moodle_soc.models.reviews import Campaign
    from moodle_soc.policy import Policy
    from moodle_soc.site.moodle import MoodleSite

HOW_TO = (
    "run one with 'moodle-soc review start --scope privileged --reviewer EMAIL', then export,"
    " import the decisions and 'review close'"
)
NO_STORE = (
    "No evidence store is attached to this scan, so access review campaigns cannot be read;"
    " scan with an evidence store (without --no-store) or provide the review evidence manually."
)


def _campaigns(site: MoodleSite) -> list[Campaign] | None:
    store = store_for(site)
    if store is None:
        return None
    return closed_by(load_campaigns(store, site_ref_for_site(site).key), site.audit_time)


@check(
    "reviews.privileged_review_current",
    severity=Severity.HIGH,
    title="Privileged access was reviewed within the policy interval",
    remediation="Run a privileged access review campaign: moodle-soc review start --scope"
    " privileged, export, import the decisions and close it (docs/review-campaigns.md).",
)
def privileged_review_current(site: MoodleSite, policy: Policy) -> Iterator[Result]:
    """Without a periodic, signed-off review, leavers' and creeping privileges go unnoticed."""
    interval = policy.access_review_interval_days
    closed = _campaigns(site)
    if closed is None:
        yield Result.manual(NO_STORE)
        return
    # A review of every account covers the privileged ones too.
    privileged = [c for c in closed if c.start.scope in ("privileged", "all")]
    if not privileged:
        yield Result.failed(
            f"No privileged access review of {site.identity.name} was signed off by"
            f" {site.audit_time:%Y-%m-%d}; {HOW_TO}.",
            observed={"interval_days": interval, "campaigns": 0},
        )
        return
    latest = privileged[0]
    assert latest.close is not None
    age = (site.audit_time - latest.close.closed_at) / timedelta(days=1)
    counts = latest.close.counts
    yield Result.pass_if(
        age <= interval,
        f"The latest privileged access review, campaign {latest.id} by {latest.start.reviewer},"
        f" was signed off by {latest.close.closed_by} on {latest.close.closed_at:%Y-%m-%d},"
        f" {int(age)} day(s) before the audit time; the policy requires one every"
        f" {interval} days.",
        resource=f"review_campaign:{latest.id}",
        observed={
            "campaign": latest.id,
            "closed_at": latest.close.closed_at.isoformat(),
            "age_days": round(age, 1),
            "interval_days": interval,
            "entries": counts.get("entries", 0),
            "revoke": counts.get("revoke", 0),
            "modify": counts.get("modify", 0),
        },
    )


@check(
    "reviews.revocations_carried_out",
    severity=Severity.HIGH,
    title="Access removals decided in the latest review were carried out",
    remediation="Remove the grants each overdue follow-up names, or suspend the account, then"
    " check with 'moodle-soc review status CAMPAIGN --config ...'.",
)
def revocations_carried_out(site: MoodleSite, policy: Policy) -> Iterator[Result]:
    """A review whose revocations are never carried out leaves the access it found excessive.

    The latest signed-off campaign of each scope counts; a follow-up is done when the account is
    gone or suspended or no longer holds the grants to remove, and fails once past its due date.
    """
    closed = _campaigns(site)
    if closed is None:
        yield Result.manual(NO_STORE)
        return
    latest = {c.start.scope: c for c in reversed(closed)}
    if not latest:
        yield Result.not_applicable(
            f"No access review of {site.identity.name} was signed off by"
            f" {site.audit_time:%Y-%m-%d}, so no revocation is due; {HOW_TO}."
        )
        return
    for scope, campaign in sorted(latest.items()):
        assert campaign.close is not None
        follow_ups = campaign.close.follow_ups
        if not follow_ups:
            yield Result.passed(
                f"Campaign {campaign.id} ({scope} accounts, signed off"
                f" {campaign.close.closed_at:%Y-%m-%d}) decided no revocation or change.",
                resource=f"review_campaign:{campaign.id}",
                observed={"campaign": campaign.id, "follow_ups": 0},
            )
            continue
        current = build_inventory(site, policy, scope=campaign.start.scope)
        for status in verify_follow_ups(campaign, current, site.audit_time):
            yield Result.pass_if(
                status.status != "overdue",
                f"Campaign {campaign.id} follow-up ({status.status}): {status.reason}",
                resource=f"user:{status.userid}",
                observed={"campaign": campaign.id} | status.model_dump(mode="json"),
            )
