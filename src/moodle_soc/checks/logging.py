"""Logging: the standard log store records events, keeps them for the audit window, and its
security events are reviewed and signed off (the audit-log review, docs/logs.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moodle_soc.checks.registry import SettingFix, check
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext
    from moodle_soc.models.period import LogReviewSummary

STANDARD_STORE = "logstore_standard"
STORES_PAGE = "Site administration > Plugins > Logging > Manage log stores"


@check(
    "logging.standard_log_enabled",
    severity=Severity.HIGH,
    title="The standard log store records events",
    remediation=f"{STORES_PAGE}: enable the Standard log store.",
)
def standard_log_enabled(scan: ScanContext) -> Iterator[Result]:
    """Without the standard log store Moodle keeps no audit trail it can report on."""
    stores = scan.site.settings.items("enabled_stores", "tool_log")
    shown = ", ".join(stores) if stores else "none"
    enabled = STANDARD_STORE in stores
    verdict = "includes" if enabled else "does not include"
    yield Result.pass_if(
        enabled,
        f"Setting tool_log/enabled_stores ({shown}) {verdict} the standard log store.",
        resource="setting:tool_log/enabled_stores",
        observed={"tool_log/enabled_stores": stores},
    ).with_fix(command=enable_standard_store(stores))


def enable_standard_store(stores: list[str]) -> str:
    """The cfg.php command that adds the standard store to the enabled ones (keeping them)."""
    return SettingFix("enabled_stores", ",".join([*stores, STANDARD_STORE]), "tool_log").command


@check(
    "logging.retention_covers_audit_window",
    severity=Severity.HIGH,
    title="Standard log retention covers the audit window",
    remediation=(
        "Site administration > Plugins > Logging > Standard log: set 'Keep logs for' to"
        " 'Never delete logs' or at least the policy's retention."
    ),
    fix=SettingFix("loglifetime", "0", "logstore_standard"),
)
def retention_covers_audit_window(scan: ScanContext) -> Iterator[Result]:
    """Logs deleted before the audit window ends leave the auditor no evidence to test."""
    lifetime = scan.site.settings.int("loglifetime", "logstore_standard")
    required = scan.policy.min_log_retention_days
    observed: dict[str, Any] = {
        "logstore_standard/loglifetime": lifetime,
        "min_log_retention_days": required,
    }
    coverage = ""
    if scan.site.logs.has_standard_log:
        bounds = scan.site.logs.standard_log_bounds()
        observed["oldest_log"] = bounds.oldest_iso
        observed["days_covered"] = bounds.days_covered(scan.site.now)
        coverage = (
            f"; the oldest row is from {bounds.oldest_iso[:10]}"
            f" ({bounds.days_covered(scan.site.now)} days ago)"
            if bounds.oldest_iso
            else "; the standard log is empty"
        )
    stores = scan.site.settings.items("enabled_stores", "tool_log")
    if STANDARD_STORE not in stores:
        observed["tool_log/enabled_stores"] = stores
        # Retention is moot (often already 0) until the store is on: the fix enables it.
        yield Result.failed(
            "The standard log store is disabled (tool_log/enabled_stores is"
            f" {', '.join(stores) or 'empty'}), so no events are kept whatever the retention"
            f"{coverage}; enable it first.",
            resource="setting:logstore_standard/loglifetime",
            observed=observed,
        ).with_fix(
            remediation=f"{STORES_PAGE}: enable the Standard log store, then check 'Keep logs"
            " for' under Logging > Standard log.",
            command=enable_standard_store(stores),
        )
        return
    if lifetime <= 0:
        kept = "Standard log retention is 'never delete'"
    else:
        kept = f"Standard log retention is {lifetime} days"
    yield Result.pass_if(
        lifetime <= 0 or lifetime >= required,
        f"{kept} (logstore_standard/loglifetime {lifetime}); the policy requires {required}"
        f" days{coverage}.",
        resource="setting:logstore_standard/loglifetime",
        observed=observed,
    )


# --- the audit-log review of the policy's window (moodle-soc logs; docs/logs.md) --------------

REVIEW_HOW_TO = (
    "review the period with 'moodle-soc logs' and sign it off with 'moodle-soc logs review"
    " --reviewer WHO --sign-off TEXT'"
)
NO_STORE = (
    "No evidence store is attached to this scan, so signed-off log reviews cannot be read; scan"
    " with an evidence store (without --no-store) or provide the log review evidence manually."
)


def _no_log(scan: ScanContext) -> Result | None:
    if scan.site.logs.has_standard_log:
        return None
    return Result.error(
        "The logstore_standard_log table does not exist, so the log cannot be reviewed."
    )


def _window(scan: ScanContext) -> str:
    period = scan.log_review().period
    return f"the review window {period.start} to {period.end}"


@check(
    "logging.standard_log_enabled_throughout",
    severity=Severity.HIGH,
    title="The standard log store stayed enabled throughout the review window",
    remediation=f"{STORES_PAGE}: keep the Standard log store enabled; find out who disabled it"
    " and why (config_log).",
)
def standard_log_enabled_throughout(scan: ScanContext) -> Iterator[Result]:
    """Events of the days the store was off were never recorded: nobody can review them."""
    review = scan.log_review()
    off = review.integrity.store_disabled
    observed: dict[str, Any] = {
        "window": [str(review.period.start), str(review.period.end)],
        "disabled": [
            {"from": o.start.isoformat() if o.start else None,
             "to": o.end.isoformat() if o.end else None, "by_id": o.by_id}
            for o in off
        ],
    }  # fmt: skip
    if not off:
        yield Result.passed(
            f"The standard log store was enabled throughout {_window(scan)} (no change of"
            " tool_log/enabled_stores turned it off).",
            resource="setting:tool_log/enabled_stores",
            observed=observed,
        )
        return
    for o in off:
        since = f"from {o.start:%Y-%m-%d %H:%M} UTC" if o.start else "from before the window"
        until = f"to {o.end:%Y-%m-%d %H:%M} UTC" if o.end else "to the end of the window"
        who = f" (turned off by user {o.by_id})" if o.by_id is not None else ""
        yield Result.failed(
            f"The standard log store was disabled {since} {until}{who}, within {_window(scan)}.",
            resource="setting:tool_log/enabled_stores",
            observed=observed,
        )


@check(
    "logging.no_days_without_events",
    severity=Severity.MEDIUM,
    title="A site in use logged events every day of the review window",
    remediation="Find out why the log is silent on those days (store disabled, logging broken,"
    " rows deleted) and restore logging.",
)
def no_days_without_events(scan: ScanContext) -> Iterator[Result]:
    """A day without a single event on a site in use means events were lost or deleted."""
    if (problem := _no_log(scan)) is not None:
        yield problem
        return
    review = scan.log_review()
    oldest = review.integrity.oldest_row
    # Days before the log's oldest row are a retention question (retention_covers_audit_window):
    # the site may not have existed yet, or its older rows were cleaned up.
    silent = [d for d in review.integrity.days_without_events if oldest and d >= oldest.date()]
    logins = review.authentication.successful_logins
    observed = {
        "days_without_events": [str(d) for d in silent],
        "successful_logins": logins,
        "oldest_row": oldest.isoformat() if oldest else None,
    }
    if logins == 0:
        yield Result.manual(
            f"Nobody logged in during {_window(scan)}, so days without events cannot be told"
            f" from an unused site ({len(silent)} day(s) without events); confirm whether the"
            " site was in use.",
            resource="table:logstore_standard_log",
            observed=observed,
        )
        return
    shown = ", ".join(str(d) for d in silent[:10]) + (", …" if len(silent) > 10 else "")
    yield Result.pass_if(
        not silent,
        f"The standard log has events on every day of {_window(scan)} ({logins} logins)."
        if not silent
        else f"The standard log has no event at all on {len(silent)} day(s) of"
        f" {_window(scan)}: {shown}.",
        resource="table:logstore_standard_log",
        observed=observed,
    )


def _signed_offs(scan: ScanContext) -> list[LogReviewSummary] | None:
    """Sign-offs made by the audit time, latest first; None without an evidence store."""
    if scan.on_record is None:
        return None
    made = [r for r in scan.on_record.log_reviews if r.signed_at <= scan.audit_time]
    return sorted(made, key=lambda r: r.signed_at, reverse=True)


def _covered(sign_offs: list[LogReviewSummary], first: datetime, last: datetime) -> bool:
    """Whether a sign-off made after ``last`` reviewed the days ``first``..``last``."""
    return any(
        r.start <= first.date() and last.date() <= r.end and r.signed_at >= last for r in sign_offs
    )


@check(
    "logging.login_patterns_reviewed",
    severity=Severity.HIGH,
    title="Brute-force bursts and password spraying were reviewed and signed off",
    remediation=f"Investigate each pattern (account, IP, outcome), then {REVIEW_HOW_TO}.",
)
def login_patterns_reviewed(scan: ScanContext) -> Iterator[Result]:
    """An attack nobody looked at is an incident nobody responded to (CC7.3)."""
    if (problem := _no_log(scan)) is not None:
        yield problem
        return
    auth = scan.log_review().authentication
    patterns = [(f"{b.by} {b.key}", "burst", b.failures, b.first, b.last) for b in auth.bursts]
    patterns += [(f"ip {s.ip}", "spraying", s.failures, s.first, s.last) for s in auth.spraying]
    if not patterns:
        yield Result.passed(
            f"No brute-force burst or password spraying in {_window(scan)}.",
            resource="table:logstore_standard_log",
            observed={"bursts": 0, "spraying": 0},
        )
        return
    sign_offs = _signed_offs(scan)
    for key, kind, failures, first, last in patterns:
        observed = {"pattern": kind, "key": key, "failures": failures,
                    "first": first.isoformat(), "last": last.isoformat()}  # fmt: skip
        what = (
            f"The {kind} of {failures} failed logins ({key}, {first:%Y-%m-%d %H:%M} to"
            f" {last:%Y-%m-%d %H:%M} UTC)"
        )
        if sign_offs is None:
            yield Result.manual(f"{what} needs a review; {NO_STORE}", resource=key,
                                observed=observed)  # fmt: skip
        else:
            reviewed = _covered(sign_offs, first, last)
            yield Result.pass_if(
                reviewed,
                f"{what} is covered by a signed-off log review."
                if reviewed
                else f"{what} is not covered by any signed-off log review.",
                resource=key,
                observed=observed,
            )


@check(
    "logging.admin_new_ips_acknowledged",
    severity=Severity.MEDIUM,
    title="Administrators' logins from new IPs were acknowledged in a signed-off review",
    remediation=f"Confirm each new source with the administrator, then {REVIEW_HOW_TO}.",
)
def admin_new_ips_acknowledged(scan: ScanContext) -> Iterator[Result]:
    """A stolen administrator password shows first as a login from somewhere new."""
    if (problem := _no_log(scan)) is not None:
        yield problem
        return
    sources = scan.log_review().authentication.new_admin_sources
    if not sources:
        yield Result.passed(
            f"No site administrator logged in from a new IP in {_window(scan)}.",
            resource="table:logstore_standard_log",
            observed={"new_admin_sources": 0},
        )
        return
    sign_offs = _signed_offs(scan)
    for s in sources:
        what = f"Administrator {s.username} first logged in from {s.ip} on {s.first:%Y-%m-%d}"
        resource = f"user:{s.userid}:ip:{s.ip}"
        observed = {"userid": s.userid, "username": s.username, "ip": s.ip,
                    "first": s.first.isoformat(), "logins": s.logins}  # fmt: skip
        if sign_offs is None:
            yield Result.manual(f"{what}; {NO_STORE}", resource=resource, observed=observed)
            continue
        seen = _covered(sign_offs, s.first, s.first)
        yield Result.pass_if(
            seen,
            f"{what}; a signed-off log review covers it."
            if seen
            else f"{what}; no signed-off log review covers it.",
            resource=resource,
            observed=observed,
        )


@check(
    "logging.logs_reviewed_within_cadence",
    severity=Severity.HIGH,
    title="The security log was reviewed and signed off within the policy interval",
    remediation=f"Review the log at the policy's cadence: {REVIEW_HOW_TO}.",
)
def logs_reviewed_within_cadence(scan: ScanContext) -> Iterator[Result]:
    """Logs nobody reviews detect nothing: CC7.2 asks for the review, not only the log."""
    interval = scan.policy.log_review_interval_days
    sign_offs = _signed_offs(scan)
    if sign_offs is None:
        yield Result.manual(NO_STORE, observed={"interval_days": interval})
        return
    if not sign_offs:
        yield Result.manual(
            f"No signed-off log review of {scan.site.identity.name} is on record by"
            f" {scan.audit_time:%Y-%m-%d}; provide the evidence of a review kept elsewhere, or"
            f" {REVIEW_HOW_TO}.",
            observed={"interval_days": interval, "log_reviews": 0},
        )
        return
    latest = sign_offs[0]
    age = (scan.audit_time - latest.signed_at) / timedelta(days=1)
    yield Result.pass_if(
        age <= interval,
        f"The latest log review ({latest.start} to {latest.end}) was signed off by"
        f" {latest.reviewer} on {latest.signed_at:%Y-%m-%d}, {int(age)} day(s) before the audit"
        f" time; the policy requires one every {interval} days.",
        resource=f"log_review:{latest.record_seq}",
        observed={
            "record": latest.record_seq,
            "signed_at": latest.signed_at.isoformat(),
            "age_days": round(age, 1),
            "interval_days": interval,
        },
    )
