"""Access reviews: the privileged-access inventory and quarterly review campaigns.

Campaign steps take the evidence store (``api.stores``) and, where the live site is read, an
open site (``api.sites.open_moodle_site``); the caller closes both. Every guard lives here, so
the CLI, the web dashboard and workers refuse the same things: decisions on a signed-off
campaign, a follow-up check dated before the sign-off, or checked against another site.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from moodle_soc.errors import BadInputError

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.access import AccessInventory, Scope
    from moodle_soc.models.records import StoredRecord
    from moodle_soc.models.reviews import Campaign, CampaignClose, DecisionImport, FollowUpStatus
    from moodle_soc.models.roster import Roster
    from moodle_soc.policy import Policy
    from moodle_soc.site.moodle import MoodleSite


def access_inventory(
    site: MoodleSite,
    *,
    policy: Policy | None = None,
    scope: Scope = "privileged",
    roster: Path | Roster | None = None,
) -> AccessInventory:
    """Every account with privileged access (or every account), why, and its risk flags."""
    from moodle_soc.inventory.build import build_inventory
    from moodle_soc.policy import Policy

    if isinstance(roster, Path):
        from moodle_soc.inventory.roster import load_roster

        roster = load_roster(roster)
    return build_inventory(site, policy or Policy(), scope=scope, roster=roster)


def start_review(
    store: EvidenceStore,
    site: MoodleSite,
    *,
    reviewer: str,
    started_by: str,
    scope: Scope = "privileged",
    policy: Policy | None = None,
    roster: Path | Roster | None = None,
    now: datetime | None = None,
) -> Campaign:
    """Snapshot the site's inventory as a new campaign, tagged against the previous one."""
    from moodle_soc.evidence.store.runs import site_ref_for_site
    from moodle_soc.reviews.campaigns import start_campaign

    inventory = access_inventory(site, policy=policy, scope=scope, roster=roster)
    return start_campaign(
        store,
        site_ref_for_site(site),
        inventory,
        reviewer=reviewer,
        started_by=started_by,
        now=now,
    )


def get_review(store: EvidenceStore, campaign: str) -> Campaign:
    """A campaign by its id or an unambiguous prefix of it."""
    from moodle_soc.reviews.campaigns import get_campaign

    return get_campaign(store, campaign)


def list_reviews(store: EvidenceStore, *, site: str | None = None) -> list[Campaign]:
    """Every campaign (of ``site``), oldest first."""
    from moodle_soc.reviews.campaigns import load_campaigns

    return load_campaigns(store, store.find_site(site).key if site else None)


def export_review_file(store: EvidenceStore, campaign: str, path: Path) -> tuple[Campaign, int]:
    """Write the review file (XLSX or CSV, by ``path``'s suffix); returns the rows written."""
    from moodle_soc.reviews.files import write_review_file

    found = get_review(store, campaign)
    return found, write_review_file(found, path)


def import_review_decisions(
    store: EvidenceStore, path: Path, *, campaign: str, by: str
) -> tuple[Campaign, DecisionImport, StoredRecord]:
    """Validate every row of a filled-in review file and record its decisions, all or nothing
    (``reviews.files.ReviewFileError`` lists every row problem)."""
    from moodle_soc.reviews.campaigns import ensure_open, record_decisions
    from moodle_soc.reviews.files import read_review_file

    found = get_review(store, campaign)
    ensure_open(found, "importing decisions")
    imported = read_review_file(path, found, by=by)
    return found, imported, record_decisions(store, found, imported)


def close_review(
    store: EvidenceStore, campaign: str, *, by: str, follow_up_days: int = 14
) -> tuple[Campaign, CampaignClose]:
    """Sign the campaign off: revoke and modify decisions become dated follow-ups."""
    from moodle_soc.reviews.campaigns import close_campaign

    found = get_review(store, campaign)
    return found, close_campaign(store, found, by=by, follow_up_days=follow_up_days)


def verify_review_follow_ups(
    store: EvidenceStore,
    campaign: Campaign,
    site: MoodleSite,
    *,
    checked_by: str,
    policy: Policy | None = None,
) -> list[FollowUpStatus]:
    """Check the campaign's follow-ups against the live site now and keep what was found as a
    ``review_followup_check`` record (when the campaign is signed off, and unless the site's
    audit time lies in the future: such a check is a projection, not evidence)."""
    from moodle_soc.evidence.store.runs import site_ref_for_site
    from moodle_soc.inventory.follow_ups import verify_follow_ups
    from moodle_soc.models.records import CLOCK_SKEW
    from moodle_soc.reviews.campaigns import record_follow_up_check

    if campaign.close is not None and site.audit_time < campaign.close.closed_at:
        # A check dated before the sign-off would turn overdue follow-ups into pending ones and
        # be kept as evidence: refuse to backdate it.
        raise BadInputError(
            f"--as-of {site.audit_time:%Y-%m-%d %H:%M} is before campaign {campaign.id} was"
            f" signed off ({campaign.close.closed_at:%Y-%m-%d %H:%M} UTC)."
        )
    if site_ref_for_site(site).key != campaign.start.site_key:
        raise BadInputError(
            f"{site.identity.database} is the site {site.identity.name!r}, not campaign"
            f" {campaign.id}'s site {campaign.start.site_name!r}."
        )
    inventory = access_inventory(site, policy=policy, scope=campaign.start.scope)
    statuses = verify_follow_ups(campaign, inventory, site.audit_time)
    # An audit time after now is a projection ("which follow-ups will be overdue?"), shown
    # but never kept: evidence cannot describe the future.
    projected = site.audit_time - store.clock() > CLOCK_SKEW
    if campaign.close is not None and not projected:
        record_follow_up_check(
            store,
            campaign,
            statuses,
            audit_time=site.audit_time,
            checked_by=checked_by,
            database=site.identity.database,
        )
    return statuses


def latest_follow_up_statuses(campaign: Campaign) -> list[FollowUpStatus] | None:
    """The follow-up statuses of the campaign's latest stored check (None: never checked)."""
    return list(campaign.checks[-1].statuses) if campaign.checks else None


def review_report_html(campaign: Campaign, statuses: list[FollowUpStatus] | None) -> str:
    """The campaign's self-contained HTML report: inventory, flags, decisions, follow-ups."""
    from moodle_soc.inventory.follow_ups import decision_rows, follow_up_rows
    from moodle_soc.reports.access import render_access_review

    return render_access_review(
        campaign.start.inventory,
        decisions=decision_rows(campaign),
        follow_ups=follow_up_rows(campaign, statuses) if campaign.close else None,
        campaign=_sign_off(campaign),
    )


def _sign_off(campaign: Campaign) -> dict[str, object]:
    """What CC6.2/CC6.3 ask of a review: which campaign, what scope, who reviewed, who
    signed it off and when."""
    start, close = campaign.start, campaign.close
    reviewers = [start.reviewer]
    for each in campaign.imports:
        for name in (each.imported_by, *(d.reviewer for d in each.decisions)):
            if name and name not in reviewers:
                reviewers.append(name)
    return {
        "id": campaign.id,
        "state": campaign.state,
        "scope": start.scope,
        "site": start.site_name,
        "started_at": start.started_at,
        "started_by": start.started_by,
        "reviewers": reviewers,
        "imports": campaign.imports,
        "closed_at": close.closed_at if close else None,
        "closed_by": close.closed_by if close else None,
        "follow_ups": len(close.follow_ups) if close else 0,
        "follow_up_days": close.follow_up_days if close else None,
        "record_seq": campaign.record.seq,
        "record_hash": campaign.record.record_hash,
    }


def decide_review_entry(
    store: EvidenceStore,
    campaign: str,
    *,
    key: str,
    decision: str,
    by: str,
    comment: str = "",
    remove_grants: list[str] | None = None,
    now: datetime | None = None,
) -> tuple[Campaign, StoredRecord]:
    """Record one reviewer decision (as the web dashboard does), with the review file's rules;
    refused once the campaign is signed off."""
    from moodle_soc.reviews.browser import browser_decision
    from moodle_soc.reviews.campaigns import ensure_open, record_decisions

    found = get_review(store, campaign)
    ensure_open(found, "recording decisions")
    made = browser_decision(
        found,
        key=key,
        decision=decision,
        comment=comment,
        remove_grants=remove_grants or [],
        by=by,
        now=now,
    )
    return found, record_decisions(store, found, made)
