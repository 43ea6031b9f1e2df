"""Privileges reads who holds risky roles, overrides, "log in as" and tokens, on synthetic sites."""

from __future__ import annotations

import pytest

from moodle_soc.site.privileges import LOCAL_PRIVILEGED_MASK, LOGIN_AS, Place, Privileges
from moodle_soc.site.roles import PRIVILEGED_MASK, RISK_PERSONAL, RISK_XSS
from moodle_soc.synthetic.builder import SiteBuilder

TRUST = "moodle/site:trustcontent"
SECRETS = ("password", "secret", ".token", "privatetoken")


def privileges(builder: SiteBuilder, make_site) -> Privileges:
    return make_site(builder).privileges


def assignments(builder: SiteBuilder, make_site) -> set[tuple[int, str, str]]:
    rows = privileges(builder, make_site).risky_assignments().rows
    return {(a.userid, a.shortname, a.place.label) for a in rows}


@pytest.mark.parametrize(
    ("contextlevel", "instanceid", "label"),
    [
        (10, 0, "system"),
        (40, 3, "category:3"),
        (50, 12, "course:12"),
        (70, 40, "module:40"),
        (30, 7, "user:7"),
        (80, 9, "block:9"),
        (60, 5, "context:77"),
    ],
)
def test_place_labels_name_the_instance(contextlevel, instanceid, label):
    assert Place(77, contextlevel, instanceid).label == label


def test_role_risks_are_the_risk_bits_of_each_role_definition(builder, make_site):
    risks = make_site(builder).roles.role_risk_masks()
    manager = builder.role_id("manager")
    assert risks[manager] == PRIVILEGED_MASK & 62
    assert risks[builder.role_id("student")] == RISK_PERSONAL
    assert builder.role_id("guest") not in risks


def test_site_level_roles_count_any_risk_course_roles_only_config_trust_or_data_loss(
    builder, make_site
):
    boss, creator, teacher, assistant, pupil = (
        builder.user(name) for name in ("boss", "creator", "teacher", "assistant", "pupil")
    )
    _cat, cat_ctx = builder.category("Science")
    _course, course_ctx = builder.course("c1")
    builder.assign_role(boss, "manager")
    builder.assign_role(creator, "coursecreator", cat_ctx)  # RISK_XSS only: counts at category
    builder.assign_role(teacher, "editingteacher", course_ctx)  # RISK_DATALOSS: counts in course
    builder.assign_role(assistant, "teacher", course_ctx)  # XSS/PERSONAL only: not in a course
    builder.enrol_user(pupil, 2)

    found = assignments(builder, make_site)

    assert found == {
        (boss, "manager", "system"),
        (creator, "coursecreator", f"category:{_cat}"),
        (teacher, "editingteacher", "course:2"),
    }


def test_an_override_reaches_holders_of_the_role_in_overlapping_contexts_only(builder, make_site):
    cat, cat_ctx = builder.category("A")
    _a1, a1_ctx = builder.course("a1", category=cat)
    _b1, b1_ctx = builder.course("b1")
    in_course, in_category, elsewhere = (builder.user(n) for n in ("in_a1", "in_cat", "in_b1"))
    builder.assign_role(in_course, "student", a1_ctx)
    builder.assign_role(in_category, "student", cat_ctx)
    builder.assign_role(elsewhere, "student", b1_ctx)
    override = builder.allow("student", TRUST, a1_ctx)

    rows = privileges(builder, make_site).override_grants().rows

    assert {(g.override_id, g.userid) for g in rows} == {
        (override, in_course),
        (override, in_category),
    }
    assert {(g.capability, g.riskbitmask, g.place.label) for g in rows} == {
        (TRUST, RISK_XSS, "course:2")
    }


def test_an_override_the_definition_already_allows_is_not_a_grant(builder, make_site):
    _course, ctx = builder.course("c1")
    builder.enrol_user(builder.user("teacher"), 2, "editingteacher")
    builder.allow("editingteacher", TRUST, ctx)  # already in the definition
    builder.allow("student", TRUST, ctx, permission=-1000)  # a prohibit grants nothing

    assert privileges(builder, make_site).override_grants().rows == ()


def test_login_as_comes_from_the_role_at_system_or_an_override_below(builder, make_site):
    _course, ctx = builder.course("c1")
    boss, teacher, other = (builder.user(n) for n in ("boss", "teacher", "other_teacher"))
    builder.assign_role(boss, "manager")
    builder.assign_role(teacher, "editingteacher", ctx)
    builder.allow("editingteacher", LOGIN_AS, ctx)
    builder.assign_role(other, "editingteacher", builder.course("c2")[1])

    rows = privileges(builder, make_site).login_as_holders().rows

    assert {(h.userid, h.shortname, h.place.label) for h in rows} == {
        (boss, "manager", "system"),
        (teacher, "editingteacher", "course:2"),
    }


def test_a_prohibit_at_or_above_the_assignment_removes_login_as(builder, make_site):
    builder.assign_role(builder.user("boss"), "manager")
    builder.allow("manager", LOGIN_AS, permission=-1000)

    assert privileges(builder, make_site).login_as_holders().rows == ()


def test_token_services_count_functions_and_keep_a_bounded_sample(builder, make_site):
    builder.service("acme_sis", functions=[f"core_fn_{i:02d}" for i in range(30)])
    owner = builder.user("svc")
    custom = builder.token(owner, service="acme_sis")
    mobile = builder.token(owner)

    services = privileges(builder, make_site).token_services(sample=5)

    assert services[custom].custom and services[custom].functions == 30
    assert services[custom].sample == tuple(f"core_fn_{i:02d}" for i in range(5))
    assert not services[mobile].custom and services[mobile].functions == 8


def test_bounded_lists_say_when_they_were_cut(builder, make_site):
    for name in ("m1", "m2", "m3"):
        builder.assign_role(builder.user(name), "manager")

    found = privileges(builder, make_site).risky_assignments(limit=2)

    assert len(found.rows) == 2 and found.truncated


def test_no_query_reads_a_secret_column(builder, make_site):
    owner = builder.user("svc")
    builder.token(owner)
    builder.assign_role(owner, "manager")
    site = make_site(builder)
    reader = site.privileges
    reader.risky_assignments(), reader.override_grants(), reader.login_as_holders()
    reader.token_services()

    for record in site.queries:
        assert not any(secret in record["sql"].lower() for secret in SECRETS), record["sql"]


def test_holder_ids_is_every_possible_grant_holder_in_one_sql_set(builder, make_site):
    """The set the inventory joins its users and MFA factors against: every grant source,
    course roles only when asked, never a plain student."""
    _course, ctx = builder.course("c1")
    boss, teacher, loginas, owner, pupil = (
        builder.user(n) for n in ("boss", "teacher", "loginas", "svc", "pupil")
    )
    builder.assign_role(boss, "manager")
    builder.assign_role(teacher, "editingteacher", ctx)
    builder.assign_role(loginas, "teacher", ctx)
    builder.allow("teacher", LOGIN_AS, ctx)  # an override below: reaches the assigned user
    builder.token(owner)
    builder.enrol_user(pupil, 2)
    site = make_site(builder)
    admins = set(site.site_admin_ids)

    def holders(local_mask: int) -> set[int]:
        statement = site.privileges.holder_ids(local_mask)
        return {int(r["userid"]) for r in site.db.fetch_all(statement, "test: holders")}

    assert holders(0) == {boss, loginas, owner} | admins
    assert holders(LOCAL_PRIVILEGED_MASK) == {boss, teacher, loginas, owner} | admins


def test_role_assignments_are_read_through_the_role_and_context_indexes(builder, make_site):
    """On a site with half a million assignments (issue 9) the "log in as" holders are read for
    the roles allowing it, written into the query, and the risky assignments of site-level roles
    from the system and category contexts alone: no branch that pairs every assignment with
    every context (1.1 s and 0.2 s on the grown weak fixture, each read twice per scan)."""
    _course, ctx = builder.course("c1")
    teacher, pupil = builder.user("teacher"), builder.user("pupil")
    builder.assign_role(teacher, "teacher", ctx)
    builder.allow("teacher", LOGIN_AS, ctx)
    builder.enrol_user(pupil, 2)
    site = make_site(builder)
    reader = site.privileges
    manager, teacher_role = builder.role_id("manager"), builder.role_id("teacher")

    assert {h.userid for h in reader.login_as_holders().rows} == {teacher}
    reader.risky_assignments(local_mask=0)
    recorded = {record["purpose"]: record for record in site.queries}

    assert reader._login_as_roles() == tuple(sorted({manager, teacher_role}))
    (login_as,) = [r for p, r in recorded.items() if p.startswith("privileges: users whose role")]
    assert "role_assignments.roleid IN (?, ?)" in login_as["sql"]
    assert {manager, teacher_role} <= set(login_as["params"].values())
    (risky,) = [r for p, r in recorded.items() if p.startswith("privileges: assignments of roles")]
    assert " OR " not in risky["sql"].split(" WHERE ", 1)[1]
