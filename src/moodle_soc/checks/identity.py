"""Identity lifecycle of privileged access, read from the access inventory: privileged accounts
in use, privileged accounts with MFA, and leavers deactivated (against the HR roster)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from moodle_soc.checks.registry import check
from moodle_soc.inventory.roster import reconcile
from moodle_soc.models.access import INCOMPLETE, AccessEntry
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext

USERS_PAGE = "Site administration > Users > Browse list of users"
SHOWN_GRANTS = 5
SHOWN_NAMES = 50


def _holds(entry: AccessEntry) -> str:
    keys = [grant.key for grant in entry.grants]
    more = f" and {len(keys) - SHOWN_GRANTS} more" if len(keys) > SHOWN_GRANTS else ""
    return f"It holds {', '.join(keys[:SHOWN_GRANTS])}{more}."


def _observed(entry: AccessEntry) -> dict[str, object]:
    return {
        "username": entry.username,
        "state": entry.state,
        "grants": [grant.key for grant in entry.grants],
        "lastaccess": entry.lastaccess.isoformat() if entry.lastaccess else None,
        "mfa_factors": entry.mfa_factors,
        "flags": [flag.code for flag in entry.flags],
    }


def _flagged(scan: ScanContext, codes: tuple[str, ...], passing: str) -> Iterator[Result]:
    """A failure per active privileged account raising one of ``codes``, then one pass that
    names the others (``passing`` completes "N other active privileged account(s) ...").

    When a population behind the inventory was cut short, the accounts not read were not
    judged: the closing result is an error that says so, never a pass."""
    inventory = scan.inventory()
    entries = [e for e in inventory.entries if e.state == "active"]
    clean = []
    for entry in entries:
        reasons = [flag.reason for flag in entry.flags if flag.code in codes]
        if not reasons:
            clean.append(entry.username)
            continue
        yield Result.failed(
            f"{' '.join(reasons)} {_holds(entry)}",
            resource=f"user:{entry.userid}",
            observed=_observed(entry),
        )
    other = "other " if len(clean) < len(entries) else ""
    if not inventory.complete:
        cuts = [note for note in inventory.notes if INCOMPLETE in note]
        yield Result.error(
            f"The privileged-account population is incomplete: {' '.join(cuts)} Of the accounts"
            f" read, {len(clean)} {other}active privileged account(s) {passing}; the others were"
            " not judged.",
            observed={"accounts": len(clean), "incomplete": cuts},
        )
    elif clean or not entries:
        yield Result.passed(
            f"{len(clean)} {other}active privileged account(s) {passing}.",
            observed={"accounts": len(clean), "usernames": clean[:SHOWN_NAMES]},
        )


@check(
    "identity.privileged_accounts_active",
    severity=Severity.HIGH,
    title="Privileged accounts are in use",
    remediation=f"{USERS_PAGE}: suspend privileged accounts nobody uses, or remove their roles.",
)
def privileged_accounts_active(scan: ScanContext) -> Iterator[Result]:
    """A privileged account nobody uses is standing access whose misuse nobody would notice.

    Privileged: a site administrator, a risky role at system or category level, a risky
    override, "log in as" or a privileged web-service token; a course-level role (an editing
    teacher's) only when the policy's privileged_course_roles is on. Use counts logins and token
    use.
    """
    passing = f"were used within {scan.policy.dormant_days} days or are within their grace period"
    yield from _flagged(scan, ("dormant", "never_logged_in"), passing)


@check(
    "identity.privileged_accounts_use_mfa",
    severity=Severity.HIGH,
    title="Privileged accounts use multi-factor authentication",
    remediation=(
        "Site administration > Plugins > Admin tools > Multi-factor authentication: enable MFA"
        " and a possession factor (TOTP, WebAuthn) and have every privileged user set it up."
    ),
)
def privileged_accounts_use_mfa(scan: ScanContext) -> Iterator[Result]:
    """A stolen password alone opens a privileged account that has no second factor.

    Factors in the policy's weak_mfa_factors (email, grace, iprange ...) do not count, nor do
    factors the site has switched off.
    """
    reason = scan.site.mfa.absent_reason if not scan.site.mfa.available else None
    if reason is not None:
        yield Result.manual(
            f"{reason}; collect evidence of how privileged accounts use a second factor (for"
            " example at the identity provider).",
            observed={"moodle": scan.site.version.describe()},
        )
        return
    yield from _flagged(
        scan, ("privileged_without_mfa",), "hold an enabled factor that proves possession"
    )


@check(
    "identity.leavers_deactivated",
    severity=Severity.HIGH,
    title="Leavers' accounts are deactivated",
    remediation=f"{USERS_PAGE}: suspend the account of everyone the HR roster lists as left.",
)
def leavers_deactivated(scan: ScanContext) -> Iterator[Result]:
    """An account that outlives its owner's employment is access nobody is accountable for."""
    roster = scan.roster
    if roster is None:
        yield Result.manual("No HR roster was given; pass --roster to reconcile leavers.")
        return
    result = reconcile(scan.site, roster)
    for leaver in result.leavers_still_active:
        used = (
            f", and it was used {leaver.days_used_after_leave} days after the leave date"
            if leaver.days_used_after_leave is not None
            else ""
        )
        yield Result.failed(
            f"HR roster {roster.source} line {leaver.line} says {leaver.username} (id"
            f" {leaver.userid}) left on {leaver.leave_date.isoformat()}, but the account is still"
            f" active {leaver.days_active_after_leave} days later{used}.",
            resource=f"user:{leaver.userid}",
            observed=leaver.model_dump(mode="json"),
        )
    for row in result.unmatched:
        if row.status == "left":
            yield Result.manual(
                f"HR roster {roster.source} line {row.line} lists leaver {row.who}, who matches"
                " no Moodle account by username or email; confirm they had no account under"
                " another name.",
                observed=row.model_dump(mode="json"),
            )
    if not result.leavers_still_active:
        leavers = sum(row.status == "left" for row in roster.rows)
        yield Result.passed(
            f"None of the {leavers} leaver(s) in HR roster {roster.source} has an active account"
            f" ({result.leavers_deactivated} matched account(s) are deactivated).",
            observed={"rows": result.rows, "unmatched": len(result.unmatched)},
        )
