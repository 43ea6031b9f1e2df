"""Authentication checks against synthetic sites named by their expected outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import get_check
from moodle_soc.checks.runner import evaluate
from moodle_soc.policy import Policy
from moodle_soc.results import Result, Severity, Status
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.builder import SiteBuilder


def configured(builder: SiteBuilder, settings: dict[str, object]) -> SiteBuilder:
    for key, value in settings.items():
        plugin, _, name = key.rpartition("/")
        builder.setting(name, value, plugin or None)
    return builder


def run(check_id: str, site: MoodleSite) -> list[Result]:
    return evaluate(get_check(check_id), ScanContext(site, Policy()))


@pytest.fixture
def judge(builder, make_site):
    """The one result of a check on the test's site (or ``on``'s) with ``settings`` applied."""

    def single(check_id: str, settings=None, on: SiteBuilder | None = None) -> Result:
        results = run(check_id, make_site(configured(on or builder, settings or {})))
        assert len(results) == 1, results
        return results[0]

    return single


@pytest.mark.parametrize(
    ("settings", "status", "shown"),
    [
        pytest.param({"passwordpolicy": "0"}, Status.FAIL, "'0'", id="policy_off"),
        pytest.param({"passwordpolicy": ""}, Status.FAIL, "empty", id="policy_empty"),
        pytest.param({}, Status.PASS, "'1'", id="policy_default_on"),
    ],
)
def test_password_policy_enabled(judge, settings, status, shown):
    result = judge("authentication.password_policy_enabled", settings)
    assert result.status is status
    assert f"passwordpolicy is {shown}" in result.reason
    assert result.resource == "setting:passwordpolicy"


@pytest.mark.parametrize(
    ("settings", "status", "words"),
    [
        pytest.param({"minpasswordlength": 14}, Status.PASS, "is 14", id="strong_policy"),
        pytest.param({"minpasswordlength": 8}, Status.FAIL, "is 8", id="default_length"),
        pytest.param(
            {"minpasswordlength": 20, "passwordpolicy": 0},
            Status.FAIL,
            "does not enforce minpasswordlength (20)",
            id="policy_off",
        ),
    ],
)
def test_password_length_meets_policy(judge, settings, status, words):
    result = judge("authentication.password_length_meets_policy", settings)
    assert result.status is status
    assert words in result.reason
    assert result.resource == "setting:minpasswordlength"
    assert result.observed["minpasswordlength"] == settings["minpasswordlength"]


@pytest.mark.parametrize(
    ("settings", "status", "words"),
    [
        pytest.param({}, Status.PASS, "requires 4 character class", id="default_four_classes"),
        pytest.param(
            {"minpasswordupper": 0, "minpasswordnonalphanum": 0},
            Status.FAIL,
            "requires 2 character class(es) (minpassworddigits, minpasswordlower)",
            id="two_classes",
        ),
        pytest.param({"passwordpolicy": 0}, Status.FAIL, "passwordpolicy is '0'", id="policy_off"),
    ],
)
def test_password_character_classes_required(judge, settings, status, words):
    result = judge("authentication.password_character_classes_required", settings)
    assert result.status is status
    assert words in result.reason
    assert set(result.observed) >= {"minpassworddigits", "minpasswordnonalphanum"}


@pytest.mark.parametrize(
    ("limit", "status"),
    [
        pytest.param(0, Status.FAIL, id="no_reuse_limit"),
        pytest.param(5, Status.PASS, id="reuse_limit_5"),
    ],
)
def test_password_reuse_limited(judge, limit, status):
    result = judge("authentication.password_reuse_limited", {"passwordreuselimit": limit})
    assert result.status is status
    assert f"passwordreuselimit is {limit}" in result.reason
    assert result.observed == {"passwordreuselimit": limit}


@pytest.mark.parametrize(
    ("threshold", "status", "words"),
    [
        pytest.param(0, Status.FAIL, "never lock out", id="no_lockout"),
        pytest.param(5, Status.PASS, "lockoutthreshold is 5", id="lockout_5"),
        pytest.param(50, Status.FAIL, "at most 10", id="lockout_too_lax"),
    ],
)
def test_account_lockout_enabled(judge, threshold, status, words):
    settings = {"lockoutthreshold": threshold, "lockoutduration": 3600}
    result = judge("authentication.account_lockout_enabled", settings)
    assert result.status is status
    assert words in result.reason
    assert result.observed == {
        "lockoutthreshold": threshold,
        "lockoutwindow": 1800,
        "lockoutduration": 3600,
    }


def catalyst_plugin_site(builder: SiteBuilder, enrolled: int) -> MoodleSite:
    """A 4.1 site with the Catalyst tool_mfa plugin installed: its tables and settings exist."""
    engine = builder.sqlite_memory()
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE {builder.prefix}tool_mfa (id INTEGER PRIMARY KEY, userid INTEGER,"
            " factor VARCHAR(100), secret VARCHAR(1333), revoked INTEGER DEFAULT 0)"
        )
        for userid in range(2, 2 + enrolled):
            connection.execute(
                sa.text(
                    f"INSERT INTO {builder.prefix}tool_mfa (userid, factor, secret)"
                    " VALUES (:u, 'totp', 'x')"
                ),
                {"u": userid},
            )
    db = Database(engine=engine, prefix=builder.prefix, display_url="sqlite://(memory)")
    return MoodleSite(db, audit_time=datetime.fromtimestamp(builder.now, UTC))


MFA_ON_TOTP = {"tool_mfa/enabled": 1, "factor_totp/enabled": 1, "factor_email/enabled": 0}


@pytest.mark.parametrize(
    ("release", "settings", "status", "words"),
    [
        pytest.param("5.1", {}, Status.FAIL, "tool_mfa/enabled is '0'", id="mfa_off"),
        pytest.param(
            "5.1",
            {"tool_mfa/enabled": 1, "factor_email/enabled": 0},
            Status.FAIL,
            "no factor",
            id="no_factor",
        ),
        pytest.param("5.1", MFA_ON_TOTP, Status.PASS, "factors totp", id="mfa_totp"),
        pytest.param("4.5", MFA_ON_TOTP, Status.PASS, "factors totp", id="mfa_totp_45"),
        pytest.param(
            "4.1", {"auth": "email,none"}, Status.MANUAL, "Moodle 4.1 LTS", id="no_mfa_41"
        ),
    ],
)
def test_mfa_enabled(judge, release, settings, status, words):
    result = judge("authentication.mfa_enabled", settings, on=SiteBuilder(release=release))
    assert result.status is status
    assert words in result.reason
    assert result.resource == "plugin:tool_mfa"
    if status is Status.MANUAL:
        assert (
            "identity provider" in result.reason and "manual, nologin, email, none" in result.reason
        )
        assert result.observed["auth"] == "email,none"


def test_mfa_enabled_judges_the_catalyst_plugin_on_41():
    builder = configured(
        SiteBuilder(release="4.1"), {**MFA_ON_TOTP, "factor_totp/version": "2022112800"}
    )
    [result] = run("authentication.mfa_enabled", catalyst_plugin_site(builder, enrolled=1))
    assert result.status is Status.PASS
    assert result.observed["enabled_factors"] == ["totp"]


@pytest.mark.parametrize(
    ("settings", "enrolled", "status", "words"),
    [
        pytest.param({}, 0, Status.NOT_APPLICABLE, "MFA is not enabled", id="mfa_off"),
        pytest.param({"tool_mfa/enabled": 1}, 0, Status.FAIL, "email (0 users)", id="email_only"),
        pytest.param(MFA_ON_TOTP, 2, Status.PASS, "totp (2 users)", id="totp_enrolled"),
        pytest.param(
            {**MFA_ON_TOTP, "factor_email/enabled": 1},
            1,
            Status.FAIL,
            "strong: totp, but email alone also completes MFA (weight 100, 100 needed)",
            id="totp_and_email_at_full_weight",
        ),
        pytest.param(
            {**MFA_ON_TOTP, "factor_email/enabled": 1, "factor_email/weight": 50},
            1,
            Status.PASS,
            "email (0 users), totp (1 users); strong: totp.",
            id="totp_and_email_at_half_weight",
        ),
    ],
)
def test_mfa_factors_strong(builder, judge, settings, enrolled, status, words):
    for userid in range(enrolled):
        builder.mfa_factor(builder.user(f"user{userid}"), "totp")
    builder.mfa_factor(builder.user("revoked"), "totp", revoked=1)
    result = judge("authentication.mfa_factors_strong", settings)
    assert result.status is status
    assert words in result.reason
    if status is not Status.NOT_APPLICABLE:
        assert result.observed["enrolled_users"] == ({"totp": enrolled} if enrolled else {})


def test_mfa_factors_strong_is_not_applicable_on_41(judge):
    result = judge("authentication.mfa_factors_strong", on=SiteBuilder(release="4.1"))
    assert result.status is Status.NOT_APPLICABLE
    assert "Moodle 4.1" in result.reason


@pytest.mark.parametrize(
    ("timeout", "status"),
    [
        pytest.param(604800, Status.FAIL, id="week_long_session"),
        pytest.param(7200, Status.PASS, id="two_hours"),
    ],
)
def test_session_timeout_within_policy(judge, timeout, status):
    result = judge("authentication.session_timeout_within_policy", {"sessiontimeout": timeout})
    assert result.status is status
    assert f"sessiontimeout is {timeout} s" in result.reason
    assert result.observed == {"sessiontimeout": timeout}


@pytest.mark.parametrize(
    ("settings", "button", "autologin"),
    [
        pytest.param({}, Status.FAIL, Status.PASS, id="default_guest_button"),
        pytest.param(
            {"guestloginbutton": 0, "autologinguests": 1}, Status.PASS, Status.FAIL, id="autologin"
        ),
        pytest.param({"guestloginbutton": 0}, Status.PASS, Status.PASS, id="no_guest_access"),
    ],
)
def test_guest_access_disabled(builder, make_site, settings, button, autologin):
    results = run("authentication.guest_access_disabled", make_site(configured(builder, settings)))
    assert [(r.resource, r.status) for r in results] == [
        ("setting:guestloginbutton", button),
        ("setting:autologinguests", autologin),
    ]
    for result in results:
        name = result.resource.removeprefix("setting:")
        assert f"Setting {name} is" in result.reason and name in result.observed


@pytest.mark.parametrize(
    ("registerauth", "status"),
    [
        pytest.param("email", Status.FAIL, id="self_registration"),
        pytest.param("", Status.PASS, id="provisioned_only"),
    ],
)
def test_self_registration_disabled(judge, registerauth, status):
    result = judge("authentication.self_registration_disabled", {"registerauth": registerauth})
    assert result.status is status
    assert result.observed == {"registerauth": registerauth}
    assert ("'email'" if registerauth else "empty") in result.reason


@pytest.mark.parametrize(
    ("auth", "enabled", "unapproved"),
    [
        pytest.param("", ["manual", "nologin"], [], id="always_enabled_only"),
        pytest.param("ldap,none", ["manual", "nologin", "ldap", "none"], ["none"], id="none"),
        pytest.param("ldap,email", ["manual", "nologin", "ldap", "email"], [], id="email_unused"),
    ],
)
def test_auth_plugins_allowed(builder, make_site, auth, enabled, unapproved):
    results = run(
        "authentication.auth_plugins_allowed", make_site(configured(builder, {"auth": auth}))
    )
    assert [r.resource for r in results] == [f"plugin:auth_{name}" for name in enabled]
    assert [r.observed["auth"] for r in results if r.status is Status.FAIL] == unapproved
    assert all(f"auth_{r.observed['auth']}" in r.reason for r in results)


EMAIL_AUTH = {
    "enabled_but_unusable": ({}, Status.PASS, "but nothing can use it: self-registration"),
    "self_registration_uses_it": (
        {"registerauth": "email"},
        Status.FAIL,
        "enabled in setting auth; 0 live account(s) use it, and self-registration (registerauth)"
        " uses it, and is not approved by the policy.",
    ),
    "accounts_use_it": (
        {"account": True},
        Status.FAIL,
        "enabled in setting auth; 1 live account(s) use it, and is not approved by the policy.",
    ),
}


@pytest.mark.parametrize("case", EMAIL_AUTH)
def test_an_unapproved_plugin_matters_when_something_uses_it(builder, make_site, case):
    settings, status, needle = EMAIL_AUTH[case]
    if settings.pop("account", False):
        builder.user("signed_up", auth="email")
    site = make_site(configured(builder, {"auth": "email", "registerauth": "", **settings}))
    email = next(
        r
        for r in run("authentication.auth_plugins_allowed", site)
        if r.resource == "plugin:auth_email"
    )
    assert email.status is status and needle in email.reason, email.reason


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        pytest.param("email,none", Status.FAIL, id="auth_none_enabled"),
        pytest.param("email", Status.PASS, id="auth_none_off"),
    ],
)
def test_auth_none_disabled(judge, auth, status):
    result = judge("authentication.auth_none_disabled", {"auth": auth})
    assert result.status is status
    assert f"auth is {auth!r}" in result.reason
    assert result.observed["auth"] == auth


@pytest.mark.parametrize(
    ("settings", "status", "words"),
    [
        pytest.param({}, Status.PASS, "confirmed by mail", id="confirmation_on"),
        pytest.param(
            {"emailchangeconfirmation": 0, "allowemailaddresses": "acme.test"},
            Status.PASS,
            "'acme.test'",
            id="off_with_allow_list",
        ),
        pytest.param(
            {"emailchangeconfirmation": 0}, Status.FAIL, "any address", id="off_without_allow_list"
        ),
    ],
)
def test_email_change_confirmed(judge, settings, status, words):
    result = judge("authentication.email_change_confirmed", settings)
    assert result.status is status
    assert words in result.reason
    assert set(result.observed) == {"emailchangeconfirmation", "allowemailaddresses"}


def test_severities_follow_moodle_and_the_brief():
    assert get_check("authentication.mfa_enabled").severity is Severity.CRITICAL
    assert get_check("authentication.auth_none_disabled").moodle_check == "auth_none_noauth"


@pytest.mark.parametrize(
    ("check_id", "name", "value", "status", "sentence"),
    [
        pytest.param(
            "authentication.password_change_logs_out", "passwordchangelogout", "0", Status.FAIL,
            "Setting passwordchangelogout is '0' (database); it must be on, so that a password"
            " change ends the other sessions of the account.",
            id="password_change_keeps_sessions",
        ),
        pytest.param(
            "authentication.password_change_logs_out", "passwordchangelogout", "1", Status.PASS,
            "Setting passwordchangelogout is '1' (database)", id="password_change_logs_out",
        ),
        pytest.param(
            "authentication.usernames_protected", "protectusernames", "0", Status.FAIL,
            "Setting protectusernames is '0' (database); it must be on, so that the"
            " forgotten-password page does not reveal which usernames and email addresses have"
            " accounts.",
            id="usernames_revealed",
        ),
        pytest.param(
            "authentication.usernames_protected", "protectusernames", "1", Status.PASS,
            "Setting protectusernames is '1' (database)", id="usernames_protected",
        ),
    ],
)  # fmt: skip
def test_session_and_enumeration_settings(judge, check_id, name, value, status, sentence):
    result = judge(check_id, {name: value})
    assert (result.status, result.resource) == (status, f"setting:{name}")
    assert result.reason.startswith(sentence) and result.observed == {name: value}
    assert get_check(check_id).fix_command == f"php admin/cli/cfg.php --name={name} --set=1"
