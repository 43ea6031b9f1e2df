"""The access inventory on synthetic sites: who is listed, with which grants, and stable keys."""

from __future__ import annotations

import json

import pytest

from moodle_soc.inventory.build import build_inventory
from moodle_soc.inventory.roster import parse_roster
from moodle_soc.models.access import AccessInventory
from moodle_soc.policy import Policy
from moodle_soc.site.people import LOGGED_IN
from moodle_soc.site.privileges import LOGIN_AS
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
DAY = 86400
TRUST = "moodle/site:trustcontent"


@pytest.fixture
def drifted(builder: SiteBuilder) -> SiteBuilder:
    """Admins admin (never used), admin2 and itops; support is a system manager; a student is
    trusted in c1 by an override; svc owns an unrestricted token for a custom service; itops owns
    a mobile token an admin made for it and logs in through the web; a dormant, a never-used and
    a self-served mobile student are not privileged."""
    for name in ("admin2", "itops"):
        builder.make_site_admin(builder.user(name, lastaccess=NOW - DAY))
    builder.assign_role(builder.user("support", lastaccess=NOW - DAY), "manager")
    _c1, c1_ctx = builder.course("c1")
    builder.enrol_user(builder.user("teacher1", lastaccess=NOW - DAY), 2, "editingteacher")
    builder.enrol_user(builder.user("pupil", lastaccess=NOW - DAY), 2)
    builder.allow("student", TRUST, c1_ctx)
    builder.service("acme_sis", functions=["core_user_get_users", "core_user_create_users"])
    builder.token(builder.user("svc_integration"), service="acme_sis")
    itops = builder.user("itops2", lastaccess=NOW - DAY)
    builder.token(itops, creatorid=2)
    builder.log(LOGGED_IN, timecreated=NOW - 2 * DAY, userid=itops)
    builder.user("old_student", lastaccess=NOW - 400 * DAY)
    builder.user("never_student", timecreated=NOW - 200 * DAY)
    mobile = builder.user("mobile_student", lastaccess=NOW - DAY)
    builder.token(mobile, creatorid=mobile)
    return builder


def inventory(builder: SiteBuilder, make_site, **options) -> AccessInventory:
    return build_inventory(make_site(builder), Policy(), **options)


def test_privileged_scope_lists_each_account_with_its_grants(drifted, make_site):
    inv = inventory(drifted, make_site)
    grants = {e.username: [g.key for g in e.grants] for e in inv.entries}

    assert grants == {
        "admin": ["siteadmin"],
        "admin2": ["siteadmin"],
        "itops": ["siteadmin"],
        "support": ["role:manager@system", "loginas@system"],
        "pupil": [f"override:{override_id(drifted)}"],
        "svc_integration": ["token:1"],
        "itops2": ["token:2"],
    }
    assert all(e.key == f"user:{e.userid}" and e.privileged for e in inv.entries)
    assert inv.thresholds["privileged_course_roles"] == 0


def test_course_roles_are_privileged_only_when_the_policy_says_so(drifted, make_site):
    """An editing teacher's role allows RISK_DATALOSS capabilities, but only in its course."""
    site = make_site(drifted)
    on = build_inventory(site, Policy(privileged_course_roles=True))

    teacher = on.entry("teacher1")
    assert teacher is not None and [g.key for g in teacher.grants] == [
        "role:editingteacher@course:2"
    ]
    assert on.thresholds["privileged_course_roles"] == 1
    assert build_inventory(site, Policy()).entry("teacher1") is None


def override_id(builder: SiteBuilder) -> int:
    row = builder.find("role_capabilities", builder.role_id("student"), builder.context_id(50, 2),
                       TRUST)  # fmt: skip
    assert row is not None
    return int(row["id"])


def test_flags_name_the_risks_of_the_drifted_site(drifted, make_site):
    inv = inventory(drifted, make_site)
    flags = {e.username: sorted(f.code for f in e.flags) for e in inv.entries}

    assert flags["admin"] == ["never_logged_in", "privileged_without_mfa"]
    assert flags["admin2"] == ["generic_name", "privileged_without_mfa"]
    assert flags["itops2"] == [
        "privileged_without_mfa", "service_account_interactive", "token_unrestricted"
    ]  # fmt: skip
    assert "token_unrestricted" in flags["svc_integration"]
    assert inv.flag_counts["privileged_without_mfa"] == len(inv.entries)
    assert inv.mfa == "MFA (tool_mfa) is installed but switched off."


def test_all_scope_adds_unprivileged_accounts_and_their_lifecycle_flags(drifted, make_site):
    inv = inventory(drifted, make_site, scope="all")
    by_name = {e.username: e for e in inv.entries}

    assert [f.code for f in by_name["old_student"].flags] == ["dormant"]
    assert [f.code for f in by_name["never_student"].flags] == ["never_logged_in"]
    mobile = by_name["mobile_student"]
    assert not mobile.privileged and mobile.grants == [] and [t.id for t in mobile.tokens] == [3]
    assert mobile.flags == []
    guest = inv.entry("guest")
    assert guest is not None and guest.state == "guest" and guest.flags == []


def test_the_inventory_is_json_and_round_trips(drifted, make_site):
    inv = inventory(drifted, make_site)
    dumped = inv.model_dump(mode="json")

    assert AccessInventory.model_validate(json.loads(json.dumps(dumped))) == inv
    assert dumped["schema_version"] == "1.0" and dumped["scope"] == "privileged"
    svc = next(e for e in dumped["entries"] if e["username"] == "svc_integration")
    assert svc["tokens"][0]["function_sample"] == ["core_user_create_users", "core_user_get_users"]
    assert svc["tokens"][0]["validuntil"] is None and svc["interactive_logins"] == 0


def test_mfa_factors_are_read_on_43_and_later(builder, make_site):
    builder.setting("enabled", 1, "tool_mfa")
    builder.setting("enabled", 1, "factor_totp")
    builder.mfa_factor(2, "totp")
    emailed = builder.user("emailed", lastaccess=NOW)
    builder.make_site_admin(emailed)
    builder.mfa_factor(emailed, "email")

    inv = inventory(builder, make_site)

    admin, other = inv.entry("admin"), inv.entry("emailed")
    assert admin is not None and admin.mfa_factors == ["totp"]
    assert "privileged_without_mfa" not in [f.code for f in admin.flags]
    assert other is not None and [f.code for f in other.flags] == ["privileged_without_mfa"]


def test_sites_without_mfa_get_mfa_unknown(make_site):
    inv = inventory(SiteBuilder(release="4.1"), make_site)
    (admin,) = inv.entries
    assert admin.mfa_factors is None
    assert [f.code for f in admin.flags] == ["never_logged_in", "mfa_unknown"]


def test_login_as_override_in_a_course_is_a_grant_at_that_course(builder, make_site):
    _c1, ctx = builder.course("c1")
    builder.enrol_user(builder.user("teacher1", lastaccess=NOW), 2, "editingteacher")
    override = builder.allow("editingteacher", LOGIN_AS, ctx)

    site = make_site(builder)
    teacher = build_inventory(site, Policy()).entry("teacher1")
    counted = build_inventory(site, Policy(privileged_course_roles=True)).entry("teacher1")

    assert teacher is not None and counted is not None
    assert [g.key for g in teacher.grants] == [f"override:{override}", "loginas@course:2"]
    assert [g.key for g in counted.grants] == [
        "role:editingteacher@course:2", f"override:{override}", "loginas@course:2"
    ]  # fmt: skip


def test_deleted_and_missing_admins(builder, make_site):
    builder.make_site_admin(builder.user("gone", deleted=1))
    builder.setting("siteadmins", builder.get_setting("siteadmins") + ",404")

    inv = inventory(builder, make_site)

    gone = inv.entry("gone")
    assert gone is not None and gone.state == "deleted" and gone.flags == []
    assert inv.notes == ["Grants name user id(s) [404] without a user row; not listed."]


def test_roster_adds_terminated_and_orphaned(drifted, make_site):
    roster = parse_roster("username,status,leave_date\nadmin2,left,2026-10-01\nsupport,active,\n")

    inv = inventory(drifted, make_site, roster=roster)

    admin2, support = inv.entry("admin2"), inv.entry("support")
    assert admin2 is not None and "terminated" in [f.code for f in admin2.flags]
    assert support is not None and support.roster is not None and support.roster.line == 3
    assert "orphaned" not in [f.code for f in support.flags]
    assert inv.roster is not None
    assert [leaver.username for leaver in inv.roster.leavers_still_active] == ["admin2"]
    assert inv.flag_counts["orphaned"] == len(inv.entries) - 2


def test_grants_are_named_by_role_capability_and_context(builder, make_site):
    """People read 'Manager at System', never 'role:manager@system' or 'override:7'."""
    builder.assign_role(builder.user("support", lastaccess=NOW), "manager")
    science, science_ctx = builder.category("Science")
    courseid, _ctx = builder.course("PHYS101", category=science)
    builder.enrol_user(builder.user("pupil", lastaccess=NOW), courseid)
    builder.allow("student", "moodle/site:config", science_ctx)
    builder.role("auditor", "manager", name="External auditor")
    builder.assign_role(builder.user("ext", lastaccess=NOW), "auditor")
    builder.allow("auditor", "moodle/site:config")

    inv = build_inventory(make_site(builder), Policy())
    summaries = {e.username: [(g.key, g.summary) for g in e.grants] for e in inv.entries}

    assert summaries["support"] == [
        ("role:manager@system", "Manager at System"),
        ("loginas@system", "May log in as other users at System (role Manager)"),
    ]
    (key, summary), *_ = summaries["pupil"]
    assert key.startswith("override:")  # the stable key stays for machines
    assert summary == "Override of moodle/site:config for Student at Category: Science"
    assert summaries["ext"][0][1] == "External auditor at System"
