"""Privileged access: site administrators, Moodle's own role checks, and who holds risky roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import check
from moodle_soc.data.archetypes import ARCHETYPES, ArchetypeDefaults, defaults_for
from moodle_soc.results import Result, Severity, Status
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.site.roles import (
    CAP_ALLOW,
    MOODLE_RISKY_MASK,
    PRIVILEGED_MASK,
    RISK_PERSONAL,
    CorePermission,
    RoleRecord,
    risk_names,
)

DATA_DELETION = "tool/dataprivacy:requestdelete"
AUTHENTICATED_MASK = PRIVILEGED_MASK & ~RISK_PERSONAL
LEVELS = {10: "system", 30: "user", 40: "category", 50: "course", 70: "module", 80: "block"}
ROLES_PAGE = "Site administration > Users > Permissions > Define roles"


def _risks(mask: int, joiner: str = "or") -> str:
    """'RISK_CONFIG, RISK_XSS or RISK_DATALOSS' for a mask."""
    if not mask:
        return "no RISK_ flag"
    *rest, last = risk_names(mask)
    return f"{', '.join(rest)} {joiner} {last}" if rest else last


def _day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat() if timestamp else "unknown"


RISKY = _risks(MOODLE_RISKY_MASK)
TEACHING_ARCHETYPES = ("teacher", "editingteacher", "coursecreator", "manager")
ADMIN_FIELDS = ("id", "username", "auth", "suspended", "deleted", "lastaccess", "lastlogin")


@check(
    "access.site_admin_count_within_policy",
    severity=Severity.HIGH,
    title="Few site administrators",
    moodle_check="core_riskadmin",
    remediation="Site administration > Users > Permissions > Site administrators.",
)
def site_admin_count_within_policy(scan: ScanContext) -> Iterator[Result]:
    """Site administrators bypass every capability check, so each extra one widens the damage a
    stolen password can do.

    Stricter than Moodle: core_riskadmin only reports the number as info; we fail above the
    policy's max_site_admins.
    """
    admins = scan.site.accounts.site_admins()
    # Moodle's count (get_admins) skips ids without a live user row.
    live = [a.user for a in admins if a.user is not None and not a.user.deleted]
    names = ", ".join(u.username for u in live) or "none"
    yield Result.pass_if(
        len(live) <= scan.policy.max_site_admins,
        f"Setting siteadmins lists {len(live)} site administrator(s) ({names});"
        f" the policy allows at most {scan.policy.max_site_admins}.",
        resource="setting:siteadmins",
        observed={
            "siteadmins": [a.id for a in admins],
            "usernames": [u.username for u in live],
            "count": len(live),
        },
    )


@check(
    "access.site_admins_active",
    severity=Severity.HIGH,
    title="Site administrators are live, used accounts",
    remediation="Site administration > Users > Permissions > Site administrators.",
)
def site_admins_active(scan: ScanContext) -> Iterator[Result]:
    """An unused, suspended or missing administrator account is standing full access that
    nobody watches."""
    dormant_before = scan.site.days_ago(scan.policy.dormant_days)
    grace = scan.policy.never_logged_in_grace_days
    for admin in scan.site.accounts.site_admins():
        user = admin.user
        if user is None:
            missing = f"Site administrator id {admin.id} in siteadmins has no user row."
            yield Result.failed(missing, resource=f"user:{admin.id}", observed={"id": admin.id})
            continue
        dormant = f"has not been used for more than {scan.policy.dormant_days} days"
        # The same grace as every never-logged-in rule; timecreated 0 is the install's admin.
        created = scan.site.created_at(user.timecreated)
        new = user.never_logged_in and created > scan.site.days_ago(grace)
        never = f"has never logged in although created {_day(created)}, over {grace} days ago"
        checks = {
            "is deleted": user.deleted,
            "is suspended": user.suspended,
            "uses auth nologin": user.auth == "nologin",
            never: user.never_logged_in and not new,
            dormant: 0 < user.lastaccess < dormant_before,
        }
        problems = [text for text, flag in checks.items() if flag]
        last = _day(user.lastaccess) if user.lastaccess else "never"
        fresh = f"was created {_day(created)}, within the {grace}-day grace period"
        state = " and ".join(problems) if problems else fresh if new else "is active"
        yield Result.pass_if(
            not problems,
            f"Site administrator {user.username} (id {user.id}) {state} (last access: {last}).",
            resource=f"user:{user.id}",
            observed={
                **{key: getattr(user, key) for key in ADMIN_FIELDS},
                "timecreated": user.timecreated,
                "created": created,
            },
        )


@check(
    "access.xss_trusted_users_minimal",
    severity=Severity.MEDIUM,
    title="No users are trusted with XSS-risk capabilities",
    moodle_check="core_riskxss",
    remediation=f"{ROLES_PAGE}: remove RISK_XSS capabilities from roles that do not need them.",
)
def xss_trusted_users_minimal(scan: ScanContext) -> Iterator[Result]:
    """Users allowed RISK_XSS capabilities can plant scripts that run in other users' sessions."""
    count = scan.site.roles.xss_trusted_user_count()
    yield Result.pass_if(
        count == 0,
        f"Roles let {count} users use RISK_XSS capabilities"
        f" (Moodle: RISK_XSS - found {count} users that have to be trusted).",
        observed={"riskxss_users": count},
    )


@check(
    "access.user_data_backup_restricted",
    severity=Severity.MEDIUM,
    title="Few can back up user data",
    moodle_check="core_riskbackup",
    remediation=f"{ROLES_PAGE}: allow moodle/backup:userinfo only where needed.",
)
def user_data_backup_restricted(scan: ScanContext) -> Iterator[Result]:
    """A course backup with user data exports personal data and grades in one file."""
    counts = scan.site.roles.backup_userinfo_counts()
    yield Result.pass_if(
        counts.roles == counts.overrides == counts.users == 0,
        f"Capability moodle/backup:userinfo is allowed by {counts.roles} role(s) and"
        f" {counts.overrides} override(s) and held by {counts.users} user(s).",
        resource="capability:moodle/backup:userinfo",
        observed={"roles": counts.roles, "overrides": counts.overrides, "users": counts.users},
    )


def _missing_role(setting: str, roleid: int, severity: Severity) -> Result:
    status = Status.PASS if severity is Severity.LOW else Status.FAIL
    sentence = f"Setting {setting} is {roleid}, which is not an existing role."
    return Result(status, sentence, f"setting:{setting}", {setting: roleid}, severity)


def _role_check(
    site: MoodleSite,
    setting: str,
    label: str,
    allowed: tuple[str, ...] | None = None,
    ignore: tuple[str, ...] = (),
    missing: Severity = Severity.MEDIUM,
) -> Iterator[Result]:
    """Moodle's check of the role a setting names: its archetype must be one of ``allowed``
    (or, when None, not a teaching one) and it must allow no RISKY capability anywhere."""
    roleid = site.settings.int(setting)
    role = site.roles.role(roleid)
    if role is None:
        yield _missing_role(setting, roleid, missing)
        return
    count = site.roles.risky_context_count(role.id, MOODLE_RISKY_MASK, ignore)
    observed: dict[str, object] = {setting: roleid, "risky_contexts": count, **asdict(role)}
    fits = role.archetype in allowed if allowed else role.archetype not in TEACHING_ARCHETYPES
    problems = [] if fits else [f"has archetype '{role.archetype}'"]
    if count:
        caps = site.roles.role_allowed_risky_capabilities(role.id, MOODLE_RISKY_MASK)
        names = [c.capability for c in caps if c.capability not in ignore]
        observed["capabilities"] = names
        shown = f", at system level {', '.join(names[:5])}" if names else ""
        problems.append(f"allows {RISKY} capabilities in {count} context(s){shown}")
    state = " and ".join(problems) or f"allows no {RISKY} capability"
    yield Result.pass_if(
        not problems,
        f"{label} {role.shortname} (id {role.id}, setting {setting}) {state}.",
        resource=f"role:{role.shortname}",
        observed=observed,
    )


def _deletion_exempt(site: MoodleSite) -> tuple[str, ...]:
    # Moodle 4.x+ ignores requestdelete while data deletion still needs a DPO's approval.
    approval = site.settings.flag("automaticdatadeletionapproval", "tool_dataprivacy")
    return (DATA_DELETION,) if site.version.at_least("4.0") and not approval else ()


@check(
    "access.default_user_role_safe",
    severity=Severity.CRITICAL,
    title="The authenticated user role is defined safely",
    moodle_check="core_defaultuserrole",
    remediation=f"{ROLES_PAGE} > Authenticated user: reset it to the 'user' archetype.",
)
def default_user_role_safe(scan: ScanContext) -> Iterator[Result]:
    """Every logged-in user gets the default user role, so a risky capability there is
    everyone's."""
    label, exempt = "Default role for all users", _deletion_exempt(scan.site)
    yield from _role_check(scan.site, "defaultuserroleid", label, ("", "user"), exempt)


@check(
    "access.guest_role_safe",
    severity=Severity.CRITICAL,
    title="The guest role is defined safely",
    moodle_check="core_guestrole",
    remediation=f"{ROLES_PAGE} > Guest: reset it to the 'guest' archetype.",
)
def guest_role_safe(scan: ScanContext) -> Iterator[Result]:
    """Anyone who can reach the site can act as guest, so a risky guest capability is public."""
    yield from _role_check(scan.site, "guestroleid", "Guest role", ("", "guest"))


@check(
    "access.frontpage_role_safe",
    severity=Severity.CRITICAL,
    title="The site home role is defined safely",
    moodle_check="core_frontpagerole",
    remediation="Site administration > Front page > Site home settings > Default site home role.",
)
def frontpage_role_safe(scan: ScanContext) -> Iterator[Result]:
    """Every user gets the site home role on the front page, so it must not be a teaching or
    managing role."""
    yield from _role_check(
        scan.site, "defaultfrontpageroleid", "Site home role", missing=Severity.LOW
    )


@check(
    "access.system_role_holders_approved",
    severity=Severity.MEDIUM,
    title="Only approved users hold privileged roles at system level",
    remediation="Site administration > Users > Permissions > Assign system roles.",
)
def system_role_holders_approved(scan: ScanContext) -> Iterator[Result]:
    """A privileged role at system (or category) level reaches every course below it, so each
    holder needs a recorded approval."""
    holders = scan.site.roles.system_role_holders(PRIVILEGED_MASK)
    if not holders:
        yield Result.passed("No user holds a privileged role at system or category level.")
    given = scan.policy.approved_system_role_holders
    approved = set(given or ())
    for holder in holders:
        user, role = holder.user, holder.role
        category = f"category level (category id {holder.instanceid})"
        scope = f"at {category if holder.at_category else 'system level'}"
        listed = user.username in approved
        held = f"User {user.username} (id {user.id}) holds role {role.shortname} {scope}"
        seen = {
            "username": user.username,
            "roleid": role.id,
            "shortname": role.shortname,
            "contextid": holder.contextid,
            "contextlevel": holder.contextlevel,
            "riskbitmask": holder.risk_mask,
        }
        if given is None:
            # No list of approvals is no evidence either way: only the approval decides.
            yield Result.manual(
                f"{held}; no approved list was given, so confirm its approval or list the"
                " approved usernames in moodle-soc.yaml (policy.approved_system_role_holders).",
                resource=f"user:{user.id}",
                observed=seen,
            )
            continue
        yield Result.pass_if(
            listed,
            f"{held} and {'is' if listed else 'is not'} in the approved list.",
            resource=f"user:{user.id}",
            observed=seen,
        )


@check(
    "access.role_overrides_not_risky",
    severity=Severity.HIGH,
    title="Role overrides do not grant risky capabilities",
    remediation="Course or category > Permissions: set the overridden capability back to Inherit.",
)
def role_overrides_not_risky(scan: ScanContext) -> Iterator[Result]:
    """An override that grants a risky capability in one course hides privilege outside the
    role definitions that reviewers read."""
    definitions: dict[int, set[str]] = {}
    found = False
    for row in scan.site.roles.risky_overrides(MOODLE_RISKY_MASK):
        if row.roleid not in definitions:
            caps = scan.site.roles.role_allowed_risky_capabilities(row.roleid, MOODLE_RISKY_MASK)
            definitions[row.roleid] = {c.capability for c in caps}
        if row.capability in definitions[row.roleid]:
            continue
        found = True
        where = f"{LEVELS.get(row.contextlevel, 'context')} {row.instanceid}"
        yield Result.failed(
            f"Role {row.shortname} is overridden in context {row.contextid} ({where}) to allow"
            f" {row.capability} ({_risks(row.riskbitmask, 'and')}), which its"
            " definition does not allow.",
            resource=f"role_override:{row.id}",
            observed={**asdict(row), "permission": 1},
        )
    if not found:
        yield Result.passed(f"No role override allows a {RISKY} capability beyond its role.")


@check(
    "access.authenticated_role_not_risky",
    severity=Severity.HIGH,
    title="Authenticated users get no risky capabilities",
    remediation=f"{ROLES_PAGE} > Authenticated user: set the capability to Not set.",
)
def authenticated_role_not_risky(scan: ScanContext) -> Iterator[Result]:
    """Whatever the authenticated user role allows, every account on the site can do.

    The mask is RISK_MANAGETRUST, RISK_CONFIG, RISK_XSS and RISK_DATALOSS: RISK_PERSONAL is left
    out because a default Moodle install allows several RISK_PERSONAL capabilities to all users
    (moodle/rating:viewall, moodle/comment:post, moodle/webservice:createmobiletoken), and
    tool/dataprivacy:requestdelete is exempt while deletion needs approval, as in Moodle.
    """
    roleid = scan.site.settings.int("defaultuserroleid")
    role = scan.site.roles.role(roleid)
    if role is None:
        yield _missing_role("defaultuserroleid", roleid, Severity.MEDIUM)
        return
    exempt = _deletion_exempt(scan.site)
    caps = scan.site.roles.role_allowed_risky_capabilities(role.id, AUTHENTICATED_MASK)
    risky = [c for c in caps if c.capability not in exempt]
    for cap in risky:
        yield Result.failed(
            f"Authenticated user role {role.shortname} allows {cap.capability}"
            f" ({_risks(cap.riskbitmask, 'and')}) to every user.",
            resource=f"role:{role.shortname}",
            observed={"capability": cap.capability, "riskbitmask": cap.riskbitmask},
        )
    if not risky:
        yield Result.passed(
            f"Authenticated user role {role.shortname} allows no"
            f" {_risks(AUTHENTICATED_MASK)} capability at system level.",
            resource=f"role:{role.shortname}",
            observed={"defaultuserroleid": roleid},
        )


CAP_PROHIBIT = -1000
PERMISSION_NAMES = {1: "Allow", -1: "Prevent", -1000: "Prohibit", 0: "Not set"}
DEFINE_ROLE = "admin/roles/define.php?action={action}&roleid={roleid}"


@check(
    "access.role_definitions_match_archetypes",
    severity=Severity.HIGH,
    title="Standard roles grant no core capability beyond their archetype's defaults",
    remediation=f"{ROLES_PAGE} > the role > Reset to its archetype's defaults, or set each added"
    " capability back to Not set.",
)
def role_definitions_match_archetypes(scan: ScanContext) -> Iterator[Result]:
    """A capability added to Student, Guest or Authenticated user beyond what the archetype grants
    reaches every holder of that role, hidden among defaults reviewers assume are stock.

    Compared with Moodle core's defaults for the site's branch (``data/archetypes.yaml``, read
    from ``lib/db/access.php``; the nearest earlier branch when the site's own has no data).
    Every capability allowed beyond the defaults fails, with or without a RISK_ flag (showing
    every user's identity fields carries none); a write capability or one with a RISK_ flag is
    high, a read-only one with no flag medium. A Prohibit the archetype sets that the role
    dropped fails too. A capability an upgrade cloned from one the archetype allows counts as
    granted. Limits: only core (``moodle/*``) capabilities are judged, since a plugin's
    defaults live in its own ``db/access.php``, which the tool does not ship; roles with no
    archetype (custom roles) have nothing to compare with and are left to the RISK_ checks.
    """
    defaults = defaults_for(scan.site.version.label)
    if defaults is None:
        yield Result.manual(f"No archetype defaults are shipped for {scan.site.version.label}.")
        return
    rows: dict[int, list[CorePermission]] = {}
    for row in scan.site.roles.archetype_role_definitions():
        rows.setdefault(row.roleid, []).append(row)
    judged = [r for r in scan.site.roles.roles() if r.archetype in ARCHETYPES]
    for role in judged:
        yield from _archetype_drift(scan, role, rows.get(role.id, []), defaults)
    if not judged:
        yield Result.passed("No role has a standard archetype to compare with.")


def _archetype_drift(
    scan: ScanContext, role: RoleRecord, rows: list[CorePermission], defaults: ArchetypeDefaults
) -> Iterator[Result]:
    archetype, source = role.archetype, defaults.source
    name = (
        f"{scan.site.roles.display_name(role.id, role.shortname)} ({role.shortname}, id {role.id})"
    )
    band = f"Moodle {defaults.branch} ({source.release}, {source.repository}@{source.commit[:12]})"
    reset = DEFINE_ROLE.format(action="reset", roleid=role.id)
    edit = DEFINE_ROLE.format(action="edit", roleid=role.id)
    allowed = [r for r in rows if r.permission == CAP_ALLOW]
    added = [
        r
        for r in allowed
        if r.capability in defaults.known and not defaults.allows(archetype, r.capability)
    ]
    permission = {r.capability: r.permission for r in rows}
    present = scan.site.roles.core_capability_names()
    dropped = sorted(
        cap
        for cap in defaults.prohibit[archetype] & present
        if permission.get(cap, 0) != CAP_PROHIBIT
    )
    seen = {
        "roleid": role.id,
        "shortname": role.shortname,
        "archetype": archetype,
        "defaults_branch": defaults.branch,
        "site_branch": scan.site.version.label,
        "not_judged": sorted(r.capability for r in allowed if r.capability not in defaults.known),
    }
    fix = (
        f"Reset the role to its archetype at {reset} (this also drops its other local changes),"
        f" or set the capability back to Not set at {edit}."
    )
    for row in added:
        risky = row.captype == "write" or row.riskbitmask != 0
        yield Result.failed(
            f"Role {name} allows {row.capability} ({row.captype},"
            f" {_risks(row.riskbitmask, 'and')}), which the '{archetype}' archetype does not"
            f" grant in {band}.",
            resource=f"role:{role.shortname}",
            observed={
                **seen,
                "capability": row.capability,
                "captype": row.captype,
                "riskbitmask": row.riskbitmask,
            },
            severity=None if risky else Severity.MEDIUM,
        ).with_fix(remediation=fix)
    for cap in dropped:
        current = PERMISSION_NAMES.get(permission.get(cap, 0), str(permission.get(cap)))
        yield Result.failed(
            f"Role {name} has {cap} at {current}, but the '{archetype}' archetype prohibits it"
            f" in {band}.",
            resource=f"role:{role.shortname}",
            observed={**seen, "capability": cap, "permission": permission.get(cap, 0)},
        ).with_fix(remediation=f"Set {cap} to Prohibit at {edit}, or reset the role at {reset}.")
    if not added and not dropped:
        yield Result.passed(
            f"Role {name} allows no core capability beyond the '{archetype}' archetype in {band}.",
            resource=f"role:{role.shortname}",
            observed=seen,
        )
