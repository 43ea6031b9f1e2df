"""Account-lifecycle checks, each against a synthetic site named by its expected outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import get_check
from moodle_soc.checks.runner import evaluate
from moodle_soc.policy import Policy
from moodle_soc.results import Result
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
DAY = 86400
FAILED = "\\core\\event\\user_login_failed"


def run(check_id: str, builder, make_site) -> list[Result]:
    return list(get_check(check_id).run(ScanContext(make_site(builder), Policy())))


def admin_used_yesterday(b: SiteBuilder) -> None:
    b.update("user", 2, lastaccess=NOW - DAY)


def all_recently_used(b: SiteBuilder) -> None:
    admin_used_yesterday(b)
    b.user("active_student", lastaccess=NOW - DAY)


def dormant_student(b: SiteBuilder) -> None:
    all_recently_used(b)
    b.user("dormant_student", lastaccess=NOW - 120 * DAY)


@pytest.mark.parametrize(
    ("setup", "status", "needle"),
    [
        (all_recently_used, "pass", "0 of 2 active accounts (0.0%)"),
        (dormant_student, "fail", "1 of 3 active accounts (33.3%) were last used more than 90"),
    ],
)
def test_dormant_accounts_disabled(builder, make_site, setup, status, needle):
    setup(builder)
    (result,) = run("accounts.dormant_accounts_disabled", builder, make_site)
    assert (result.status, result.resource) == (status, "site")
    assert needle in result.reason
    assert ("dormant_student" in result.reason) == (status == "fail")


def never_logged_in_admin(b: SiteBuilder) -> None:
    pass  # the install's admin account, created long ago, has never logged in


def never_logged_in_but_new(b: SiteBuilder) -> None:
    admin_used_yesterday(b)
    b.user("new_starter", timecreated=NOW - 3 * DAY)


@pytest.mark.parametrize(
    ("setup", "status", "needle"),
    [
        (never_logged_in_but_new, "pass", "0 active account(s)"),
        (never_logged_in_admin, "fail", "1 active account(s) created more than 30 days ago never"),
    ],
)
def test_never_logged_in_accounts_reviewed(builder, make_site, setup, status, needle):
    setup(builder)
    (result,) = run("accounts.never_logged_in_accounts_reviewed", builder, make_site)
    assert (result.status, result.resource) == (status, "site")
    assert needle in result.reason
    assert result.observed["sample_usernames"] == (["admin"] if status == "fail" else [])


def suspended_user_retrying(b: SiteBuilder) -> int:
    uid = b.user("leaver", suspended=1)
    for hours in (1, 5, 30):
        b.log(FAILED, timecreated=NOW - hours * 3600, userid=uid, other={"reason": 2})
    return uid


def old_attempts_only(b: SiteBuilder) -> int:
    uid = b.user("leaver", suspended=1)
    b.log(FAILED, timecreated=NOW - 200 * DAY, userid=uid, other={"reason": 2})
    return uid


@pytest.mark.parametrize(
    ("setup", "statuses"),
    [(old_attempts_only, ["pass"]), (suspended_user_retrying, ["fail", "fail"])],
)
def test_suspended_users_not_attempting_login(builder, make_site, setup, statuses):
    uid = setup(builder)
    results = run("accounts.suspended_users_not_attempting_login", builder, make_site)
    assert [r.status for r in results] == statuses
    if len(results) == 2:
        total, user = results
        assert total.resource == "site" and "3 times" in total.reason
        assert user.resource == f"user:{uid}"
        assert f"leaver (id {uid}) failed to log in 3 times" in user.reason
        assert "last on 2026-11-29" in user.reason


def test_suspended_users_check_is_not_applicable_without_the_log_table(builder):
    engine = builder.sqlite_memory()
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE mdl_logstore_standard_log")
    db = Database(engine=engine, prefix="mdl_", display_url="sqlite://(memory)")
    site = MoodleSite(db, audit_time=datetime.fromtimestamp(NOW, UTC))
    spec = get_check("accounts.suspended_users_not_attempting_login")
    (result,) = evaluate(spec, ScanContext(site, Policy()))
    assert result.status == "not_applicable" and "logstore_standard_log" in result.reason


def test_no_failed_logins_with_the_log_store_off_is_not_a_pass(builder, make_site):
    builder.setting("enabled_stores", "", plugin="tool_log")
    spec = get_check("accounts.suspended_users_not_attempting_login")
    [result] = evaluate(spec, ScanContext(make_site(builder), Policy()))
    assert result.status.value == "manual"
    assert "not enabled" in result.reason
