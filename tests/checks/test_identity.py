"""Identity checks, each against a synthetic site named by its expected outcome."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.inventory.roster import parse_roster
from moodle_soc.policy import Policy
from moodle_soc.results import Result
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
DAY = 86400
MODULE = "moodle_soc.checks.identity"


def identity_checks() -> ModuleType:
    return importlib.import_module(MODULE)


def run(check_id: str, site, policy: Policy | None = None, roster=None) -> list[Result]:
    check = getattr(identity_checks(), check_id.split(".", 1)[1])
    return list(check(ScanContext(site, policy or Policy(), roster=roster)))


def only_admin(builder: SiteBuilder, **fields) -> int:
    uid = builder.user("ana.ruiz", **fields)
    builder.setting("siteadmins", str(uid))
    return uid


ACTIVITY = {
    "active_admin": ({"lastaccess": NOW - DAY}, "pass", "1 active privileged account(s) were used"),
    "dormant_admin": ({"lastaccess": NOW - 200 * DAY}, "fail", "200 days ago"),
    "never_used_admin": ({"timecreated": NOW - 100 * DAY}, "fail", "has never logged in"),
    "new_admin_in_grace": ({"timecreated": NOW - 2 * DAY}, "pass", "within their grace period"),
    "suspended_dormant_admin": ({"lastaccess": 1, "suspended": 1}, "pass", "0 active privileged"),
}


@pytest.mark.parametrize("record", ACTIVITY)
def test_privileged_accounts_active(builder, make_site, record):
    fields, status, needle = ACTIVITY[record]
    uid = only_admin(builder, **fields)

    results = run("identity.privileged_accounts_active", make_site(builder))

    assert [r.status for r in results] == [status]
    assert needle in results[0].reason
    if status == "fail":
        assert results[0].resource == f"user:{uid}" and "It holds siteadmin." in results[0].reason


def mfa_on(builder: SiteBuilder) -> None:
    builder.setting("enabled", 1, "tool_mfa")
    builder.setting("enabled", 1, "factor_totp")


def admin_with_totp(builder: SiteBuilder) -> None:
    mfa_on(builder)
    builder.mfa_factor(only_admin(builder, lastaccess=NOW), "totp")


def admin_with_email_factor(builder: SiteBuilder) -> None:
    mfa_on(builder)
    builder.mfa_factor(only_admin(builder, lastaccess=NOW), "email")


def admin_with_mfa_off(builder: SiteBuilder) -> None:
    builder.mfa_factor(only_admin(builder, lastaccess=NOW), "totp")


MFA = {
    "admin_with_totp": (admin_with_totp, ["pass"], "hold an enabled factor"),
    "admin_with_email_factor": (admin_with_email_factor, ["fail"], "(factors held: email)"),
    "admin_with_mfa_off": (admin_with_mfa_off, ["fail"], "MFA is switched off"),
}


@pytest.mark.parametrize("case", MFA)
def test_privileged_accounts_use_mfa(builder, make_site, case):
    setup, statuses, needle = MFA[case]
    setup(builder)
    results = run("identity.privileged_accounts_use_mfa", make_site(builder))
    assert [r.status for r in results] == statuses and needle in results[0].reason


def test_privileged_accounts_use_mfa_is_manual_before_43(make_site):
    (result,) = run("identity.privileged_accounts_use_mfa", make_site(SiteBuilder(release="4.1")))
    assert result.status == "manual" and "arrived in Moodle 4.3" in result.reason


@pytest.mark.parametrize(
    "check_id", ["identity.privileged_accounts_active", "identity.privileged_accounts_use_mfa"]
)
def test_a_population_cut_short_is_an_error_not_a_pass(builder, make_site, check_id):
    mfa_on(builder)
    for name in ("m1", "m2", "m3"):
        uid = builder.user(name, lastaccess=NOW - DAY)
        builder.assign_role(uid, "manager")
        builder.mfa_factor(uid, "totp")
    site = make_site(builder)
    site.privileges.max_rows = 2

    results = run(check_id, site)

    *failures, closing = results  # the admin made at install never logged in, has no factor
    assert [r.status for r in failures] == ["fail"] and closing.status == "error"
    assert closing.reason.startswith(
        "The privileged-account population is incomplete: Only the first 2 risky role"
        " assignments were read; the list is incomplete."
    )
    assert closing.reason.endswith("; the others were not judged.")
    assert closing.observed["accounts"] == 2


ROSTERS = {
    "no_roster": (None, ["manual"], "No HR roster was given; pass --roster"),
    "leaver_still_active": (
        "username,status,leave_date\nana.ruiz,left,2026-10-30\n", ["fail"],
        "line 2 says ana.ruiz (id {uid}) left on 2026-10-30, but the account is still active 30"),
    "leaver_suspended": (
        "username,status,leave_date\nbob,left,2026-10-30\n", ["pass"], "None of the 1 leaver(s)"),
    "unmatched_leaver": (
        "email,status,leave_date\nghost@x.edu,left,2026-10-30\n", ["manual", "pass"],
        "lists leaver ghost@x.edu, who matches no Moodle account"),
}  # fmt: skip


@pytest.mark.parametrize("case", ROSTERS)
def test_leavers_deactivated(builder, make_site, case):
    text, statuses, needle = ROSTERS[case]
    uid = only_admin(builder, lastaccess=NOW - 40 * DAY)
    builder.user("bob", suspended=1)
    roster = parse_roster(text, "people.csv") if text is not None else None

    results = run("identity.leavers_deactivated", make_site(builder), roster=roster)

    assert [r.status for r in results] == statuses
    assert needle.format(uid=uid) in results[0].reason
