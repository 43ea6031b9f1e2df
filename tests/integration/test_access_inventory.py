"""The access inventory of the three real Moodle sites names their documented access weaknesses.

Ids that depend on the data (tokens, overrides, role holders) are looked up in the restored
database with a separate administrator connection, never copied from the tool's output.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from moodle_soc.inventory.build import build_inventory
from moodle_soc.models.access import AccessEntry, AccessInventory
from moodle_soc.policy import Policy

from .conftest import readonly_user, restored
from .fixtures import HARDENED, LEGACY, PASSWORD_ENV, WEAK, FixtureSite, RestoredSite

pytestmark = pytest.mark.integration

_BUILT: dict[tuple[str, str], AccessInventory] = {}


def _inventory(request: pytest.FixtureRequest, fixture: FixtureSite, scope: Any) -> AccessInventory:
    if (fixture.key, scope) not in _BUILT:
        site = restored(request, fixture).open_site()
        try:
            _BUILT[(fixture.key, scope)] = build_inventory(site, Policy(), scope=scope)
        finally:
            site.db.close()
    return _BUILT[(fixture.key, scope)]


@pytest.fixture
def weak(request: pytest.FixtureRequest) -> AccessInventory:
    return _inventory(request, WEAK, "privileged")


@pytest.fixture
def weak_all(request: pytest.FixtureRequest) -> AccessInventory:
    return _inventory(request, WEAK, "all")


@pytest.fixture
def hardened(request: pytest.FixtureRequest) -> AccessInventory:
    return _inventory(request, HARDENED, "privileged")


@pytest.fixture
def legacy(request: pytest.FixtureRequest) -> AccessInventory:
    return _inventory(request, LEGACY, "privileged")


def entry(inventory: AccessInventory, username: str) -> AccessEntry:
    found = inventory.entry(username)
    assert found is not None, f"{username} is not in the inventory"
    return found


def codes(inventory: AccessInventory, username: str) -> set[str]:
    return {flag.code for flag in entry(inventory, username).flags}


def grants(inventory: AccessInventory, username: str) -> set[str]:
    return {grant.key for grant in entry(inventory, username).grants}


def test_weak_site_four_administrators_three_with_generic_names(weak):
    admins = {e.username for e in weak.entries if e.siteadmin}
    assert admins == {"admin", "admin2", "itops", "webmaster"}
    generic = {name for name in admins if "generic_name" in codes(weak, name)}
    assert generic == {"admin2", "itops", "webmaster"}


def test_weak_site_support_is_a_system_manager_who_can_log_in_as(weak, request):
    site = restored(request, WEAK)
    holder = site.scalar(
        "SELECT u.username FROM {p}role_assignments ra JOIN {p}role r ON r.id = ra.roleid"
        " JOIN {p}context c ON c.id = ra.contextid JOIN {p}user u ON u.id = ra.userid"
        " WHERE r.shortname = 'manager' AND c.contextlevel = 10"
    )
    assert holder == "support"
    assert {"role:manager@system", "loginas@system"} <= grants(weak, "support")


def test_weak_site_dormant_and_never_used_accounts(weak, weak_all):
    # The installer's admin (timecreated 0) is as old as the site, installed minutes before.
    assert "never_logged_in" not in codes(weak, "admin")
    for name in ("old_student1", "old_student2", "old_student3", "old_student4", "old_student5"):
        assert codes(weak_all, name) == {"dormant"}, name
    for name in ("never_logged1", "never_logged2", "never_logged3"):
        assert codes(weak_all, name) == {"never_logged_in"}, name
    assert entry(weak_all, "suspended_user").state == "suspended"
    assert entry(weak_all, "nologin_user").state == "nologin"


def _live_tokens_without_ip(site: RestoredSite) -> dict[int, str]:
    rows = site.rows(
        "SELECT t.id, u.username FROM {p}external_tokens t JOIN {p}user u ON u.id = t.userid"
        " WHERE t.tokentype <> 1 AND COALESCE(t.iprestriction, '') = ''"
        " AND (t.validuntil IS NULL OR t.validuntil = 0 OR t.validuntil > :now)",
        now=int(site.fixture.audit_time.timestamp()),
    )
    return {int(row["id"]): str(row["username"]) for row in rows}


def test_weak_site_tokens_without_ip_restriction_flag_their_owners(weak, request):
    tokens = _live_tokens_without_ip(restored(request, WEAK))
    assert set(tokens.values()) == {"admin", "svc_integration", "itops"}
    for tokenid, owner in tokens.items():
        assert f"token:{tokenid}" in grants(weak, owner)
        assert "token_unrestricted" in codes(weak, owner)
    assert "service_account_interactive" in codes(weak, "itops")


def test_weak_site_risky_override_reaches_the_students_of_its_course(weak, request):
    site = restored(request, WEAK)
    override = site.scalar(
        "SELECT rc.id FROM {p}role_capabilities rc JOIN {p}role r ON r.id = rc.roleid"
        " WHERE r.shortname = 'student' AND rc.capability = 'moodle/site:trustcontent'"
        " AND rc.permission = 1 AND rc.contextid <> 1"
    )
    students = {
        str(row["username"])
        for row in site.rows(
            "SELECT u.username FROM {p}role_capabilities rc JOIN {p}role_assignments ra"
            " ON ra.contextid = rc.contextid AND ra.roleid = rc.roleid"
            " JOIN {p}user u ON u.id = ra.userid WHERE rc.id = :id",
            id=override,
        )
    }
    assert override == 1649 and students
    reached = {
        e.username for e in weak.entries if f"override:{override}" in grants(weak, e.username)
    }
    assert reached == students


def test_weak_site_has_mfa_switched_off(weak):
    assert weak.mfa == "MFA (tool_mfa) is installed but switched off."
    active = [e for e in weak.entries if e.state == "active"]
    assert all("privileged_without_mfa" in codes(weak, e.username) for e in active)


def test_hardened_site_recognises_totp_factors(hardened, request):
    site = restored(request, HARDENED)
    with_totp = {
        str(row["username"])
        for row in site.rows(
            "SELECT u.username FROM {p}tool_mfa m JOIN {p}user u ON u.id = m.userid"
            " WHERE m.factor = 'totp' AND m.revoked = 0"
        )
    }
    assert {"admin", "teacher1"} <= with_totp
    for name in with_totp & {e.username for e in hardened.entries}:
        assert "totp" in (entry(hardened, name).mfa_factors or [])
        assert "privileged_without_mfa" not in codes(hardened, name)
    assert "privileged_without_mfa" in codes(hardened, "svc_integration")
    assert [e.username for e in hardened.entries if e.siteadmin] == ["admin"]
    assert "token_unrestricted" not in hardened.flag_counts


def test_legacy_site_cannot_read_mfa_and_finds_its_drift(legacy, request):
    assert all(e.mfa_factors is None for e in legacy.entries)
    active = [e for e in legacy.entries if e.state == "active"]
    assert all("mfa_unknown" in codes(legacy, e.username) for e in active)
    assert "dormant" in codes(legacy, "sysadmin_old") and entry(legacy, "sysadmin_old").siteadmin
    override = restored(request, LEGACY).scalar(
        "SELECT id FROM {p}role_capabilities WHERE capability = 'moodle/site:config'"
        " AND permission = 1 AND contextid <> 1"
    )
    assert any(f"override:{override}" in grants(legacy, e.username) for e in legacy.entries)


@pytest.mark.parametrize("fixture", [WEAK, HARDENED, LEGACY], ids=lambda f: f.key)
def test_the_inventory_is_json_and_reads_no_secret(fixture, request):
    inventory = _inventory(request, fixture, "privileged")
    text = json.dumps(inventory.model_dump(mode="json"))
    assert AccessInventory.model_validate_json(text) == inventory
    site = restored(request, fixture)
    secrets = site.rows("SELECT token FROM {p}external_tokens")
    assert not any(str(row["token"]) in text for row in secrets)


def test_cli_inventory_as_a_select_only_user(request):
    from moodle_soc.cli.access import access_app

    site = restored(request, WEAK)
    user = readonly_user(request, site)
    args = ["inventory", "--db", site.url(user.name), "--prefix", WEAK.prefix]
    args += ["--as-of", WEAK.as_of, "--format", "json"]

    done = CliRunner().invoke(access_app, args, env={PASSWORD_ENV: user.password})

    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert user.password not in done.output
    assert {e["username"] for e in data["entries"] if e["siteadmin"]} == {
        "admin", "admin2", "itops", "webmaster"
    }  # fmt: skip
