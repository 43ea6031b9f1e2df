"""People: user rows with names and email, roster look-ups, and per-user log aggregates."""

from __future__ import annotations

import sqlalchemy as sa

from moodle_soc.site.people import LOGGED_IN, LOGGED_IN_AS

NOW = 1795936000
DAY = 86400


def test_within_a_population_returns_names_and_email_without_secrets(builder, make_site):
    uid = builder.user("ana.ruiz", email="Ana.Ruiz@Example.edu", firstname="Ana", lastname="Ruiz")
    builder.user("bo")
    site = make_site(builder)
    user = site.db.table("user")

    found = site.people.within(sa.select(user.c.id).where(user.c.id.in_([uid, 9999])))

    assert list(found) == [uid]
    assert [r.purpose for r in site.db.records if r.purpose.startswith("people:")] == [
        "people: users of a population read in SQL (no secrets)"
    ]
    assert (found[uid].fullname, found[uid].email) == ("Ana Ruiz", "Ana.Ruiz@Example.edu")
    assert not any("password" in r.sql or "secret" in r.sql for r in site.db.records)


def test_everyone_skips_deleted_users(builder, make_site):
    builder.user("gone", deleted=1)
    kept = builder.user("kept")

    names = [p.user.username for p in make_site(builder).people.everyone()]

    assert names == ["guest", "admin", "kept"] and kept


def test_matching_is_case_insensitive_on_username_and_email(builder, make_site):
    by_name = builder.user("bkeller")
    by_mail = builder.user("cng", email="C.Ng@Example.edu")
    builder.user("other")

    found = make_site(builder).people.matching(["BKeller", " "], ["c.ng@example.EDU"])

    assert [p.user.id for p in found] == [by_name, by_mail]


def test_interactive_logins_count_web_logins_in_the_window_per_user(builder, make_site):
    svc, other = builder.user("svc"), builder.user("other")
    for days in (1, 5, 200):
        builder.log(LOGGED_IN, timecreated=NOW - days * DAY, userid=svc)
    builder.log(LOGGED_IN, timecreated=NOW - DAY, userid=svc, origin="ws")
    builder.log(LOGGED_IN, timecreated=NOW - DAY, userid=other)

    found = make_site(builder).people.interactive_logins([svc], NOW - 90 * DAY)

    assert list(found) == [svc]
    assert (found[svc].count, found[svc].last) == (2, NOW - DAY)


def test_login_as_use_groups_by_the_real_user(builder, make_site):
    """Moodle writes the loggedinas row once the switch is made: userid and realuserid are
    both the real user. A row without realuserid is not a session Moodle wrote."""
    boss, a, b = builder.user("boss"), builder.user("a"), builder.user("b")
    for days, target in ((1, a), (2, b), (3, a)):
        builder.log(LOGGED_IN_AS, timecreated=NOW - days * DAY, userid=boss, realuserid=boss,
                    relateduserid=target)  # fmt: skip
    builder.log(LOGGED_IN_AS, timecreated=NOW - 200 * DAY, userid=boss, realuserid=boss)
    builder.log(LOGGED_IN_AS, timecreated=NOW - DAY, userid=a, relateduserid=b)
    builder.log(LOGGED_IN, timecreated=NOW - DAY, userid=a, realuserid=boss)

    site = make_site(builder)
    found = site.people.login_as_use(NOW - 90 * DAY)

    assert not found.truncated
    assert [(u.userid, u.sessions, u.targets, u.last) for u in found.rows] == [
        (boss, 3, 2, NOW - DAY)
    ]
    (query,) = [r.sql for r in site.db.records if "log in as" in r.purpose]
    assert "realuserid IS NOT NULL" in query  # the realuserid index, not a scan of the log


def test_login_as_use_is_cut_at_the_limit(builder, make_site):
    admins = [builder.user(f"admin{k}") for k in range(3)]
    for k, real in enumerate(admins):
        for _ in range(k + 1):
            builder.log(LOGGED_IN_AS, timecreated=NOW - DAY, userid=real, realuserid=real)

    found = make_site(builder).people.login_as_use(NOW - 90 * DAY, limit=2)

    assert found.truncated
    assert [(u.userid, u.sessions) for u in found.rows] == [(admins[2], 3), (admins[1], 2)]


def test_a_population_asked_for_twice_is_read_once(builder, make_site):
    uid = builder.user("ana.ruiz")
    site = make_site(builder)
    user = site.db.table("user")

    def population():
        return sa.select(user.c.id).where(user.c.id.in_([uid]))

    first, second = site.people.within(population()), site.people.within(population())

    assert first == second and list(first) == [uid]
    assert len([r for r in site.db.records if r.purpose.startswith("people:")]) == 1
