"""Each flag rule on hand-built entries, named by the outcome they expect."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from moodle_soc.inventory.flags import (
    FLAG_CODES,
    RULES,
    FlagContext,
    dormant,
    flags_for,
    generic_name,
    never_logged_in,
    orphaned,
    privileged_without_mfa,
    service_account_interactive,
    terminated,
    token_unrestricted,
)
from moodle_soc.models.access import AccessEntry, Grant, TokenInfo
from moodle_soc.models.roster import RosterLink

NOW = 1795936000  # 2026-11-29
DAY = 86400
SITEADMIN = Grant(key="siteadmin", kind="siteadmin", context="system", risks=[], summary="admin")


def at(days_ago: float) -> datetime:
    return datetime.fromtimestamp(NOW - days_ago * DAY, UTC)


def context(**changes: Any) -> FlagContext:
    values: dict[str, Any] = {
        "now": NOW, "dormant_days": 90, "grace_days": 30, "login_window_days": 90,
        "mfa_absent_reason": None, "mfa_enabled": True, "strong_factors": frozenset({"totp"}),
        "roster_source": None,
    }  # fmt: skip
    return FlagContext(**{**values, **changes})


def token(**changes: Any) -> TokenInfo:
    values: dict[str, Any] = {
        "id": 3, "name": None, "service": "acme_sis", "service_enabled": True,
        "custom_service": True, "functions": 4, "function_sample": [], "iprestriction": None,
        "validuntil": None, "expired": False, "lastaccess": None, "creatorid": 2,
    }  # fmt: skip
    return TokenInfo(**{**values, **changes})


def entry(**changes: Any) -> AccessEntry:
    values: dict[str, Any] = {
        "key": "user:7", "userid": 7, "username": "jdoe", "fullname": "J Doe",
        "email": "j@x.edu", "auth": "manual", "state": "active", "siteadmin": True,
        "privileged": True, "grants": [SITEADMIN], "tokens": [], "mfa_factors": ["totp"],
        "firstaccess": at(400), "lastaccess": at(1), "last_login": at(1),
        "timecreated": at(400), "lastip": "", "interactive_logins": None, "login_as_sessions": 0,
    }  # fmt: skip
    return AccessEntry(**{**values, **changes})


TOKEN_GRANT = Grant(key="token:3", kind="token", context="system", risks=[], summary="token 3")

CASES = {
    "active_admin": (dormant, {}, {}, None),
    "dormant_admin": (dormant, {"lastaccess": at(120)}, {}, "2026-08-01, 120 days ago"),
    "dormant_but_suspended": (dormant, {"lastaccess": at(120), "state": "suspended"}, {}, None),
    "token_use_keeps_it_active": (
        dormant, {"lastaccess": at(120), "tokens": [token(lastaccess=at(2))]}, {}, None),
    "never_used": (never_logged_in, {"lastaccess": None}, {}, "has never logged in"),
    "never_used_token_owner": (
        never_logged_in, {"lastaccess": None, "tokens": [token()]}, {},
        "none of its web-service tokens has been used"),
    "never_used_installer": (
        never_logged_in, {"lastaccess": None, "timecreated": None}, {}, "(created at install)"),
    "new_account_in_grace": (never_logged_in, {"lastaccess": None, "timecreated": at(3)}, {}, None),
    "installer_admin_of_a_fresh_site": (
        never_logged_in, {"lastaccess": None, "timecreated": None},
        {"install_time": NOW - 3600}, None),
    "installer_admin_of_an_old_site": (
        never_logged_in, {"lastaccess": None, "timecreated": None},
        {"install_time": NOW - 40 * DAY}, "(created at install, 2026-10-20) has never logged in"),
    "service_account_without_mfa": (
        privileged_without_mfa, {"grants": [TOKEN_GRANT], "tokens": [token()], "mfa_factors": [],
                                 "interactive_logins": 0, "username": "svc"}, {},
        "svc is a non-interactive service account: it is privileged only through 1 web-service"
        " token(s), and it has not logged in interactively in the window. A second factor does"
        " not apply to it, but with auth manual its password can still open an interactive"
        " session: enable auth_webservice"),
    "service_account_on_webservice_auth": (
        privileged_without_mfa, {"grants": [TOKEN_GRANT], "tokens": [token()], "mfa_factors": [],
                                 "auth": "webservice"}, {}, None),
    "admin_with_totp": (privileged_without_mfa, {}, {}, None),
    "admin_with_email_only": (
        privileged_without_mfa, {"mfa_factors": ["email"]}, {}, "(factors held: email)"),
    "mfa_switched_off": (
        privileged_without_mfa, {}, {"mfa_enabled": False}, "MFA is switched off on the site"),
    "sso_admin_without_factor": (
        privileged_without_mfa, {"mfa_factors": [], "auth": "saml2"}, {},
        "(auth saml2: confirm whether its identity provider enforces MFA)"),
    "unprivileged_without_mfa": (
        privileged_without_mfa, {"privileged": False, "grants": [], "mfa_factors": []}, {}, None),
    "personal_name": (generic_name, {"username": "ana.ruiz"}, {}, None),
    "installer_admin": (generic_name, {"username": "admin"}, {}, None),
    "second_admin": (generic_name, {"username": "admin2"}, {}, "(pattern admin\\d+)"),
    "it_ops_with_dot": (generic_name, {"username": "it.ops"}, {}, "(pattern itops)"),
    "test_email_username": (generic_name, {"username": "Test_User@x.edu"}, {}, "test\\w*"),
    "service_account_used_by_a_person": (
        service_account_interactive, {"grants": [TOKEN_GRANT], "interactive_logins": 4}, {},
        "owns web-service token 3 and also logged in through the web 4 time(s) in the last 90"),
    "service_account_api_only": (
        service_account_interactive, {"grants": [TOKEN_GRANT], "interactive_logins": 0}, {}, None),
    "no_roster_no_orphan": (orphaned, {}, {}, None),
    "orphan": (orphaned, {}, {"roster_source": "people.csv"}, "matches no row of the HR roster"),
    "terminated_and_used": (
        terminated, {"roster": RosterLink(userid=7, line=4, matched_on="email", status="left",
                                          leave_date=date(2026, 9, 30), manager=None)}, {},
        "line 4 says jdoe left on 2026-09-30, but the account is still active 60 days later, and"
        " was used 59 days after leaving"),
    "leaver_suspended": (
        terminated, {"state": "suspended", "roster": RosterLink(
            userid=7, line=4, matched_on="email", status="left", leave_date=date(2026, 9, 30),
            manager=None)}, {}, None),
    "unrestricted_token": (
        token_unrestricted, {"grants": [TOKEN_GRANT], "tokens": [token()]}, {},
        "token 3 (acme_sis) has no IP restriction and no expiry"),
    "restricted_token": (
        token_unrestricted, {"grants": [TOKEN_GRANT],
                             "tokens": [token(iprestriction="10.0.0.0/8", validuntil=at(-30))]},
        {}, None),
    "expired_token_is_no_grant": (token_unrestricted, {"tokens": [token(expired=True)]}, {}, None),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_flag_rule(case):
    rule, fields, facts, needle = CASES[case]
    flag = rule(entry(**fields), context(**facts))
    if needle is None:
        assert flag is None
    else:
        assert flag is not None and needle in flag.reason and flag.reason.endswith(".")


def test_mfa_unknown_replaces_the_mfa_flag_on_sites_without_mfa():
    ctx = context(mfa_absent_reason="Moodle 4.1 has no built-in multi-factor authentication")
    flag = privileged_without_mfa(entry(mfa_factors=None), ctx)
    assert flag is not None and flag.code == "mfa_unknown"
    assert flag.reason.startswith("Moodle 4.1 has no built-in") and "jdoe" in flag.reason


def test_every_rule_has_a_docstring_and_a_documented_code():
    assert all((rule.__doc__ or "").strip() for rule in RULES)
    raised = {flag.code for flag in flags_for(entry(lastaccess=at(200), username="admin2",
                                                     mfa_factors=[]), context())}  # fmt: skip
    assert raised == {"dormant", "generic_name", "privileged_without_mfa"}
    assert raised <= set(FLAG_CODES)
