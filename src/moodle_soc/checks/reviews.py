"""User access reviews: a privileged-access review signed off within the policy interval, and
the revocations it decided carried out on the site.

Campaigns live in the evidence store; the scan hands the ones on record to the checks
(``ScanContext.on_record``). Without a store the checks cannot decide and say so (manual).
Only records that existed at the audit time count, so a scan replayed with ``--as-of`` sees the
reviews as they stood then.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from moodle_soc.checks.registry import check
from moodle_soc.inventory.follow_ups import closed_by, verify_follow_ups
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext
    from moodle_soc.models.reviews import Campaign

HOW_TO = (
    "run one with 'moodle-soc review start --scope privileged --reviewer EMAIL', then export,"
    " import the decisions and 'review close'"
)
NO_STORE = (
    "No evidence store is attached to this scan, so access review campaigns cannot be read;"
    " scan with an evidence store (without --no-store) or provide the review evidence manually."
)


def _campaigns(scan: ScanContext) -> list[Campaign] | None:
    """Campaigns signed off by the audit time, latest first; None without an evidence store."""
    if scan.on_record is None:
        return None
    return closed_by(list(scan.on_record.campaigns), scan.audit_time)


@check(
    "reviews.privileged_review_current",
    severity=Severity.HIGH,
    title="Privileged access was reviewed within the policy interval",
    remediation="Run a privileged access review campaign: moodle-soc review start --scope"
    " privileged, export, import the decisions and close it (docs/review-campaigns.md).",
)
def privileged_review_current(scan: ScanContext) -> Iterator[Result]:
    """Without a periodic, signed-off review, leavers' and creeping privileges go unnoticed."""
    interval = scan.policy.access_review_interval_days
    closed = _campaigns(scan)
    if closed is None:
        yield Result.manual(NO_STORE)
        return
    # A review of every account covers the privileged ones too.
    privileged = [c for c in closed if c.start.scope in ("privileged", "all")]
    if not privileged:
        # An empty store is no evidence either way: the review may be kept outside the tool.
        yield Result.manual(
            f"No privileged access review of {scan.site.identity.name} signed off by"
            f" {scan.site.audit_time:%Y-%m-%d} is on record; provide the evidence of a review"
            f" kept elsewhere, or record one: {HOW_TO}.",
            observed={"interval_days": interval, "campaigns": 0},
        )
        return
    latest = privileged[0]
    assert latest.close is not None
    age = (scan.site.audit_time - latest.close.closed_at) / timedelta(days=1)
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
def revocations_carried_out(scan: ScanContext) -> Iterator[Result]:
    """A review whose revocations are never carried out leaves the access it found excessive.

    The latest signed-off campaign of each scope counts; a follow-up is done when the account is
    gone or suspended or no longer holds the grants to remove, and fails once past its due date.
    """
    closed = _campaigns(scan)
    if closed is None:
        yield Result.manual(NO_STORE)
        return
    latest = {c.start.scope: c for c in reversed(closed)}
    if not latest:
        yield Result.manual(
            f"No access review of {scan.site.identity.name} signed off by"
            f" {scan.site.audit_time:%Y-%m-%d} is on record, so its revocations cannot be"
            f" followed up here; provide the evidence of a review kept elsewhere, or record"
            f" one: {HOW_TO}."
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
        current = scan.inventory(campaign.start.scope)
        for status in verify_follow_ups(campaign, current, scan.site.audit_time):
            yield Result.pass_if(
                status.status != "overdue",
                f"Campaign {campaign.id} follow-up ({status.status}): {status.reason}",
                resource=f"user:{status.userid}",
                observed={"campaign": campaign.id} | status.model_dump(mode="json"),
            )
