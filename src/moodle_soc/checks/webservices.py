"""Web services: which protocols are open, and whether each token is restricted and short-lived."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moodle_soc.checks.registry import check
from moodle_soc.data.webservice_functions import FunctionType, function_types
from moodle_soc.results import Result, Severity
from moodle_soc.site.roles import (
    RISK_CONFIG,
    RISK_DATALOSS,
    RISK_MANAGETRUST,
    RISK_PERSONAL,
    risk_names,
)

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.site.webservices import ServiceFunction, ServiceRecord, TokenRecord

TOKENS_PAGE = "Site administration > Server > Web services > Manage tokens"


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _tokens(site: MoodleSite) -> tuple[list[TokenRecord], int]:
    """Permanent tokens, and how many embedded ones were set aside.

    Embedded tokens (tokentype 1) are minted for a logged-in session and removed with it, so
    they carry no standing access of their own; the per-token checks judge permanent tokens.
    """
    tokens = site.webservices.tokens()
    permanent = [token for token in tokens if not token.embedded]
    return permanent, len(tokens) - len(permanent)


def _live_tokens(site: MoodleSite) -> tuple[list[TokenRecord], int, list[TokenRecord]]:
    """Permanent tokens that still work, how many embedded ones were set aside, and the expired
    ones: Moodle refuses a token past its validuntil, so it grants nothing (it belongs to
    ``webservices.expired_tokens_removed``)."""
    tokens, embedded = _tokens(site)
    expired = [t for t in tokens if t.validuntil and 0 < t.validuntil < site.now]
    return [t for t in tokens if t not in expired], embedded, expired


def _expired_note(expired: list[TokenRecord]) -> Result | None:
    if not expired:
        return None
    ids = ", ".join(str(t.id) for t in expired)
    return Result.passed(
        f"{len(expired)} expired token(s) ({ids}) were set aside: Moodle refuses them, so they"
        " grant no access (see webservices.expired_tokens_removed).",
        observed={"expired_tokens": [t.id for t in expired]},
    )


def _count(tokens: list[TokenRecord]) -> str:
    return "the only permanent token" if len(tokens) == 1 else f"{len(tokens)} permanent tokens"


def _no_tokens(embedded: int) -> Result:
    extra = f" ({embedded} embedded session tokens were set aside)" if embedded else ""
    return Result.passed(
        f"The site has no permanent web service tokens{extra}.",
        observed={"tokens": 0, "embedded_tokens": embedded},
    )


@check(
    "webservices.protocols_allowed",
    severity=Severity.MEDIUM,
    title="Only approved web service protocols are enabled",
    remediation=(
        "Site administration > Server > Web services > Manage protocols: disable every"
        " protocol the organisation has not approved."
    ),
)
def protocols_allowed(scan: ScanContext) -> Iterator[Result]:
    """Every enabled web service protocol is a remote entry point into the site's data."""
    enabled = scan.site.settings.flag("enablewebservices")
    mobile = scan.site.settings.get("enablemobilewebservice")
    protocols = scan.site.settings.items("webserviceprotocols")
    common: dict[str, Any] = {
        "enablewebservices": scan.site.settings.get("enablewebservices"),
        "enablemobilewebservice": mobile,
        "webserviceprotocols": protocols,
    }
    if not enabled:
        yield Result.passed("Web services are disabled.", observed=common)
        return
    if not protocols:
        yield Result.passed(
            "Web services are enabled but no web service protocol is enabled.", observed=common
        )
        return
    allowed = ", ".join(scan.policy.allowed_ws_protocols) or "none"
    for protocol in protocols:
        approved = protocol in scan.policy.allowed_ws_protocols
        verdict = "is approved" if approved else "is not among the approved protocols"
        yield Result.pass_if(
            approved,
            f"Web service protocol {protocol} is enabled and {verdict} ({allowed}).",
            resource=f"plugin:webservice_{protocol}",
            observed=common
            | {"protocol": protocol, "allowed": list(scan.policy.allowed_ws_protocols)},
        )


@check(
    "webservices.tokens_ip_restricted",
    severity=Severity.HIGH,
    title="Web service tokens are restricted to known IP addresses",
    remediation=f"{TOKENS_PAGE}: give each token an IP restriction, or recreate it with one.",
)
def tokens_ip_restricted(scan: ScanContext) -> Iterator[Result]:
    """A stolen token without an IP restriction works from anywhere on the internet."""
    tokens, embedded, expired = _live_tokens(scan.site)
    note = _expired_note(expired)
    if not tokens:
        yield note or _no_tokens(embedded)
    elif note:
        yield note
    for token in tokens:
        if token.iprestriction:
            reason = f"{token.label} is restricted to {token.iprestriction}."
        else:
            reason = f"{token.label} has no IP restriction."
        yield Result.pass_if(
            token.iprestriction is not None,
            reason,
            resource=f"token:{token.id}",
            observed=token.observed(),
        )


@check(
    "webservices.tokens_expire",
    severity=Severity.MEDIUM,
    title="Web service tokens have an expiry date",
    remediation=f"{TOKENS_PAGE}: recreate never-expiring tokens with a 'Valid until' date.",
)
def tokens_expire(scan: ScanContext) -> Iterator[Result]:
    """A token that never expires is standing access that outlives its purpose."""
    tokens, embedded = _tokens(scan.site)
    if not tokens:
        yield _no_tokens(embedded)
    for token in tokens:
        expires = bool(token.validuntil)
        reason = (
            f"{token.label} is valid until {_date(token.validuntil or 0)}."
            if expires
            else f"{token.label} never expires (validuntil {token.validuntil or 0})."
        )
        yield Result.pass_if(
            expires, reason, resource=f"token:{token.id}", observed=token.observed()
        )


@check(
    "webservices.tokens_not_owned_by_admins",
    severity=Severity.HIGH,
    title="No web service token acts as a site administrator",
    remediation=(
        f"{TOKENS_PAGE}: delete tokens of site administrators and issue them to a dedicated"
        " service account holding only the capabilities the integration needs."
    ),
)
def tokens_not_owned_by_admins(scan: ScanContext) -> Iterator[Result]:
    """A token of a site administrator bypasses every capability check for whoever holds it."""
    tokens, embedded, expired = _live_tokens(scan.site)
    admins = set(scan.site.site_admin_ids)
    note = _expired_note(expired)
    if not tokens:
        yield note or _no_tokens(embedded)
        return
    if note:
        yield note
    owned = [token for token in tokens if token.userid in admins]
    for token in owned:
        yield Result.failed(
            f"{token.label} belongs to a site administrator (user id {token.userid}).",
            resource=f"token:{token.id}",
            observed=token.observed() | {"siteadmins": sorted(admins)},
        )
    if not owned:
        yield Result.passed(
            f"No web service token belongs to a site administrator ({_count(tokens)} checked;"
            f" site administrators: {', '.join(map(str, sorted(admins))) or 'none'}).",
            observed={"tokens": len(tokens), "siteadmins": sorted(admins)},
        )


@check(
    "webservices.expired_tokens_removed",
    severity=Severity.LOW,
    title="Expired web service tokens are deleted",
    remediation=f"{TOKENS_PAGE}: delete tokens whose 'Valid until' date has passed.",
)
def expired_tokens_removed(scan: ScanContext) -> Iterator[Result]:
    """Expired tokens left in place show that token lifecycle is not managed."""
    tokens, embedded = _tokens(scan.site)
    if not tokens:
        yield _no_tokens(embedded)
        return
    expired = [t for t in tokens if t.validuntil and 0 < t.validuntil < scan.site.now]
    for token in expired:
        yield Result.failed(
            f"{token.label} expired on {_date(token.validuntil or 0)} but is still present.",
            resource=f"token:{token.id}",
            observed=token.observed(),
        )
    if not expired:
        yield Result.passed(
            f"No web service token is past its expiry date ({_count(tokens)} checked).",
            observed={"tokens": len(tokens)},
        )


@check(
    "webservices.tokens_in_use",
    severity=Severity.LOW,
    title="Every web service token is in use",
    remediation=f"{TOKENS_PAGE}: delete tokens that are not used.",
)
def tokens_in_use(scan: ScanContext) -> Iterator[Result]:
    """An unused token is forgotten access nobody watches."""
    tokens, embedded, expired = _live_tokens(scan.site)
    note = _expired_note(expired)
    if not tokens:
        yield note or _no_tokens(embedded)
    elif note:
        yield note
    idle_days = scan.policy.max_token_idle_days
    cutoff = scan.site.days_ago(idle_days)
    for token in tokens:
        if token.lastaccess:
            used = token.lastaccess >= cutoff
            reason = f"{token.label} was last used on {_date(token.lastaccess)}"
        else:
            used = token.timecreated >= cutoff
            reason = f"{token.label} has never been used since its creation on"
            reason += f" {_date(token.timecreated)}"
        yield Result.pass_if(
            used,
            f"{reason}; the policy allows {idle_days} idle days.",
            resource=f"token:{token.id}",
            observed=token.observed() | {"max_token_idle_days": idle_days},
        )


SERVICES_PAGE = "Site administration > Server > Web services > External services"
#: Moodle's own app service: it acts for the logged-in user with that user's permissions.
MOBILE_SERVICE = "moodle_mobile_app"


def _custom_services(scan: ScanContext) -> list[ServiceRecord] | None:
    """Enabled services other than the mobile app's; None when web services are off."""
    if not scan.site.settings.flag("enablewebservices"):
        return None
    return [s for s in scan.site.webservices.enabled_services() if s.shortname != MOBILE_SERVICE]


def _services_off(scan: ScanContext) -> Result:
    return Result.passed(
        "Web services are disabled (enablewebservices), so no external service other than the"
        " mobile app's can be called.",
        observed={"enablewebservices": scan.site.settings.get("enablewebservices")},
    )


def _service_label(service: ServiceRecord) -> str:
    shown = f" ({service.shortname})" if service.shortname else ""
    origin = f"of {service.component}" if service.component else "added on the site"
    return f"External service {service.name!r}{shown}, {origin},"


def _service_observed(service: ServiceRecord) -> dict[str, Any]:
    return {
        "id": service.id,
        "shortname": service.shortname,
        "component": service.component,
        "restrictedusers": service.restrictedusers,
        "downloadfiles": service.downloadfiles,
        "uploadfiles": service.uploadfiles,
    }


@check(
    "webservices.services_restricted_to_users",
    severity=Severity.MEDIUM,
    title="External services are open only to authorised users",
    remediation=f"{SERVICES_PAGE} > Edit: tick 'Authorised users only', then add the service"
    " account under Authorised users (or disable the service).",
)
def services_restricted_to_users(scan: ScanContext) -> Iterator[Result]:
    """A service open to all users can be called by anyone who obtains a token for it, not only
    the integration it was made for (the mobile app's service acts with each user's own
    permissions and is left out)."""
    services = _custom_services(scan)
    if services is None:
        yield _services_off(scan)
        return
    for service in services:
        open_to_all = not service.restrictedusers
        effect = "is open to all users" if open_to_all else "is limited to authorised users"
        # A plugin's own service (like the app's) runs with each caller's permissions; one
        # added on the site is usually an integration with broad functions.
        severity = Severity.LOW if service.component else None
        yield Result.pass_if(
            not open_to_all,
            f"{_service_label(service)} is enabled and {effect}.",
            resource=f"service:{service.id}",
            observed=_service_observed(service),
            severity=severity if open_to_all else None,
        )
    if not services:
        yield Result.passed(
            "No external service other than the mobile app's is enabled.",
            observed={"services": 0},
        )


@check(
    "webservices.services_file_transfer_limited",
    severity=Severity.MEDIUM,
    title="External services cannot move files unless they must",
    remediation=f"{SERVICES_PAGE} > Edit > Show more: untick 'Can download files' and 'Can"
    " upload files' where the integration does not need them.",
)
def services_file_transfer_limited(scan: ScanContext) -> Iterator[Result]:
    """A service that can download or upload files lets a token carry data out of the site or
    plant files in it, beyond the functions it lists."""
    services = _custom_services(scan)
    if services is None:
        yield _services_off(scan)
        return
    for service in services:
        moves = [
            word
            for word, on in (("download", service.downloadfiles), ("upload", service.uploadfiles))
            if on
        ]
        effect = f"can {' and '.join(moves)} files" if moves else "cannot download or upload files"
        yield Result.pass_if(
            not moves,
            f"{_service_label(service)} is enabled and {effect}.",
            resource=f"service:{service.id}",
            observed=_service_observed(service),
        )
    if not services:
        yield Result.passed(
            "No external service other than the mobile app's is enabled.",
            observed={"services": 0},
        )


#: Risks that make a function worth an approval when a token can call it: it can change the
#: site's configuration or trust, destroy data, or read personal data (RISK_XSS and RISK_SPAM
#: alone are left to the role checks).
FUNCTION_RISKS = RISK_CONFIG | RISK_MANAGETRUST | RISK_DATALOSS | RISK_PERSONAL
#: Risks that make even a read function "admin" power.
ADMIN_RISKS = RISK_CONFIG | RISK_MANAGETRUST | RISK_DATALOSS


def _functions_page(service: ServiceRecord) -> str:
    return f"{SERVICES_PAGE} > Functions (admin/webservice/service_functions.php?id={service.id})"


def _reach(tokens: list[TokenRecord], service: ServiceRecord, admins: set[int]) -> list[str]:
    """Why the tokens reaching a service make it reachable by more than the integration."""
    wide = []
    if not service.restrictedusers:
        wide.append("the service is open to all users")
    loose = [t.id for t in tokens if not t.iprestriction]
    if loose:
        wide.append(f"token(s) {', '.join(map(str, loose))} work from any IP address")
    owned = [t.id for t in tokens if t.userid in admins]
    if owned:
        wide.append(f"token(s) {', '.join(map(str, owned))} act as a site administrator")
    return wide


def _judged(function: ServiceFunction, kind: str | None) -> str:
    """'write function' / 'read function' / 'function of unknown type', with its risks."""
    what = f"{kind} function" if kind else "function of unknown type (not in the shipped data)"
    risks = risk_names(function.risks & FUNCTION_RISKS)
    return f"{what}{' declaring ' + ', '.join(risks) if risks else ''}"


@check(
    "webservices.token_functions_approved",
    severity=Severity.HIGH,
    title="Write and risky functions reachable by tokens are approved",
    remediation=(
        f"{SERVICES_PAGE} > Functions (the admin page admin/webservice/service_functions.php?id="
        "<service id>): remove each function the integration does not need; approve the rest in"
        " moodle-soc.yaml (policy.approved_ws_functions, '<service>:<function>'), and keep the"
        " service limited to authorised users and its tokens bound to the integration's IP"
        " addresses."
    ),
)
def token_functions_approved(scan: ScanContext) -> Iterator[Result]:
    """A token calls its service's functions with its owner's rights: a write function, or one
    declaring configuration, trust, data-loss or personal-data risk, is a standing remote change
    or export path that somebody must have approved (read-only functions are counted, not
    listed)."""
    services = _custom_services(scan)
    if services is None:
        yield _services_off(scan)
        return
    tokens, _, _ = _live_tokens(scan.site)
    reaching = {s.id: [t for t in tokens if t.serviceid == s.id] for s in services}
    reachable = [s for s in services if reaching[s.id]]
    if not reachable:
        yield Result.passed(
            f"No live permanent token reaches an enabled external service other than the mobile"
            f" app's ({len(services)} such service(s) enabled).",
            observed={"services": [s.id for s in services], "tokens": len(tokens)},
        )
        return
    types = function_types()
    admins = set(scan.site.site_admin_ids)
    approved = scan.policy.approved_ws_functions
    listed = {
        s.id: [f for f in scan.site.webservices.service_functions() if f.serviceid == s.id]
        for s in reachable
    }
    for service in reachable:
        yield from _service_functions(scan, service, reaching[service.id], listed[service.id],
                                      types, admins, approved)  # fmt: skip


def _service_functions(
    scan: ScanContext,
    service: ServiceRecord,
    tokens: list[TokenRecord],
    functions: list[ServiceFunction],
    types: dict[str, FunctionType],
    admins: set[int],
    approved: tuple[str, ...] | None,
) -> Iterator[Result]:
    wide = _reach(tokens, service, admins)
    token_ids = [t.id for t in tokens]
    by = f"reached by token(s) {', '.join(map(str, token_ids))}"
    quiet: dict[str, list[str]] = {"read": [], "unknown type": [], "not installed": []}
    for function in functions:
        kind = types.get(function.name)
        if function.component is None:
            quiet["not installed"].append(function.name)  # Moodle cannot call it
            continue
        if kind != "write" and not function.risks & FUNCTION_RISKS:
            quiet["read" if kind else "unknown type"].append(function.name)
            continue
        label = (
            f"{_service_label(service)} {by}, lists {function.name}, a {_judged(function, kind)}"
        )
        seen = _service_observed(service) | {
            "function": function.name,
            "component": function.component,
            "type": kind,
            "capabilities": list(function.capabilities),
            "risks": risk_names(function.risks),
            "tokens": token_ids,
            "functions_page": f"admin/webservice/service_functions.php?id={service.id}",
        }
        # A read function whose only flagged risk is personal data exposes data; writes and
        # admin risks change the site.
        severity = Severity.MEDIUM if kind == "read" and not function.risks & ADMIN_RISKS else None
        keys = {f"{service.shortname}:{function.name}", f"{service.id}:{function.name}"}
        if approved is not None:
            ok = bool(keys & set(approved))
            yield Result.pass_if(
                ok,
                f"{label}; it {'is' if ok else 'is not'} in the approved list.",
                resource=f"service:{service.id}:{function.name}",
                observed=seen,
                severity=None if ok else severity,
            )
        elif wide:
            yield Result.failed(
                f"{label}, and {'; '.join(wide)}.",
                resource=f"service:{service.id}:{function.name}",
                observed=seen | {"exposure": wide},
                severity=severity,
            )
        else:
            yield Result.manual(
                f"{label}; its tokens are bound to IP addresses and the service to authorised"
                " users, so only an approval decides: confirm it or list it in moodle-soc.yaml"
                " (policy.approved_ws_functions).",
                resource=f"service:{service.id}:{function.name}",
                observed=seen,
            )
    if any(quiet.values()):
        counts = ", ".join(f"{len(names)} {what}" for what, names in quiet.items() if names)
        yield Result.passed(
            f"{_service_label(service)} {by}, also lists functions that declare no"
            f" configuration, trust, data-loss or personal-data risk and are not known to write"
            f" ({counts}).",
            resource=f"service:{service.id}",
            observed={"id": service.id, "tokens": token_ids}
            | {what.replace(" ", "_"): names for what, names in quiet.items()},
        )
