"""Account lifecycle: unused accounts are disabled and suspended ones stay quiet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import check
from moodle_soc.policy import Policy
from moodle_soc.results import Result, Severity
from moodle_soc.site.accounts import ActivitySummary, UserRef
from moodle_soc.site.moodle import MoodleSite

USERS_PAGE = "Site administration > Users > Accounts > Browse list of users"


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def _summary(site: MoodleSite, policy: Policy) -> ActivitySummary:
    return site.accounts.activity_summary(
        dormant_before=site.days_ago(policy.dormant_days),
        created_before=site.days_ago(policy.never_logged_in_grace_days),
    )


def _names(sample: tuple[UserRef, ...], total: int) -> str:
    shown = ", ".join(ref.username for ref in sample[:5])
    more = f" and {total - 5} more" if total > 5 else ""
    return f" ({shown}{more})" if shown else ""


@check(
    "accounts.dormant_accounts_disabled",
    severity=Severity.MEDIUM,
    title="Dormant accounts are suspended",
    remediation=f"{USERS_PAGE}: filter on last access and suspend dormant accounts.",
)
def dormant_accounts_disabled(scan: ScanContext) -> Iterator[Result]:
    """An account nobody has used for months belongs to a leaver or is forgotten, and a stolen
    password for it goes unnoticed."""
    summary = _summary(scan.site, scan.policy)
    share = summary.dormant / summary.active if summary.active else 0.0
    names = _names(summary.dormant_sample, summary.dormant)
    yield Result.pass_if(
        share <= scan.policy.max_dormant_account_share,
        f"{summary.dormant} of {summary.active} active accounts ({share:.1%}) were last used"
        f" more than {scan.policy.dormant_days} days ago{names};"
        f" the policy allows {scan.policy.max_dormant_account_share:.1%}.",
        observed={
            "active": summary.active,
            "dormant": summary.dormant,
            "dormant_share": round(share, 4),
            "dormant_days": scan.policy.dormant_days,
            "lastaccess_before": scan.site.days_ago(scan.policy.dormant_days),
            "sample_usernames": [ref.username for ref in summary.dormant_sample],
            "sample_ids": [ref.id for ref in summary.dormant_sample],
        },
    )


@check(
    "accounts.never_logged_in_accounts_reviewed",
    severity=Severity.LOW,
    title="Accounts that were never used are reviewed",
    remediation=f"{USERS_PAGE}: filter on 'never' last access and suspend or delete them.",
)
def never_logged_in_accounts_reviewed(scan: ScanContext) -> Iterator[Result]:
    """An account created but never used is access nobody needed, waiting for someone to
    claim it."""
    summary = _summary(scan.site, scan.policy)
    count = summary.never_logged_in
    grace = scan.policy.never_logged_in_grace_days
    yield Result.pass_if(
        count == 0,
        f"{count} active account(s) created more than {grace} days ago never logged in"
        f"{_names(summary.never_logged_in_sample, count)}.",
        observed={
            "active": summary.active,
            "never_logged_in": count,
            "grace_days": grace,
            "timecreated_before": scan.site.days_ago(grace),
            "sample_usernames": [ref.username for ref in summary.never_logged_in_sample],
            "sample_ids": [ref.id for ref in summary.never_logged_in_sample],
        },
    )


@check(
    "accounts.suspended_users_not_attempting_login",
    severity=Severity.MEDIUM,
    title="Suspended accounts are not trying to log in",
    remediation="Site administration > Reports > Logs: review failed logins of suspended users.",
    requires_tables=("logstore_standard_log",),
)
def suspended_users_not_attempting_login(scan: ScanContext) -> Iterator[Result]:
    """Login attempts on a suspended account mean a leaver, or someone holding a leaver's
    password, still tries to get in."""
    days = scan.policy.suspended_login_window_days
    attempts = scan.site.accounts.suspended_login_attempts(scan.site.days_ago(days), limit=50)
    if not attempts.total_attempts:
        stores = scan.site.settings.items("enabled_stores", "tool_log")
        if "logstore_standard" not in stores:
            # No rows because nothing is logged is not evidence that nobody tried.
            yield Result.manual(
                f"The standard log store is not enabled (tool_log/enabled_stores:"
                f" {', '.join(stores) or 'none'}), so failed logins are not recorded here;"
                " show them from another log source.",
                observed={"total_attempts": 0, "tool_log/enabled_stores": stores},
            )
            return
        yield Result.passed(
            f"No currently suspended account had a failed login in the last {days} days.",
            observed={"total_attempts": 0, "window_days": days},
        )
        return
    yield Result.failed(
        f"{attempts.total_users} currently suspended account(s) failed to log in"
        f" {attempts.total_attempts} times in the last {days} days; {attempts.reason_suspended}"
        f" of the latest {attempts.decoded_rows} were refused as suspended (reason 2).",
        observed={
            "total_users": attempts.total_users,
            "total_attempts": attempts.total_attempts,
            "decoded_rows": attempts.decoded_rows,
            "reason_suspended": attempts.reason_suspended,
            "window_days": days,
        },
    )
    for user in attempts.users:
        yield Result.failed(
            f"Suspended user {user.username} (id {user.userid}) failed to log in"
            f" {user.attempts} times in the last {days} days, last on {_date(user.last_attempt)}.",
            resource=f"user:{user.userid}",
            observed={
                "username": user.username,
                "attempts": user.attempts,
                "timecreated": user.last_attempt,
            },
        )
