"""The access inventory: every account with privileged access, why it has it, and its risks.

Each entry has a stable ``key`` (``user:<id>``) and a list of grants, each a stable string:
``siteadmin``, ``role:<shortname>@<place>``, ``override:<role_capabilities id>``,
``loginas@<place>`` and ``token:<id>``, where a place is ``system``, ``category:<id>``,
``course:<id>``, ``module:<id>``, ``user:<id>``, ``block:<id>`` or ``context:<id>``. A review
campaign can snapshot ``model_dump(mode="json")`` and diff the grants later (role creep).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from moodle_soc.inventory.flags import FlagContext, account_state, flags_for, moment
from moodle_soc.inventory.roster import reconcile
from moodle_soc.models.access import (
    INCOMPLETE,
    AccessEntry,
    AccessInventory,
    Grant,
    GrantKind,
    Scope,
    TokenInfo,
)
from moodle_soc.models.roster import Roster
from moodle_soc.site.privileges import LOCAL_PRIVILEGED_MASK
from moodle_soc.site.roles import PRIVILEGED_MASK, risk_names

if TYPE_CHECKING:
    from moodle_soc.policy import Policy
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.site.people import Person
    from moodle_soc.site.webservices import TokenRecord

LOGIN_AS_RISK = 30  # moodle/user:loginas: RISK_CONFIG | RISK_XSS | RISK_PERSONAL | RISK_SPAM


def _token(t: TokenRecord, now: int, service: tuple[bool, int, tuple[str, ...]]) -> TokenInfo:
    custom, functions, sample = service
    until = t.validuntil or None
    return TokenInfo(
        id=t.id,
        name=t.name,
        service=t.service,
        service_enabled=t.service_enabled,
        custom_service=custom,
        functions=functions,
        function_sample=list(sample),
        iprestriction=t.iprestriction,
        validuntil=moment(until),
        expired=bool(until and until <= now),
        lastaccess=moment(t.lastaccess),
        creatorid=t.creatorid,
    )


class _Collector:
    """Grants per user id, first one per key wins."""

    def __init__(self) -> None:
        self.grants: dict[int, dict[str, Grant]] = {}
        self.notes: list[str] = []

    def add(self, userid: int, key: str, kind: GrantKind, place: str, mask: int, text: str) -> None:
        grant = Grant(key=key, kind=kind, context=place, risks=risk_names(mask), summary=text)
        self.grants.setdefault(userid, {}).setdefault(key, grant)

    def cut(self, truncated: bool, what: str, limit: int) -> None:
        if truncated:
            self.notes.append(f"Only the first {limit} {what} were read; {INCOMPLETE}.")


def _collect(site: MoodleSite, got: _Collector, course_roles: bool) -> None:
    """Grants of site-wide power; course-level risky roles only when ``course_roles``."""
    privileges = site.privileges
    for uid in site.site_admin_ids:
        text = "Site administrator (siteadmins setting): bypasses every capability check"
        got.add(uid, "siteadmin", "siteadmin", "system", PRIVILEGED_MASK, text)
    assignments = privileges.risky_assignments(
        local_mask=LOCAL_PRIVILEGED_MASK if course_roles else 0
    )
    overrides = privileges.override_grants()
    holders = privileges.login_as_holders()
    places = [row.place for rows in (assignments, overrides, holders) for row in rows.rows]
    at = privileges.place_names(places)
    role = site.roles.display_name
    got.cut(assignments.truncated, "risky role assignments", len(assignments.rows))
    for a in assignments.rows:
        via = f" (assigned by {a.component})" if a.component else ""
        key = f"role:{a.shortname}@{a.place.label}"
        text = f"{role(a.roleid, a.shortname)} at {at[a.place.contextid]}"
        got.add(a.userid, key, "role", a.place.label, a.risk_mask, text + via)
    got.cut(overrides.truncated, "users reached by risky overrides", len(overrides.rows))
    for o in overrides.rows:
        text = (
            f"Override of {o.capability} for {role(o.roleid, o.shortname)}"
            f" at {at[o.place.contextid]}"
        )
        got.add(
            o.userid, f"override:{o.override_id}", "override", o.place.label, o.riskbitmask, text
        )
    got.cut(holders.truncated, "'log in as' holders", len(holders.rows))
    for h in holders.rows:
        text = (
            f"May log in as other users at {at[h.place.contextid]}"
            f" (role {role(h.roleid, h.shortname)})"
        )
        got.add(h.userid, f"loginas@{h.place.label}", "loginas", h.place.label, LOGIN_AS_RISK, text)


def _tokens(site: MoodleSite, got: _Collector) -> dict[int, list[TokenInfo]]:
    """Permanent tokens per owner; live ones become grants when they reach beyond the owner's
    own self-service (a custom service, made by someone else, or owned by a privileged user)."""
    if not site.webservices.has_tokens:
        return {}
    services = site.privileges.token_services()
    owned: dict[int, list[TokenInfo]] = {}
    for t in site.webservices.tokens():
        if t.embedded:
            continue
        svc = services.get(t.id)
        info = _token(
            t, site.now, (svc.custom, svc.functions, svc.sample) if svc else (True, 0, ())
        )
        owned.setdefault(t.userid, []).append(info)
        privileged = info.custom_service or t.creatorid != t.userid or t.userid in got.grants
        if privileged and not info.expired:
            text = f"Web-service token {t.id} for service {t.service} ({info.functions} functions)"
            got.add(t.userid, f"token:{t.id}", "token", "system", 0, text)
    return owned


def build_inventory(
    site: MoodleSite,
    policy: Policy,
    *,
    scope: Scope = "privileged",
    roster: Roster | None = None,
) -> AccessInventory:
    """Read the site's privileged accounts (or every account) with grants, state and flags."""
    people = site.people
    got = _Collector()
    course_roles = policy.privileged_course_roles
    _collect(site, got, course_roles)
    tokens = _tokens(site, got)
    # Users and factors are read joined against the grant holders in SQL: one query each,
    # however many privileged users the site has (never id batches from Python).
    holders = site.privileges.holder_ids(LOCAL_PRIVILEGED_MASK if course_roles else 0)
    persons = {uid: p for uid, p in people.within(holders).items() if uid in got.grants}
    if scope == "all":
        persons.update((p.user.id, p) for p in people.everyone())
    missing = sorted(set(got.grants) - set(persons))
    if missing:
        got.notes.append(f"Grants name user id(s) {missing} without a user row; not listed.")
    ids = sorted(persons)
    mfa = site.mfa
    factors = None
    if mfa.available:
        factors = mfa.factors_within(None if scope == "all" else holders)
    since = site.days_ago(policy.dormant_days)
    owners = [
        uid for uid in ids if any(g.kind == "token" for g in got.grants.get(uid, {}).values())
    ]
    logins = people.interactive_logins(owners, since) if people.has_log else {}
    login_as = people.login_as_use(since) if people.has_log else None
    if login_as is not None:
        got.cut(login_as.truncated, "users' 'log in as' session counts", len(login_as.rows))
    uses = {use.userid: use.sessions for use in login_as.rows} if login_as else {}
    reconciliation = reconcile(site, roster) if roster is not None else None
    strong = frozenset(f for f in mfa.enabled_factors if f not in policy.weak_mfa_factors)
    context = FlagContext(
        now=site.now,
        dormant_days=policy.dormant_days,
        grace_days=policy.never_logged_in_grace_days,
        login_window_days=policy.dormant_days,
        mfa_absent_reason=mfa.absent_reason if not mfa.available else None,
        mfa_enabled=mfa.enabled,
        strong_factors=strong,
        roster_source=roster.source if roster is not None else None,
        install_time=site.install_time,
    )
    entries, guest = [], site.settings.int("siteguest", default=1)
    for uid in ids:
        granted = list(got.grants.get(uid, {}).values())
        entry = _entry(persons[uid], granted, tokens.get(uid, []), guest)
        entry.mfa_factors = factors.get(uid, []) if factors is not None else None
        entry.interactive_logins = (
            logins[uid].count if uid in logins else (0 if uid in owners else None)
        )
        entry.login_as_sessions = uses.get(uid, 0)
        entry.roster = reconciliation.link_for(uid) if reconciliation else None
        entry.flags = flags_for(entry, context)
        entries.append(entry)
    counts = Counter(flag.code for entry in entries for flag in entry.flags)
    return AccessInventory(
        site=site.identity.name,
        wwwroot=site.wwwroot,
        moodle=site.version.describe(),
        audit_time=site.audit_time,
        scope=scope,
        entries=entries,
        flag_counts=dict(sorted(counts.items())),
        thresholds={
            "dormant_days": policy.dormant_days,
            "login_window_days": policy.dormant_days,
            "never_logged_in_grace_days": policy.never_logged_in_grace_days,
            "privileged_course_roles": int(policy.privileged_course_roles),
        },
        mfa=_mfa_sentence(site, strong),
        roster=reconciliation,
        notes=got.notes,
    )


def _entry(person: Person, grants: list[Grant], tokens: list[TokenInfo], guest: int) -> AccessEntry:
    user = person.user
    # The guest account (setting siteguest) is not a login of a person: no lifecycle flags.
    state = "guest" if user.id == guest and not user.deleted else account_state(user)
    return AccessEntry(
        key=f"user:{user.id}",
        userid=user.id,
        username=user.username,
        fullname=person.fullname,
        email=person.email,
        auth=user.auth,
        state=state,
        siteadmin=any(g.kind == "siteadmin" for g in grants),
        privileged=bool(grants),
        grants=grants,
        tokens=tokens,
        mfa_factors=None,
        firstaccess=moment(user.firstaccess),
        lastaccess=moment(user.lastaccess),
        last_login=moment(user.currentlogin or user.lastlogin),
        timecreated=moment(user.timecreated),
        lastip=user.lastip,
        interactive_logins=None,
        login_as_sessions=0,
    )


def _mfa_sentence(site: MoodleSite, strong: frozenset[str]) -> str:
    mfa = site.mfa
    if not mfa.available:
        return f"{mfa.absent_reason or 'The site has no MFA tables'}."
    if not mfa.enabled:
        return "MFA (tool_mfa) is installed but switched off."
    shown = ", ".join(sorted(strong)) or "none"
    return f"MFA is on; enabled factors that prove possession: {shown}."
