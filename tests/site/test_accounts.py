"""Accounts reads user records without secrets and summarises activity in aggregate queries."""

from __future__ import annotations

from dataclasses import fields

from moodle_soc.site.accounts import SAMPLE_SIZE, UserRecord

NOW = 1795936000
DAY = 86400
FAILED = "\\core\\event\\user_login_failed"


def test_user_records_never_carry_or_select_secrets(builder, make_site):
    uid = builder.user("alice", lastaccess=NOW - DAY, lastip="10.1.2.3")
    site = make_site(builder)

    records = site.accounts.users_by_id([uid, 999])

    assert list(records) == [uid]
    assert records[uid].lastip == "10.1.2.3" and records[uid].lastaccess == NOW - DAY
    assert not {"password", "secret"} & {f.name for f in fields(UserRecord)}
    sql = site.db.records[-1].sql.lower()
    assert "password" not in sql and "secret" not in sql


def test_site_admins_keep_order_and_note_ids_without_a_user_row(builder, make_site):
    builder.setting("siteadmins", "2,999")
    admins = make_site(builder).accounts.site_admins()

    assert [(a.id, a.user.username if a.user else None) for a in admins] == [
        (2, "admin"),
        (999, None),
    ]


def test_activity_summary_counts_only_active_local_accounts(builder, make_site):
    old, recent = NOW - 200 * DAY, NOW - DAY
    builder.user("active_recent", lastaccess=recent)
    builder.user("dormant_student", lastaccess=old)
    builder.user("never_logged_old", timecreated=NOW - 60 * DAY)
    builder.user("never_logged_new", timecreated=NOW - 5 * DAY)
    builder.user("suspended_dormant", lastaccess=old, suspended=1)
    builder.user("deleted_dormant", lastaccess=old, deleted=1)
    builder.user("nologin_dormant", lastaccess=old, auth="nologin")
    builder.user("unconfirmed_dormant", lastaccess=old, confirmed=0)
    builder.user("remote_dormant", lastaccess=old, mnethostid=3)
    site = make_site(builder)

    summary = site.accounts.activity_summary(NOW - 90 * DAY, NOW - 30 * DAY)

    # admin (id 2, created at install, never logged in) is active too; guest is not.
    assert (summary.active, summary.dormant, summary.never_logged_in) == (5, 1, 2)
    assert [u.username for u in summary.dormant_sample] == ["dormant_student"]
    assert [u.username for u in summary.never_logged_in_sample] == ["admin", "never_logged_old"]
    assert len([r for r in site.db.records if r.purpose.startswith("accounts:")]) == 2


def test_activity_summary_samples_are_bounded(builder, make_site):
    for n in range(SAMPLE_SIZE + 5):
        builder.user(f"old{n:02}", lastaccess=NOW - (200 + n) * DAY)
    accounts = make_site(builder).accounts

    summary = accounts.activity_summary(NOW - 90 * DAY, NOW - 30 * DAY)

    assert summary.dormant == SAMPLE_SIZE + 5 and len(summary.dormant_sample) == SAMPLE_SIZE
    assert summary.dormant_sample[0].username == f"old{SAMPLE_SIZE + 4:02}"  # the oldest first
    assert accounts.activity_summary(NOW - 90 * DAY, NOW - 30 * DAY) is summary


def test_suspended_login_attempts_group_by_user_and_decode_reasons(builder, make_site):
    leaver = builder.user("leaver", suspended=1)
    other = builder.user("other_leaver", suspended=1)
    active = builder.user("active_user", lastaccess=NOW - DAY)
    for n, fmt in enumerate(("json", "php", "json")):
        builder.log(FAILED, timecreated=NOW - n * 3600, userid=leaver,
                    other={"username": "leaver", "reason": 2}, other_format=fmt)  # fmt: skip
    builder.log(FAILED, timecreated=NOW - 7200, userid=other,
                other={"username": "other_leaver", "reason": 3})  # fmt: skip
    builder.log(FAILED, timecreated=NOW - 200 * DAY, userid=other, other={"reason": 2})
    builder.log(FAILED, timecreated=NOW - 60, userid=active, other={"reason": 3})
    site = make_site(builder)

    attempts = site.accounts.suspended_login_attempts(NOW - 90 * DAY, limit=1)

    assert [(u.username, u.attempts, u.last_attempt) for u in attempts.users] == [
        ("leaver", 3, NOW)
    ]
    assert (attempts.total_users, attempts.total_attempts) == (2, 4)
    assert (attempts.decoded_rows, attempts.reason_suspended) == (4, 3)
