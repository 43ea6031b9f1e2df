"""Access-review outputs: a self-contained HTML report and a one-row-per-account CSV.

The HTML report holds the inventory with grants, flags and reasons, the HR roster
reconciliation and summary counts; when a review campaign passes its ``decisions`` and
``follow_ups`` (lists of flat dicts), those sections are rendered too. Moodle data is untrusted:
the shared environment autoescapes every value (never ``|safe``), so a user named ``<script>``
is text, and no CSV cell can start a formula (``safety.neutralize_formula``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from moodle_soc.inventory.flags import FLAG_HELP
from moodle_soc.reports.templating import environment
from moodle_soc.safety import neutralize_formula

if TYPE_CHECKING:
    from moodle_soc.models.access import AccessEntry, AccessInventory

#: CSV columns, one row per account (docs/access-review.md explains each).
CSV_COLUMNS = (
    "key", "userid", "username", "fullname", "email", "auth", "state", "siteadmin", "privileged",
    "grants", "flags", "flag_reasons", "mfa_factors", "firstaccess", "lastaccess", "last_login",
    "lastip", "tokens", "interactive_logins", "login_as_sessions", "roster_line",
    "roster_status", "roster_leave_date", "roster_manager",
)  # fmt: skip
# Columns shown first when a campaign's decisions or follow-ups are rendered; others follow.
PREFERRED_COLUMNS = ("key", "username", "grant", "decision", "reviewer", "reason", "owner",
                     "action", "status", "due", "decided_at", "closed_at")  # fmt: skip


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a leading ' neutralises it)."""
    return neutralize_formula("" if value is None else str(value))


def _csv_row(entry: AccessEntry) -> list[str]:
    link = entry.roster
    values: list[Any] = [
        entry.key, entry.userid, entry.username, entry.fullname, entry.email, entry.auth,
        entry.state, int(entry.siteadmin), int(entry.privileged),
        ";".join(g.key for g in entry.grants), ";".join(f.code for f in entry.flags),
        " | ".join(f.reason for f in entry.flags),
        "n/a" if entry.mfa_factors is None else ";".join(entry.mfa_factors),
        *(d.isoformat() if d else "" for d in (entry.firstaccess, entry.lastaccess,
                                                 entry.last_login)),
        entry.lastip, ";".join(str(t.id) for t in entry.tokens),
        "" if entry.interactive_logins is None else entry.interactive_logins,
        entry.login_as_sessions, link.line if link else "", link.status if link else "",
        link.leave_date.isoformat() if link and link.leave_date else "",
        (link.manager or "") if link else "",
    ]  # fmt: skip
    return [_cell(value) for value in values]


def render_csv(inventory: AccessInventory) -> str:
    """One row per account with its grants and flags (columns: ``CSV_COLUMNS``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in inventory.entries:
        writer.writerow(_csv_row(entry))
    return out.getvalue()


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen = list(dict.fromkeys(key for row in rows for key in row))
    first = [key for key in PREFERRED_COLUMNS if key in seen]
    return first + [key for key in seen if key not in first]


def render_access_review(
    inventory: AccessInventory,
    *,
    decisions: list[dict[str, Any]] | None = None,
    follow_ups: list[dict[str, Any]] | None = None,
    campaign: dict[str, Any] | None = None,
) -> str:
    """The HTML access-review report; decisions and follow-ups are rendered when given, and a
    campaign's sign-off block (id, scope, reviewers, imports, who closed it and when)."""
    entries = inventory.entries
    summary = {
        "Accounts listed": len(entries),
        "Privileged accounts": sum(e.privileged for e in entries),
        "Active privileged accounts": sum(e.privileged and e.state == "active" for e in entries),
        "Site administrators": sum(e.siteadmin for e in entries),
        "Accounts with at least one flag": sum(bool(e.flags) for e in entries),
    }
    flagged = sorted(entries, key=lambda e: (-len(e.flags), e.username.lower()))
    # Codes added on top of the inventory (a campaign's role_creep) are listed after ours.
    extra = {code: "Raised by the review campaign." for code in inventory.flag_counts}
    flag_help = {**FLAG_HELP, **{k: v for k, v in extra.items() if k not in FLAG_HELP}}
    template = environment().get_template("access_review.html.j2")
    return template.render(
        inv=inventory,
        entries=flagged,
        summary=summary,
        flag_help=flag_help,
        decisions=decisions,
        decision_columns=_columns(decisions or []),
        follow_ups=follow_ups,
        follow_up_columns=_columns(follow_ups or []),
        campaign=campaign,
    )
