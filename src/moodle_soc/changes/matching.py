"""Match each change to the ticket that approved it.

A ticket covers a change when one of its scope entries names it and its deploy window
(``deploy_from``..``deploy_to``) contains the change's time. Of the covering tickets the best
outcome counts, in this order:

* ``approved``: deployed at or after the ticket's ``approved_at``, by someone else;
* ``out_of_order``: deployed before ``approved_at`` (approval after the fact);
* ``sod_conflict``: the Moodle user who made the change is the ticket's approver (matched by
  username or e-mail, case-insensitively): nobody else looked at it;
* ``unapproved``: no ticket covers it.

A change seen only between two scans (source ``runs``) happened some time in between: a ticket
covers it when its window overlaps that interval, and it is out of order only when the whole
interval lies before the approval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from moodle_soc.models.changes import Approvals, ApprovalStatus, Change, Ticket

_RANK: dict[ApprovalStatus, int] = {
    "approved": 0, "out_of_order": 1, "sod_conflict": 2, "unapproved": 3,
}  # fmt: skip


def scope_covers(entry: str, change: Change) -> bool:
    """Whether one scope entry names ``change``.

    ``core`` covers core upgrades; a bare plugin component covers that plugin's installs,
    upgrades and removals; ``component/name`` a setting (in the database or config.php) or a
    role (``role/<shortname>``); ``component/*`` every setting of the component.
    """
    if entry == "core":
        return change.kind == "core"
    component, slash, name = entry.partition("/")
    if not slash:
        return change.kind == "plugin" and change.component == component
    if change.kind not in ("setting", "config_php", "role"):
        return False
    return change.component == component and name in ("*", change.name)


def _earliest(change: Change) -> datetime:
    return change.at_from or change.at


def _in_window(ticket: Ticket, change: Change) -> bool:
    return ticket.deploy_from <= change.at and _earliest(change) <= ticket.deploy_to


def _same_person(approver: str, identities: Iterable[str]) -> bool:
    wanted = approver.strip().lower()
    return bool(wanted) and any(wanted == i.strip().lower() for i in identities if i)


def judge(
    change: Change, ticket: Ticket, identities: tuple[str, ...]
) -> tuple[ApprovalStatus, str]:
    """The outcome of ``change`` against one covering ticket, with the sentence saying why."""
    if _same_person(ticket.approved_by, identities):
        who = change.by_username or f"user {change.by_id}"
        return "sod_conflict", (
            f"{who} made the change and approved ticket {ticket.ticket} ({ticket.approved_by})."
        )
    if change.at < ticket.approved_at:
        return "out_of_order", (
            f"Deployed {change.at:%Y-%m-%d %H:%M} UTC, before ticket {ticket.ticket} was"
            f" approved on {ticket.approved_at:%Y-%m-%d %H:%M} UTC."
        )
    return "approved", f"Approved by {ticket.approved_by} in ticket {ticket.ticket}."


def match_change(
    change: Change, tickets: Iterable[Ticket], identities: tuple[str, ...] = ()
) -> Change:
    """``change`` with its approval status, ticket and note."""
    best: tuple[ApprovalStatus, str, str | None] = (
        "unapproved",
        "No ticket covers this change in its deploy window.",
        None,
    )
    for ticket in tickets:
        if not _in_window(ticket, change):
            continue
        if not any(scope_covers(entry, change) for entry in ticket.scope):
            continue
        status, note = judge(change, ticket, identities)
        if _RANK[status] < _RANK[best[0]]:
            best = (status, note, ticket.ticket)
    status, note, ticket_id = best
    return change.model_copy(
        update={"approval": status, "approval_note": note, "ticket": ticket_id}
    )


def match_changes(
    changes: Iterable[Change],
    approvals: Approvals,
    identities: Mapping[int, tuple[str, ...]] | None = None,
) -> list[Change]:
    """Every change matched; ``identities`` maps a Moodle user id to its username and e-mail."""
    known = identities or {}
    return [
        match_change(
            change,
            approvals.tickets,
            known.get(change.by_id or 0, ())
            or ((change.by_username,) if change.by_username else ()),
        )
        for change in changes
    ]
