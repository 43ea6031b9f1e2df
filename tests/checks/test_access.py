"""Privileged-access checks, each against a synthetic site named by its expected outcome."""

from __future__ import annotations

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import get_check
from moodle_soc.policy import Policy
from moodle_soc.results import Result, Severity
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
DAY = 86400
TRUST = "moodle/site:trustcontent"
DELETION_APPROVAL = ("automaticdatadeletionapproval", 1, "tool_dataprivacy")


def run(check_id: str, builder, make_site, policy: Policy | None = None) -> list[Result]:
    return list(get_check(check_id).run(ScanContext(make_site(builder), policy or Policy())))


def admins(builder: SiteBuilder, *names: str) -> None:
    ids = [builder.user(name, lastaccess=NOW - DAY) for name in names]
    builder.setting("siteadmins", ",".join(map(str, ids)))


ADMIN_COUNTS = {"one_admin": (("root",), "pass"), "three_admins": (("a", "b", "c"), "fail")}


@pytest.mark.parametrize(("names", "status"), ADMIN_COUNTS.values(), ids=ADMIN_COUNTS)
def test_site_admin_count_within_policy(builder, make_site, names, status):
    admins(builder, *names)
    (result,) = run("access.site_admin_count_within_policy", builder, make_site)
    assert (result.status, result.resource) == (status, "setting:siteadmins")
    assert f"lists {len(names)} site administrator(s) ({', '.join(names)})" in result.reason
    assert result.observed["count"] == len(names)


ADMIN_RECORDS = {
    "active_admin": ({"lastaccess": NOW - DAY}, "pass", "is active (last access: 2026-11-28)"),
    "dormant_admin": ({"lastaccess": NOW - 200 * DAY}, "fail", "not been used for more than 90"),
    "never_logged_in_admin": (
        {"timecreated": NOW - 60 * DAY},
        "fail",
        "has never logged in although created 2026-09-30, over 30 days ago (last access: never)",
    ),
    "new_admin_in_grace": (
        {"timecreated": NOW - 3600},
        "pass",
        "was created 2026-11-29, within the 30-day grace period (last access: never)",
    ),
    "suspended_admin": ({"lastaccess": NOW, "suspended": 1}, "fail", "is suspended"),
    "nologin_admin": ({"lastaccess": NOW, "auth": "nologin"}, "fail", "uses auth nologin"),
    "deleted_admin": ({"lastaccess": NOW, "deleted": 1}, "fail", "is deleted"),
}


@pytest.mark.parametrize("record", ADMIN_RECORDS)
def test_site_admins_active(builder, make_site, record):
    fields, status, needle = ADMIN_RECORDS[record]
    uid = builder.user("root", **fields)
    builder.setting("siteadmins", str(uid))
    (result,) = run("access.site_admins_active", builder, make_site)
    assert (result.status, result.resource) == (status, f"user:{uid}")
    assert f"root (id {uid})" in result.reason and needle in result.reason


@pytest.mark.parametrize(
    ("installed", "status", "needle"),
    [
        pytest.param(NOW - 3600, "pass", "was created 2026-11-29, within", id="fresh_install"),
        pytest.param(NOW - 400 * DAY, "fail", "although created 2025-10-25", id="old_install"),
    ],
)
def test_the_installers_admin_is_as_old_as_the_site(builder, make_site, installed, status, needle):
    # Moodle's installer leaves the admin's timecreated at 0: the front page dates the install.
    builder.update("course", 1, timecreated=installed)
    (result,) = run("access.site_admins_active", builder, make_site)
    assert (result.status, result.resource) == (status, "user:2")
    assert result.observed["timecreated"] == 0 and result.observed["created"] == installed
    assert needle in result.reason
    (never,) = run("accounts.never_logged_in_accounts_reviewed", builder, make_site)
    assert never.observed["never_logged_in"] == (status == "fail")


def test_site_admins_active_fails_an_id_without_user_row(builder, make_site):
    builder.setting("siteadmins", "404")
    (result,) = run("access.site_admins_active", builder, make_site)
    assert (result.status, result.resource) == ("fail", "user:404")
    assert "id 404 in siteadmins has no user row" in result.reason


def no_trusted_users(b: SiteBuilder) -> None:
    pass


def editing_teacher_in_course(b: SiteBuilder) -> None:
    b.assign_role(b.user("teacher"), "editingteacher", b.course("c1")[1])


@pytest.mark.parametrize(
    ("setup", "status", "count"),
    [(no_trusted_users, "pass", 0), (editing_teacher_in_course, "fail", 1)],
)
def test_xss_trusted_users_minimal(builder, make_site, setup, status, count):
    setup(builder)
    (result,) = run("access.xss_trusted_users_minimal", builder, make_site)
    assert result.status == status and result.observed == {"riskxss_users": count}
    assert f"RISK_XSS - found {count} users that have to be trusted" in result.reason


def nobody_backs_up_user_data(b: SiteBuilder) -> None:
    b.allow("manager", "moodle/backup:userinfo", permission=0)


def support_manager_backs_up_user_data(b: SiteBuilder) -> None:
    b.assign_role(b.user("support"), "manager")


@pytest.mark.parametrize(
    ("setup", "status", "counts"),
    [
        (nobody_backs_up_user_data, "pass", (0, 0, 0)),
        (support_manager_backs_up_user_data, "fail", (1, 0, 1)),
    ],
)
def test_user_data_backup_restricted(builder, make_site, setup, status, counts):
    setup(builder)
    (result,) = run("access.user_data_backup_restricted", builder, make_site)
    assert result.status == status and tuple(result.observed.values()) == counts
    roles, overrides, users = counts
    needle = f"by {roles} role(s) and {overrides} override(s) and held by {users} user(s)"
    assert needle in result.reason


ROLE_DEFINITIONS = {
    "default_user_role_default": ("default_user", lambda b: None, "pass", "user", "allows no"),
    "user_trusted": ("default_user", lambda b: b.allow("user", TRUST), "fail", "user", "1 context"),
    "user_deletion_auto_approved": (
        "default_user", lambda b: b.setting(*DELETION_APPROVAL), "fail", "user", "1 context"
    ),
    "user_is_manager": (
        "default_user", lambda b: b.update("role", 7, archetype="manager"), "fail", "user",
        "has archetype 'manager'",
    ),
    "guest_default": ("guest", lambda b: None, "pass", "guest", "allows no"),
    "guest_trusted_in_course": (
        "guest", lambda b: b.allow("guest", TRUST, b.course("c")[1]), "fail", "guest", "1 context"
    ),
    "frontpage_default": ("frontpage", lambda b: None, "pass", "frontpage", "allows no"),
    "frontpage_is_teacher": (
        "frontpage", lambda b: b.setting("defaultfrontpageroleid", 3), "fail", "editingteacher",
        "has archetype 'editingteacher'",
    ),
}  # fmt: skip


@pytest.mark.parametrize("record", ROLE_DEFINITIONS)
def test_moodle_role_definition_checks(builder, make_site, record):
    check, setup, status, shortname, needle = ROLE_DEFINITIONS[record]
    setup(builder)
    (result,) = run(f"access.{check}_role_safe", builder, make_site)
    assert (result.status, result.resource, result.severity) == (status, f"role:{shortname}", None)
    assert f"{shortname} (id" in result.reason and needle in result.reason


@pytest.mark.parametrize(
    ("check", "setting", "status", "severity"),
    [
        ("default_user", "defaultuserroleid", "fail", Severity.MEDIUM),
        ("guest", "guestroleid", "fail", Severity.MEDIUM),
        ("frontpage", "defaultfrontpageroleid", "pass", Severity.LOW),
    ],
)
def test_role_checks_on_a_missing_role(builder, make_site, check, setting, status, severity):
    builder.setting(setting, 99)
    (result,) = run(f"access.{check}_role_safe", builder, make_site)
    assert (result.status, result.severity) == (status, severity)
    assert result.resource == f"setting:{setting}" and f"{setting} is 99" in result.reason


@pytest.mark.parametrize(
    ("approved", "status", "needle"),
    [
        pytest.param((), "fail", "at system level and is not in", id="support_manager_at_system"),
        pytest.param(("support",), "pass", "at system level and is in", id="approved_support"),
        pytest.param(
            None,
            "manual",
            "at system level; no approved list was given, so confirm its approval or list the"
            " approved usernames in moodle-soc.yaml (policy.approved_system_role_holders).",
            id="no_list_given",
        ),
    ],
)
def test_system_role_holders_approved(builder, make_site, approved, status, needle):
    uid = builder.user("support")
    builder.assign_role(uid, "manager")
    policy = Policy(approved_system_role_holders=approved)
    (result,) = run("access.system_role_holders_approved", builder, make_site, policy)
    assert (result.status, result.resource) == (status, f"user:{uid}")
    assert (
        f"User support (id {uid}) holds role manager" in result.reason and needle in result.reason
    )


def test_system_role_holders_approved_passes_without_holders(builder, make_site):
    (result,) = run("access.system_role_holders_approved", builder, make_site)
    assert (result.status, result.resource) == ("pass", "site")


@pytest.mark.parametrize(
    ("role", "status"),
    [
        pytest.param("student", "fail", id="student_trusted_in_course"),
        pytest.param("editingteacher", "pass", id="override_already_in_definition"),
    ],
)
def test_role_overrides_not_risky(builder, make_site, role, status):
    _course, ctx = builder.course("c1")
    override = builder.allow(role, TRUST, ctx)
    (result,) = run("access.role_overrides_not_risky", builder, make_site)
    expected = f"role_override:{override}" if status == "fail" else "site"
    assert (result.status, result.resource) == (status, expected)
    if status == "fail":
        assert f"Role student is overridden in context {ctx} (course 2)" in result.reason
        assert f"to allow {TRUST} (RISK_XSS)" in result.reason


AUTHENTICATED_ROLES = {
    "default_install": (lambda b: None, "pass", "allows no RISK_MANAGETRUST, RISK_CONFIG"),
    "user_can_configure": (lambda b: b.allow("user", "moodle/site:config"), "fail", "site:config"),
    "deletion_auto_approved": (lambda b: b.setting(*DELETION_APPROVAL), "fail", "requestdelete"),
}


@pytest.mark.parametrize("record", AUTHENTICATED_ROLES)
def test_authenticated_role_not_risky(builder, make_site, record):
    setup, status, needle = AUTHENTICATED_ROLES[record]
    setup(builder)
    (result,) = run("access.authenticated_role_not_risky", builder, make_site)
    assert (result.status, result.resource) == (status, "role:user")
    assert needle in result.reason


ARCHETYPE_CHECK = "access.role_definitions_match_archetypes"
ROLE_NAMES = ("manager", "coursecreator", "editingteacher", "teacher", "student", "guest", "user",
              "frontpage")  # fmt: skip


@pytest.mark.parametrize("release", ["3.9", "4.1", "4.5", "5.1"])
def test_a_default_install_matches_its_archetypes(make_site, release):
    results = list(
        get_check(ARCHETYPE_CHECK).run(ScanContext(make_site(SiteBuilder(release=release))))
    )
    assert [(r.status, r.resource) for r in results] == [("pass", f"role:{n}") for n in ROLE_NAMES]
    student = results[4]
    assert student.reason.startswith(
        f"Role Student (student, id 5) allows no core capability beyond the 'student' archetype"
        f" in Moodle {release} ("
    )
    assert student.observed["defaults_branch"] == student.observed["site_branch"] == release


PLANTED = {
    # (role, capability, severity of the finding, words about the capability)
    "student_sees_all_grades": ("student", "moodle/grade:viewall", None, "(read, RISK_PERSONAL)"),
    "student_in_all_groups": (
        "student", "moodle/site:accessallgroups", Severity.MEDIUM, "(read, no RISK_ flag)"
    ),
    "user_trusted": ("user", TRUST, None, "(write, RISK_XSS)"),
}  # fmt: skip


@pytest.mark.parametrize("record", PLANTED)
def test_a_capability_added_beyond_the_archetype_fails_until_removed(builder, make_site, record):
    role, capability, severity, words = PLANTED[record]
    roleid = builder.role_id(role)
    builder.allow(role, capability)
    failed = [r for r in run(ARCHETYPE_CHECK, builder, make_site) if r.status == "fail"]
    assert [(r.resource, r.severity, r.observed["capability"]) for r in failed] == [
        (f"role:{role}", severity, capability)
    ]
    assert (
        f"({role}, id {roleid}) allows {capability} {words}, which the '{role}' archetype does"
        in (failed[0].reason)
    )
    assert "not grant in Moodle 5.1 (5.1+ (Build: 20251017), train2023-31/moodle@" in (
        failed[0].reason
    )
    assert failed[0].remediation == (
        f"Reset the role to its archetype at admin/roles/define.php?action=reset&roleid={roleid}"
        " (this also drops its other local changes), or set the capability back to Not set at"
        f" admin/roles/define.php?action=edit&roleid={roleid}."
    )
    builder.unset(role, capability)
    assert {r.status for r in run(ARCHETYPE_CHECK, builder, make_site)} == {"pass"}


def test_a_prevent_or_an_override_is_not_an_added_capability(builder, make_site):
    builder.allow("student", TRUST, permission=-1)
    builder.allow("student", TRUST, builder.course("c")[1])  # overrides: role_overrides_not_risky
    assert {r.status for r in run(ARCHETYPE_CHECK, builder, make_site)} == {"pass"}


def test_a_prohibit_the_archetype_sets_must_stay(builder, make_site):
    builder.unset("guest", "moodle/user:editownprofile")
    (failed,) = [r for r in run(ARCHETYPE_CHECK, builder, make_site) if r.status == "fail"]
    assert failed.resource == "role:guest" and failed.observed["permission"] == 0
    assert failed.reason.startswith(
        "Role Guest (guest, id 6) has moodle/user:editownprofile at Not set, but the 'guest'"
        " archetype prohibits it in Moodle 5.1"
    )
    assert failed.remediation is not None
    assert "Set moodle/user:editownprofile to Prohibit at" in failed.remediation


def test_custom_roles_and_plugin_capabilities_are_not_judged(builder, make_site):
    builder.role("auditor")  # no archetype: the RISK_ checks judge it
    builder.allow("auditor", TRUST)
    builder.allow("student", "mod/assign:grade")  # a plugin's defaults are not shipped
    copy = builder.role("demostudent", archetype="student", name="DemoStudent")
    builder.allow(copy, "moodle/site:accessallgroups")
    results = run(ARCHETYPE_CHECK, builder, make_site)
    assert [r.resource for r in results] == [f"role:{n}" for n in (*ROLE_NAMES, "demostudent")]
    (failed,) = [r for r in results if r.status == "fail"]
    assert failed.reason.startswith(
        f"Role DemoStudent (demostudent, id {copy}) allows moodle/site:"
    )
