"""Roles answers Moodle's own role checks with the same SQL logic, on the synthetic site."""

from __future__ import annotations

import pytest

from moodle_soc.site.roles import MOODLE_RISKY_MASK, PRIVILEGED_MASK, RISK_XSS
from moodle_soc.synthetic.builder import SiteBuilder

TRUST = "moodle/site:trustcontent"
BACKUP = "moodle/backup:userinfo"


def test_roles_are_looked_up_by_id_and_shortname(builder, make_site):
    roles = make_site(builder).roles

    assert roles.role(1) is not None and roles.role(1).shortname == "manager"
    assert roles.role_by_shortname("user") == roles.role(7)
    assert roles.role(99) is None and roles.role_by_shortname("nobody") is None


def test_risky_context_count_counts_contexts_and_honours_ignored_capabilities(builder, make_site):
    _course, course_ctx = builder.course("c1")
    builder.allow("user", TRUST, course_ctx)
    roles = make_site(builder).roles

    # The default install allows tool/dataprivacy:requestdelete (RISK_DATALOSS) at system.
    assert roles.risky_context_count(7) == 2
    assert roles.risky_context_count(7, MOODLE_RISKY_MASK, ["tool/dataprivacy:requestdelete"]) == 1
    assert roles.risky_context_count(6) == 0


def _xss_site(builder: SiteBuilder) -> tuple[int, int, int, int]:
    """Category A (course a1, a module in it) overrides student with trustcontent; B does not."""
    cat_a, cat_a_ctx = builder.category("A")
    cat_b, _cat_b_ctx = builder.category("B")
    _a1, a1_ctx = builder.course("a1", category=cat_a)
    _b1, b1_ctx = builder.course("b1", category=cat_b)
    builder.allow("student", TRUST, cat_a_ctx)
    return cat_a_ctx, a1_ctx, b1_ctx, builder.context(70, 1, a1_ctx)


@pytest.mark.parametrize(
    ("where", "deleted", "counted"),
    [
        ("child_course_of_overridden_category", 0, 1),
        ("module_below_the_course", 0, 1),
        ("the_overridden_category_itself", 0, 1),
        ("system_context_above_the_override", 0, 1),
        ("sibling_category_course", 0, 0),
        ("child_course_but_deleted_user", 1, 0),
    ],
)
def test_xss_trusted_users_follow_context_path_overlap(builder, make_site, where, deleted, counted):
    cat_a_ctx, a1_ctx, b1_ctx, module_ctx = _xss_site(builder)
    contexts = {
        "child_course_of_overridden_category": a1_ctx,
        "module_below_the_course": module_ctx,
        "the_overridden_category_itself": cat_a_ctx,
        "system_context_above_the_override": 1,
        "sibling_category_course": b1_ctx,
        "child_course_but_deleted_user": a1_ctx,
    }
    builder.assign_role(builder.user("learner", deleted=deleted), "student", contexts[where])

    assert make_site(builder).roles.xss_trusted_user_count() == counted


def test_xss_count_sees_system_definitions_and_not_site_admins(builder, make_site):
    _course, course_ctx = builder.course("c1")
    builder.assign_role(builder.user("teacher"), "editingteacher", course_ctx)
    builder.assign_role(builder.user("teacher2"), "editingteacher", course_ctx)
    builder.make_site_admin(builder.user("root2"))

    assert make_site(builder).roles.xss_trusted_user_count() == 2


def test_backup_userinfo_counts_match_core_riskbackup(builder, make_site):
    _course, course_ctx = builder.course("c1")
    _other, other_ctx = builder.course("c2")
    builder.allow("student", BACKUP, course_ctx)
    builder.allow("student", BACKUP, other_ctx)  # one role, overridden twice: Moodle counts 1
    builder.assign_role(builder.user("support"), "manager")
    builder.assign_role(builder.user("learner"), "student", course_ctx)
    builder.assign_role(builder.user("gone", deleted=1), "student", course_ctx)
    module_ctx = builder.context(70, 1, course_ctx)
    builder.assign_role(builder.user("module_only"), "student", module_ctx)  # level 70 > 50

    counts = make_site(builder).roles.backup_userinfo_counts()

    assert (counts.roles, counts.overrides, counts.users) == (1, 1, 2)


def test_role_wide_holders_are_counted_through_the_role_index(builder, make_site):
    """The roles allowed at system level are read first and written into the count, so the
    planner reads their assignments by role (on the grown MariaDB site the join through every
    context read all 52,663 assignments: 0.52 s, now 0.05 s for the same 2,507 users)."""
    _course, course_ctx = builder.course("c1")
    builder.assign_role(builder.user("teacher"), "editingteacher", course_ctx)
    builder.assign_role(builder.user("learner"), "student", course_ctx)
    site = make_site(builder)
    roles = site.roles

    assert roles.xss_trusted_user_count() == 1
    (count,) = [q for q in site.queries if q["purpose"] == "roles: core_riskxss trusted user count"]
    allowing = [q for q in site.queries if q["purpose"].startswith("roles: the roles allowing")]
    assert [q["purpose"] for q in allowing] == [
        "roles: the roles allowing it and where (core_riskxss)"
    ]
    ids = {roles.role_by_shortname(n).id for n in ("manager", "coursecreator", "editingteacher")}
    assert "role_assignments.roleid IN (" in count["sql"]
    assert ids <= set(count["params"].values())
    assert roles.role_by_shortname("student").id not in count["params"].values()


def test_backup_userinfo_counts_on_a_fresh_install(builder, make_site):
    counts = make_site(builder).roles.backup_userinfo_counts()

    assert (counts.roles, counts.overrides, counts.users) == (1, 0, 0)


def test_system_role_holders_flag_category_assignments_and_skip_courses(builder, make_site):
    _cat, cat_ctx = builder.category("Science")
    _course, course_ctx = builder.course("c1")
    support = builder.user("support")
    builder.assign_role(support, "manager")
    builder.assign_role(builder.user("dean"), "manager", cat_ctx)
    builder.assign_role(builder.user("teacher"), "editingteacher", course_ctx)

    holders = make_site(builder).roles.system_role_holders(PRIVILEGED_MASK)

    assert [(h.user.username, h.role.shortname, h.at_category) for h in holders] == [
        ("support", "manager", False),
        ("dean", "manager", True),
    ]
    assert holders[0].risk_mask & RISK_XSS and holders[0].user.id == support


def test_risky_overrides_and_role_definitions(builder, make_site):
    _course, course_ctx = builder.course("c1")
    override = builder.allow("student", TRUST, course_ctx)
    builder.allow("student", "moodle/user:viewdetails", course_ctx)  # RISK_PERSONAL only
    builder.allow("editingteacher", TRUST, course_ctx, permission=-1)  # a prevent
    roles = make_site(builder).roles

    (row,) = roles.risky_overrides(MOODLE_RISKY_MASK)

    assert (row.id, row.shortname, row.contextid, row.contextlevel, row.capability) == (
        override,
        "student",
        course_ctx,
        50,
        TRUST,
    )
    assert row.riskbitmask & RISK_XSS
    editing = [c.capability for c in roles.role_allowed_risky_capabilities(3, RISK_XSS)]
    assert TRUST in editing
    assert roles.role_allowed_risky_capabilities(5, MOODLE_RISKY_MASK) == ()
