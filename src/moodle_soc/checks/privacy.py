"""Privacy: a reachable DPO, an enforced site policy, and data subject requests answered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moodle_soc.checks.registry import SettingFix, check
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext

REQUEST_LIMIT = 50
POLICY_TYPES_REQUIRED = (0, 1)  # site and privacy policies


@check(
    "privacy.dpo_contact_enabled",
    severity=Severity.LOW,
    title="Users can contact the data protection officer",
    remediation=(
        "Site administration > Users > Privacy and policies > Privacy settings: enable"
        " 'Contact the privacy officer' and choose the privacy officer role."
    ),
    fix=SettingFix("contactdataprotectionofficer", "1", "tool_dataprivacy"),
)
def dpo_contact_enabled(scan: ScanContext) -> Iterator[Result]:
    """Users who cannot reach the privacy officer cannot exercise their data rights."""
    enabled = scan.site.settings.flag("contactdataprotectionofficer", "tool_dataprivacy")
    roles = scan.site.settings.items("dporoles", "tool_dataprivacy")
    shown = ", ".join(roles) if roles else "none"
    state = "enabled" if enabled else "disabled"
    yield Result.pass_if(
        enabled,
        f"Setting tool_dataprivacy/contactdataprotectionofficer is {state} (privacy officer"
        f" role ids: {shown}).",
        resource="setting:tool_dataprivacy/contactdataprotectionofficer",
        observed={
            "tool_dataprivacy/contactdataprotectionofficer": scan.site.settings.get(
                "contactdataprotectionofficer", "tool_dataprivacy"
            ),
            "tool_dataprivacy/dporoles": roles,
        },
    )


@check(
    "privacy.site_policy_enforced",
    severity=Severity.MEDIUM,
    title="Users must accept a site or privacy policy",
    remediation=(
        "Site administration > Security > Site security settings: set 'Site policy handler' to"
        " Policies, then publish a compulsory site or privacy policy in Site administration >"
        " Users > Privacy and policies > Manage policies."
    ),
)
def site_policy_enforced(scan: ScanContext) -> Iterator[Result]:
    """Without an accepted policy there is no record that users were told how data is used."""
    handler = scan.site.settings.get("sitepolicyhandler") or ""
    url = (scan.site.settings.get("sitepolicy") or "").strip()
    observed: dict[str, Any] = {"sitepolicyhandler": handler, "sitepolicy": url}
    if handler == "tool_policy":
        active = [
            version
            for version in scan.site.privacy.active_site_policies()
            if version.type in POLICY_TYPES_REQUIRED
        ]
        names = ", ".join(
            f"{v.name} ({v.type_word}, {v.revision or 'no revision'})" for v in active
        )
        observed["active_policies"] = [
            {"id": v.id, "name": v.name, "type": v.type, "audience": v.audience} for v in active
        ]
        if active:
            observed["users_without_acceptance"] = (
                scan.site.privacy.users_without_policy_acceptance([v.id for v in active])
            )
        yield Result.pass_if(
            bool(active),
            f"The site policy handler is tool_policy with {len(active)} active compulsory site or"
            f" privacy policy version(s){': ' + names if names else ''}.",
            observed=observed,
        )
    elif handler == "":
        yield Result.pass_if(
            bool(url),
            f"The site policy handler is the core one and the site policy URL (sitepolicy) is"
            f" {url or 'empty'}.",
            observed=observed,
        )
    else:
        yield Result.failed(
            f"The site policy handler is {handler}, which this tool cannot verify.",
            observed=observed,
        )


@check(
    "privacy.data_requests_handled_timely",
    severity=Severity.MEDIUM,
    title="Data subject requests are answered in time",
    remediation=(
        "Site administration > Users > Privacy and policies > Data requests: approve, reject"
        " or complete every open request."
    ),
    requires_tables=("tool_dataprivacy_request",),
)
def data_requests_handled_timely(scan: ScanContext) -> Iterator[Result]:
    """Privacy law gives a month to answer data subject requests; late answers breach it."""
    days = scan.policy.max_privacy_request_days
    cutoff = scan.site.days_ago(days)
    late = scan.site.privacy.pending_requests(cutoff, REQUEST_LIMIT)
    for request in late:
        created = datetime.fromtimestamp(request.timecreated, UTC).strftime("%Y-%m-%d")
        age = (scan.site.now - request.timecreated) // 86400
        yield Result.failed(
            f"Data request {request.id} ({request.type_word}) of user {request.userid} has been"
            f" {request.status_word} since {created} ({age} days); the policy allows {days}.",
            resource=f"privacy_request:{request.id}",
            observed={
                "id": request.id,
                "userid": request.userid,
                "type": request.type,
                "status": request.status,
                "timecreated": request.timecreated,
            },
        )
    if len(late) >= REQUEST_LIMIT:
        total = scan.site.privacy.count_pending_requests(cutoff)
        if total > len(late):
            yield Result.failed(
                f"{total} data requests are open for longer than {days} days; only the oldest"
                f" {len(late)} are listed.",
                observed={"late_requests": total, "listed": len(late)},
            )
    if not late:
        yield Result.passed(
            f"No data request has been open for longer than {days} days.",
            observed={"max_privacy_request_days": days},
        )
