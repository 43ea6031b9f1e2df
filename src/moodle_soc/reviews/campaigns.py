"""User access review campaigns: start, import decisions, close, all as evidence records.

A campaign is never edited: its state is derived from its append-only records
(``review_records.py``). Starting one snapshots the inventory with each entry tagged new /
unchanged / changed (role creep when grants were added) against the site's previous campaign of
the same scope, and lists the entries since removed; a later import supersedes earlier decisions
for the same key; closing is final and turns every revoke and modify decision into a dated
follow-up that later scans verify (``follow_ups.py``).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError

from moodle_soc.errors import BadInputError, UsageError
from moodle_soc.evidence.store.canonical import content_hash
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.inventory.follow_ups import plan_follow_up
from moodle_soc.models.access import AccessEntry, AccessInventory, Flag
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord
from moodle_soc.models.reviews import (
    REVIEW_KINDS,
    Campaign,
    CampaignClose,
    CampaignStart,
    DecisionImport,
    EntryTag,
    FollowUpCheck,
    FollowUpStatus,
    Tag,
)

if TYPE_CHECKING:
    pass


DEFAULT_FOLLOW_UP_DAYS = 14


def campaign_id_for(identity: object) -> str:
    """12 base32 characters of the identity's hash: the same reviewer, site, scope, audit time
    and grants give the same id, and a spreadsheet never mistakes it for a number."""
    digest = bytes.fromhex(content_hash(identity))
    return base64.b32encode(digest).decode().lower()[:12]


def _grants(entry: AccessEntry) -> list[str]:
    return [grant.key for grant in entry.grants]


def _tagged(inventory: AccessInventory, previous: Campaign | None) -> list[EntryTag]:
    """Tag each entry against ``previous``; an entry that gained grants is flagged role creep."""
    if previous is None:
        return [EntryTag(key=entry.key, tag="new") for entry in inventory.entries]
    before = {e.key: set(_grants(e)) for e in previous.entries}
    since = f"campaign {previous.id} of {previous.start.audit_time:%Y-%m-%d}"
    tags = []
    for entry in inventory.entries:
        if entry.key not in before:
            tags.append(EntryTag(key=entry.key, tag="new"))
            continue
        now, then = _grants(entry), before[entry.key]
        added = [g for g in now if g not in then]
        removed = sorted(then - set(now))
        tag: Tag = "changed" if added or removed else "unchanged"
        tags.append(EntryTag(key=entry.key, tag=tag, grants_added=added, grants_removed=removed))
        if added:
            named = {grant.key: grant.summary for grant in entry.grants}
            reason = (
                f"Account {entry.username} ({entry.key}) gained"
                f" {'; '.join(named.get(key, key) for key in added)} since the"
                f" previous review ({since})."
            )
            entry.flags.append(Flag(code="role_creep", reason=reason))
    return tags


def previous_campaign(campaigns: list[Campaign], site_key: str, scope: str) -> Campaign | None:
    """The site's latest closed campaign of ``scope``, else its latest campaign of it."""
    same = [c for c in campaigns if c.start.site_key == site_key and c.start.scope == scope]
    closed = [c for c in same if c.close is not None]
    if closed:
        return max(closed, key=lambda c: c.close.closed_at if c.close else c.start.started_at)
    return same[-1] if same else None


def start_campaign(
    store: EvidenceStore,
    site: SiteRef,
    inventory: AccessInventory,
    *,
    reviewer: str,
    started_by: str,
    now: datetime | None = None,
) -> Campaign:
    """Snapshot ``inventory`` as a new campaign, tagged against the previous one."""
    if "@" not in reviewer:
        raise UsageError(f"--reviewer {reviewer!r} is not an email address.")
    inventory = inventory.model_copy(deep=True)
    existing = load_campaigns(store, site.key)
    previous = previous_campaign(existing, site.key, inventory.scope)
    tags = _tagged(inventory, previous)
    current = {e.key for e in inventory.entries}
    removed = [e for e in previous.entries if e.key not in current] if previous else []
    creep = sum(bool(t.grants_added) for t in tags)
    if creep:
        inventory.flag_counts["role_creep"] = creep
    audit = inventory.audit_time.astimezone(UTC)
    snapshot = [(e.key, _grants(e)) for e in inventory.entries]
    campaign_id = campaign_id_for(
        [site.key, inventory.scope, reviewer, audit.isoformat(), snapshot]
    )
    if any(c.id == campaign_id for c in existing):
        raise BadInputError(
            f"Campaign {campaign_id} already snapshots this inventory of {site.name} for"
            f" {reviewer}; continue it with 'moodle-soc review export {campaign_id}'."
        )
    start = CampaignStart(
        campaign_id=campaign_id,
        site_key=site.key,
        site_name=site.name,
        wwwroot=site.wwwroot,
        scope=inventory.scope,
        reviewer=reviewer,
        started_by=started_by,
        started_at=now or datetime.now(UTC),
        audit_time=audit,
        previous_campaign=previous.id if previous else None,
        inventory=inventory,
        tags=tags,
        removed=removed,
    )
    payload = start.model_dump(mode="json")
    record = store.append(
        site, RecordKind.REVIEW_CAMPAIGN, payload, collected_at=audit, effective_date=audit.date()
    )
    return Campaign(start=start, record=record, imports=[])


def load_campaigns(store: EvidenceStore, site_key: str | None = None) -> list[Campaign]:
    """Every campaign (of ``site_key``), rebuilt from its records in chain order, oldest first.

    The first close is final: a decisions or close record appended after it (by a concurrent
    writer) stays in the chain as evidence but changes nothing.
    """
    found: dict[str, Campaign] = {}
    records = [r for kind in REVIEW_KINDS for r in store.records(site_key=site_key, kind=kind)]
    for record in sorted(records, key=lambda r: r.seq):
        payload = store.payload(record)
        if payload is None:
            continue  # cleared by retention; the seal accounts for it
        try:
            if record.kind == RecordKind.REVIEW_CAMPAIGN:
                start = CampaignStart.model_validate(payload)
                found[start.campaign_id] = Campaign(start=start, record=record, imports=[])
                continue
            campaign = found.get(str(payload.get("campaign_id")))
            if campaign is None or campaign.start.site_key != record.site_key:
                continue
            if record.kind == RecordKind.REVIEW_FOLLOWUP_CHECK:
                campaign.checks.append(FollowUpCheck.model_validate(payload))
            elif campaign.close is not None:
                continue
            elif record.kind == RecordKind.REVIEW_DECISIONS:
                campaign.imports.append(DecisionImport.model_validate(payload))
            else:
                campaign.close = CampaignClose.model_validate(payload)
        except ValidationError as exc:
            raise StoreError(
                f"Evidence record {record.seq} ({record.kind}) is not a review record this"
                f" version can read: {exc.errors()[0]['msg']}."
            ) from None
    return list(found.values())


def get_campaign(store: EvidenceStore, ref: str) -> Campaign:
    """A campaign by its id or an unambiguous prefix of it."""
    wanted = ref.strip().lower()
    matches = [c for c in load_campaigns(store) if wanted and c.id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    problem = "matches several campaigns" if matches else "matches no campaign"
    raise BadInputError(
        f"Campaign {ref!r} {problem} in {store.display}; see 'moodle-soc review list'."
    )


def ensure_open(campaign: Campaign, what: str) -> None:
    """Refuse ``what`` on a signed-off campaign: the sign-off is final."""
    if campaign.close is not None:
        raise BadInputError(
            f"Campaign {campaign.id} was closed by {campaign.close.closed_by} on"
            f" {campaign.close.closed_at:%Y-%m-%d %H:%M} UTC; {what} is refused after sign-off."
        )


def record_decisions(
    store: EvidenceStore, campaign: Campaign, imported: DecisionImport
) -> StoredRecord:
    """Append one validated import (see ``review_files.read_review_file``)."""
    ensure_open(campaign, "importing decisions")
    record = store.append(
        campaign.site,
        RecordKind.REVIEW_DECISIONS,
        imported.model_dump(mode="json"),
        collected_at=imported.imported_at,
        effective_date=imported.imported_at.date(),
    )
    campaign.imports.append(imported)
    return record


def close_campaign(
    store: EvidenceStore,
    campaign: Campaign,
    *,
    by: str,
    follow_up_days: int = DEFAULT_FOLLOW_UP_DAYS,
    now: datetime | None = None,
) -> CampaignClose:
    """Sign the campaign off; every entry needs a final (not escalated) decision."""
    ensure_open(campaign, "closing it again")
    if follow_up_days < 0:
        raise UsageError(f"--follow-up-days {follow_up_days} must be 0 or more.")
    undecided = campaign.undecided()
    escalated = [d.key for d in campaign.decisions.values() if d.decision == "escalate"]
    for keys, what in ((undecided, "have no decision"), (escalated, "are still escalated")):
        if keys:
            shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
            raise BadInputError(
                f"Campaign {campaign.id} cannot be closed: {len(keys)} entries {what} ({shown});"
                " import their final decisions first."
            )
    closed_at = now or datetime.now(UTC)
    due = closed_at.date() + timedelta(days=follow_up_days)
    acting = [d for d in campaign.decisions.values() if d.decision in ("revoke", "modify")]
    close = CampaignClose(
        campaign_id=campaign.id,
        closed_by=by,
        closed_at=closed_at,
        follow_up_days=follow_up_days,
        counts=campaign.counts(),
        follow_ups=[plan_follow_up(campaign, d, due) for d in acting],
    )
    store.append(
        campaign.site,
        RecordKind.REVIEW_CLOSE,
        close.model_dump(mode="json"),
        collected_at=closed_at,
        effective_date=closed_at.date(),
    )
    campaign.close = close
    return close


def record_follow_up_check(
    store: EvidenceStore,
    campaign: Campaign,
    statuses: list[FollowUpStatus],
    *,
    audit_time: datetime,
    checked_by: str,
    database: str,
    now: datetime | None = None,
) -> StoredRecord:
    """Keep what a look at the site found for the campaign's follow-ups (when removals were
    first seen done)."""
    check = FollowUpCheck(
        campaign_id=campaign.id,
        audit_time=audit_time,
        checked_at=now or datetime.now(UTC),
        checked_by=checked_by,
        database=database,
        statuses=statuses,
    )
    record = store.append(
        campaign.site,
        RecordKind.REVIEW_FOLLOWUP_CHECK,
        check.model_dump(mode="json"),
        collected_at=audit_time,
        effective_date=audit_time.astimezone(UTC).date(),
    )
    campaign.checks.append(check)
    return record
