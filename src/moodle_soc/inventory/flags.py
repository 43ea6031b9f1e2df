"""Risk flags of an access-inventory entry: each rule is a small function that returns a Flag
with the reason sentence a reviewer reads, or None.

Rules judge only what the inventory recorded (no queries), so they are pure and cheap. "Last
use" of an account is its latest ``user.lastaccess`` or, for a token owner, the latest use of one
of its web-service tokens, whichever is later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from moodle_soc.models.access import Flag

if TYPE_CHECKING:
    from moodle_soc.models.access import AccessEntry
    from moodle_soc.site.accounts import UserRecord

DAY = 86400
# Shared or generic account names, matched against the whole username (its part before any @,
# lower-cased, without . _ -). Moodle's installer names its first administrator "admin", so a
# bare "admin" is left to the site-administrator checks; admin2, admin3 ... are flagged.
GENERIC_NAMES: tuple[str, ...] = (
    r"admin\d+", r"administrator\d*", r"root", r"sysadmin\d*", r"superuser\d*", r"itops",
    r"itadmin\d*", r"ops", r"webmaster", r"test\w*", r"support\d*", r"helpdesk\d*",
    r"servicedesk\d*", r"training\d*", r"trainer\d*", r"demo\w*", r"guest\d+", r"student\d*",
    r"teacher\d*", r"user\d+", r"temp\d*", r"shared\w*", r"office\d*", r"info", r"staff\d*",
    r"manager\d*", r"backup\d*", r"moodle\d*",
)  # fmt: skip
_GENERIC = [re.compile(pattern) for pattern in GENERIC_NAMES]
_EXTERNAL_MFA_NOTE = {"manual", "email", "nologin", "webservice"}


@dataclass(frozen=True)
class FlagContext:
    """What the rules need besides the entry: the audit time, thresholds and site facts."""

    now: int
    dormant_days: int
    grace_days: int
    login_window_days: int
    mfa_absent_reason: str | None  # why the site has no MFA to read (None: it has)
    mfa_enabled: bool
    strong_factors: frozenset[str]  # factors enabled on the site that prove possession
    roster_source: str | None  # None when no roster was given
    #: When the site was installed: the age of accounts whose timecreated Moodle left at 0.
    install_time: int = 0


def moment(timestamp: int | None) -> datetime | None:
    """A Unix time as an aware UTC datetime; Moodle's 0 ("never") as None."""
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def leave_timestamp(day: date) -> int:
    """Midnight UTC at the start of ``day``: when a leave date takes effect."""
    return int(datetime.combine(day, time(), UTC).timestamp())


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "never"


def account_state(user: UserRecord) -> str:
    """deleted, suspended, nologin, unconfirmed or active: only active accounts can log in."""
    if user.deleted:
        return "deleted"
    if user.suspended:
        return "suspended"
    if user.auth == "nologin":
        return "nologin"
    return "active" if user.confirmed else "unconfirmed"


def _last_use(entry: AccessEntry) -> tuple[int, str]:
    """The latest use of the account (login or token) and how it is described."""
    token_uses = [int(t.lastaccess.timestamp()) for t in entry.tokens if t.lastaccess]
    last_token = max(token_uses, default=0)
    last_login = int(entry.lastaccess.timestamp()) if entry.lastaccess else 0
    if last_token > last_login:
        return last_token, "last used a web-service token on"
    return last_login, "last accessed the site on"


def dormant(entry: AccessEntry, ctx: FlagContext) -> Flag | None:
    """An active account unused for longer than the policy's dormant_days."""
    last, how = _last_use(entry)
    if entry.state != "active" or not last or last >= ctx.now - ctx.dormant_days * DAY:
        return None
    days = (ctx.now - last) // DAY
    return Flag(
        code="dormant",
        reason=f"{entry.username} {how} {_day(moment(last))}, {days} days ago; accounts unused"
        f" for more than {ctx.dormant_days} days are dormant.",
    )


def never_logged_in(entry: AccessEntry, ctx: FlagContext) -> Flag | None:
    """An active account never used (nor its tokens) although older than the grace period."""
    # Moodle's installer leaves timecreated 0 (admin): the account is as old as the site.
    stored = int(entry.timecreated.timestamp()) if entry.timecreated else 0
    created = stored or ctx.install_time
    if entry.state != "active" or _last_use(entry)[0] or created > ctx.now - ctx.grace_days * DAY:
        return None
    installed = f"created at install, {_day(moment(created))}" if created else "created at install"
    when = f"created {_day(entry.timecreated)}" if stored else installed
    tokens = " and none of its web-service tokens has been used" if entry.tokens else ""
    return Flag(
        code="never_logged_in",
        reason=f"{entry.username} ({when}) has never logged in{tokens}.",
    )


def privileged_without_mfa(entry: AccessEntry, ctx: FlagContext) -> Flag | None:
    """A privileged, active account that signs in without a second factor proving possession.
    Sites without MFA tables (before 4.3, no tool_mfa plugin) get ``mfa_unknown`` instead."""
    if not entry.privileged or entry.state != "active":
        return None
    if ctx.mfa_absent_reason is not None:
        return Flag(
            code="mfa_unknown",
            reason=f"{ctx.mfa_absent_reason}, so whether privileged account {entry.username}"
            " uses a second factor cannot be read from the site.",
        )
    if entry.grants and all(grant.kind == "token" for grant in entry.grants):
        return _service_account(entry)
    external = (
        f" (auth {entry.auth}: confirm whether its identity provider enforces MFA)"
        if entry.auth not in _EXTERNAL_MFA_NOTE
        else ""
    )
    if not ctx.mfa_enabled:
        return Flag(
            code="privileged_without_mfa",
            reason=f"MFA is switched off on the site (tool_mfa/enabled), so privileged account"
            f" {entry.username} signs in with a password alone{external}.",
        )
    held = entry.mfa_factors or []
    if set(held) & ctx.strong_factors:
        return None
    shown = ", ".join(held) if held else "none"
    return Flag(
        code="privileged_without_mfa",
        reason=f"Privileged account {entry.username} holds no enabled factor that proves"
        f" possession (factors held: {shown}){external}.",
    )


def _service_account(entry: AccessEntry) -> Flag | None:
    """An account privileged only through web-service tokens is not a person: a second factor
    does not apply to it, but its password must not open an interactive session either."""
    if entry.auth == "webservice":
        return None  # auth_webservice refuses interactive logins; only tokens work
    tokens = len(entry.tokens) or sum(grant.kind == "token" for grant in entry.grants)
    logins = entry.interactive_logins
    used = (
        f", and it logged in interactively {logins} time(s) in the window"
        if logins
        else ", and it has not logged in interactively in the window"
        if logins == 0
        else ""
    )
    return Flag(
        code="privileged_without_mfa",
        reason=f"{entry.username} is a non-interactive service account: it is privileged only"
        f" through {tokens} web-service token(s){used}. A second factor does not apply to it,"
        f" but with auth {entry.auth} its password can still open an interactive session: enable"
        " auth_webservice and set the account's authentication to it, so that only its tokens"
        " work (auth nologin would refuse its tokens too).",
    )


def generic_name(entry: AccessEntry, ctx: FlagContext) -> Flag | None:
    """A shared or generic username, whose actions cannot be tied to one person."""
    name = re.sub(r"[._\-]", "", entry.username.lower().split("@")[0])
    pattern = next((p.pattern for p in _GENERIC if p.fullmatch(name)), None)
    if pattern is None:
        return None
    return Flag(
        code="generic_name",
        reason=f"Username {entry.username} looks like a shared or generic account (pattern"
        f" {pattern}), so its actions cannot be tied to one person.",
    )


def service_account_interactive(entry: AccessEntry, ctx: FlagContext) -> Flag | None:
    """A web-service token owner that also logs in through the web: a person uses it."""
    tokens = [g.key for g in entry.grants if g.kind == "token"]
    if not tokens or not entry.interactive_logins:
        return None
    return Flag(
        code="service_account_interactive",
        reason=f"{entry.username} owns web-service {', '.join(tokens).replace(':', ' ')} and"
        " also logged in"
        f" through the web {entry.interactive_logins} time(s) in the last"
        f" {ctx.login_window_days} days.",
    )


def orphaned(entry: AccessEntry, ctx: FlagContext) -> Flag | None:
    """Privileged access held by an account no one in the HR roster owns."""
    if ctx.roster_source is None or entry.roster is not None:
        return None
    if not entry.privileged or entry.state != "active":
        return None
    return Flag(
        code="orphaned",
        reason=f"Privileged account {entry.username} matches no row of the HR roster"
        f" {ctx.roster_source} by username or email.",
    )


def terminated(entry: AccessEntry, ctx: FlagContext) -> Flag | None:
    """An account still active although HR says its owner has left."""
    link = entry.roster
    if link is None or link.status != "left" or link.leave_date is None:
        return None
    left = leave_timestamp(link.leave_date)
    if entry.state != "active" or left > ctx.now:
        return None
    last = _last_use(entry)[0]
    used = f", and was used {(last - left) // DAY} days after leaving" if last >= left else ""
    return Flag(
        code="terminated",
        reason=f"HR roster line {link.line} says {entry.username} left on"
        f" {link.leave_date.isoformat()}, but the account is still active"
        f" {(ctx.now - left) // DAY} days later{used}.",
    )


def token_unrestricted(entry: AccessEntry, ctx: FlagContext) -> Flag | None:
    """A live privileged token usable from any address, or forever."""
    granted = {g.key for g in entry.grants if g.kind == "token"}
    problems = []
    for token in entry.tokens:
        if f"token:{token.id}" not in granted:
            continue
        missing = [
            text
            for text, gap in (
                ("no IP restriction", not token.iprestriction),
                ("no expiry", token.validuntil is None),
            )
            if gap
        ]
        if missing:
            problems.append(f"token {token.id} ({token.service}) has {' and '.join(missing)}")
    if not problems:
        return None
    return Flag(
        code="token_unrestricted",
        reason=f"Web-service access of {entry.username} is unrestricted: {'; '.join(problems)}.",
    )


FlagRule = Callable[["AccessEntry", FlagContext], "Flag | None"]
RULES: tuple[FlagRule, ...] = (
    dormant,
    never_logged_in,
    privileged_without_mfa,
    generic_name,
    service_account_interactive,
    orphaned,
    terminated,
    token_unrestricted,
)
#: Every flag code and what raises it (the report and docs/access-review.md list these).
FLAG_HELP: dict[str, str] = {
    "dormant": "Active account not used (login or token) for more than dormant_days.",
    "never_logged_in": "Active account never used although older than the grace period.",
    "privileged_without_mfa": "Privileged account without an enabled factor proving possession.",
    "mfa_unknown": "Privileged account on a site without MFA tables (before 4.3, no tool_mfa).",
    "generic_name": "Username looks shared or generic (admin2, itops, webmaster, test...).",
    "service_account_interactive": "Web-service token owner that also logs in through the web.",
    "orphaned": "Privileged account matching no row of the HR roster.",
    "terminated": "Account still active although the HR roster says its owner left.",
    "token_unrestricted": "Live privileged token without IP restriction or without expiry.",
    "role_creep": "Grants added since the previous review campaign (raised by 'review start').",
}
FLAG_CODES = tuple(FLAG_HELP)


def flags_for(entry: AccessEntry, ctx: FlagContext) -> list[Flag]:
    """Every flag the rules raise for ``entry``, in rule order."""
    return [flag for rule in RULES if (flag := rule(entry, ctx)) is not None]
