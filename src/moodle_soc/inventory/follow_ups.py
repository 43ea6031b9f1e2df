"""Follow-ups of a closed review: were the revocations it decided carried out on the site?

A follow-up is done when its account is gone (deleted, or absent from an inventory of the
campaign's scope), suspended, or no longer holds the grants it had to lose; overdue when it is
not done after its due date; pending otherwise. Each verification the CLI runs is kept as a
``review_followup_check`` record, so the evidence shows when removals were first seen done.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from moodle_soc.errors import UsageError
from moodle_soc.models.access import AccessEntry, AccessInventory
from moodle_soc.models.reviews import (
    Campaign,
    Decision,
    FollowUp,
    FollowUpState,
    FollowUpStatus,
)

GONE_STATES = ("deleted", "suspended")


def _status(follow_up: FollowUp, entry: AccessEntry | None, scope: str, today: date) -> tuple[
    FollowUpState, str, list[str]
]:  # fmt: skip
    who = f"{follow_up.username} ({follow_up.key})"
    if entry is None:
        return "done", f"Account {who} no longer holds any {scope} access on the site.", []
    if entry.state in GONE_STATES:
        return "done", f"Account {who} is {entry.state}.", []
    held = {grant.key for grant in entry.grants}
    remaining = [g for g in follow_up.remove_grants if g in held]
    if follow_up.remove_grants and not remaining:
        lost = ", ".join(follow_up.remove_grants)
        return "done", f"Account {who} no longer holds {lost}.", []
    still = f"still holds {', '.join(remaining)}" if remaining else f"is still {entry.state}"
    if today > follow_up.due:
        late = (today - follow_up.due).days
        reason = f"Account {who} {still}, {late} day(s) after the due date {follow_up.due}."
        return "overdue", reason, remaining
    return "pending", f"Account {who} {still}; the change is due by {follow_up.due}.", remaining


def plan_follow_up(campaign: Campaign, decision: Decision, due: date) -> FollowUp:
    """What a revoke or modify decision requires: its grants (all of them for a revoke that
    names none), or the account's suspension when there are no grants to remove."""
    entry = campaign.entry(decision.key)
    assert entry is not None  # decisions are validated against the snapshot
    every = [grant.key for grant in entry.grants]
    grants = decision.remove_grants or (every if decision.decision == "revoke" else [])
    who = f"{entry.username} ({entry.key})"
    action = (
        f"Remove {', '.join(grants)} from {who}, or suspend or delete the account."
        if grants
        else f"Suspend or delete the account {who}."
    )
    return FollowUp(
        key=entry.key,
        userid=entry.userid,
        username=entry.username,
        decision=decision.decision,
        remove_grants=grants,
        action=action,
        due=due,
        decided_by=decision.reviewer,
        comment=decision.comment,
    )


def verify_follow_ups(
    campaign: Campaign, current_inventory: AccessInventory, audit_time: datetime
) -> list[FollowUpStatus]:
    """Judge each follow-up of the closed ``campaign`` against the site as it is now."""
    if campaign.close is None:
        return []
    scope = campaign.start.scope
    if current_inventory.scope not in (scope, "all"):
        raise UsageError(
            f"Campaign {campaign.id} reviewed {scope} accounts; verify it against an inventory"
            f" of that scope, not {current_inventory.scope}."
        )
    entries = {entry.key: entry for entry in current_inventory.entries}
    today = audit_time.astimezone(UTC).date()
    statuses = []
    incomplete = not current_inventory.complete
    for follow_up in campaign.close.follow_ups:
        entry = entries.get(follow_up.key)
        if entry is None and incomplete:
            # Absent from a truncated inventory proves nothing: it may simply not have been read.
            state: FollowUpState = "overdue" if today > follow_up.due else "pending"
            reason = (
                f"Account {follow_up.username} ({follow_up.key}) could not be verified: the"
                " current inventory is incomplete (see its notes)."
            )
            remaining = list(follow_up.remove_grants)
        else:
            state, reason, remaining = _status(follow_up, entry, scope, today)
        statuses.append(
            FollowUpStatus(
                key=follow_up.key,
                userid=follow_up.userid,
                username=follow_up.username,
                status=state,
                reason=reason,
                due=follow_up.due,
                action=follow_up.action,
                remaining_grants=remaining,
                account_state=entry.state if entry is not None else None,
            )
        )
    return statuses


def closed_by(campaigns: list[Campaign], audit_time: datetime) -> list[Campaign]:
    """Campaigns signed off at or before ``audit_time``, latest sign-off first: what a scan
    at that time may rely on (a later sign-off did not exist yet)."""
    done = [c for c in campaigns if c.close is not None and c.close.closed_at <= audit_time]
    return sorted(done, key=lambda c: c.close.closed_at if c.close else audit_time, reverse=True)


def follow_up_rows(
    campaign: Campaign, statuses: list[FollowUpStatus] | None
) -> list[dict[str, object]]:
    """Flat rows for the HTML report: each follow-up with its latest known status."""
    if campaign.close is None:
        return []
    known = {s.key: s for s in statuses or []}
    rows: list[dict[str, object]] = []
    for follow_up in campaign.close.follow_ups:
        status = known.get(follow_up.key)
        rows.append(
            {
                "key": follow_up.key,
                "username": follow_up.username,
                "decision": follow_up.decision,
                "action": follow_up.action,
                "due": follow_up.due.isoformat(),
                "status": status.status if status else "not verified",
                "reason": status.reason if status else "Not verified against the site yet.",
                "reviewer": follow_up.decided_by,
                "closed_at": campaign.close.closed_at,
            }
        )
    return rows


def decision_rows(campaign: Campaign) -> list[dict[str, object]]:
    """Flat rows for the HTML report: every entry with its tag and the decision in force."""
    decided = campaign.decisions
    rows: list[dict[str, object]] = []
    for entry in [*campaign.entries, *campaign.start.removed]:
        tag = campaign.tag(entry.key)
        decision = decided.get(entry.key)
        removed = entry in campaign.start.removed
        rows.append(
            {
                "key": entry.key,
                "username": entry.username,
                "tag": "removed" if removed else tag.tag,
                "grants_added": ", ".join(tag.grants_added),
                "decision": decision.decision if decision else ("" if removed else "undecided"),
                "remove_grants": ", ".join(decision.remove_grants) if decision else "",
                "reviewer": decision.reviewer if decision else "",
                "decided_at": campaign.decided_at(entry.key),
                "comment": decision.comment if decision else "",
            }
        )
    return rows
