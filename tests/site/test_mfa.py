"""The MFA area of the site layer: factor settings and enrolment, never the secrets."""

from __future__ import annotations

import pytest

from moodle_soc.synthetic.builder import SiteBuilder


@pytest.fixture
def enrolled(builder: SiteBuilder) -> SiteBuilder:
    """MFA on with TOTP and WebAuthn; alice holds two factors, bob one, carol only a revoked one."""
    builder.setting("enabled", 1, "tool_mfa")
    builder.setting("enabled", 1, "factor_totp")
    builder.setting("enabled", 1, "factor_webauthn")
    builder.setting("weight", 50, "factor_webauthn")
    builder.setting("enabled", 1, "factor_madeup")  # settings of a plugin that is not installed
    alice, bob, carol = (builder.user(name) for name in ("alice", "bob", "carol"))
    builder.mfa_factor(alice, "totp")
    builder.mfa_factor(alice, "totp", label="second phone")
    builder.mfa_factor(alice, "webauthn")
    builder.mfa_factor(bob, "totp")
    builder.mfa_factor(carol, "totp", revoked=1)
    return builder


def test_enabled_factors_are_installed_plugins_switched_on(make_site, enrolled):
    mfa = make_site(enrolled).mfa
    assert mfa.available and mfa.enabled and mfa.absent_reason is None
    assert mfa.enabled_factors == ("email", "totp", "webauthn")
    assert mfa.weights == {"email": 100, "totp": 100, "webauthn": 50}


def test_fresh_install_has_mfa_off_with_email_factor(make_site, builder):
    mfa = make_site(builder).mfa
    assert not mfa.enabled
    assert mfa.enabled_setting == "0"
    assert mfa.enabled_factors == ("email",)
    assert "totp" in mfa.installed_factors


def test_enrolled_counts_distinct_users_without_revoked_rows(make_site, enrolled):
    assert make_site(enrolled).mfa.enrolled_counts == {"totp": 2, "webauthn": 1}


def test_users_with_factors_lists_every_requested_user(make_site, enrolled):
    alice, bob, carol = (enrolled.find("user", 1, name)["id"] for name in ("alice", "bob", "carol"))
    found = make_site(enrolled).mfa.users_with_factors([carol, alice, bob, alice, 99999])
    assert found == {alice: ["totp", "webauthn"], bob: ["totp"], carol: [], 99999: []}


def test_users_with_factors_in_chunks(make_site, enrolled):
    site = make_site(enrolled)
    found = site.mfa.users_with_factors(range(1, 1201))
    assert len(found) == 1200
    assert sum(len(factors) for factors in found.values()) == 3


def test_no_query_reads_the_secret_column(make_site, enrolled):
    site = make_site(enrolled)
    site.mfa.enrolled_counts  # noqa: B018
    site.mfa.users_with_factors([1, 2, 3])
    mfa_queries = [r.sql for r in site.db.records if r.purpose.startswith("mfa:")]
    assert len(mfa_queries) == 2
    assert all("secret" not in sql.lower() for sql in mfa_queries)


def test_moodle_41_has_no_mfa(make_site):
    mfa = make_site(SiteBuilder(release="4.1")).mfa
    assert not mfa.available
    assert mfa.enabled_factors == ()
    assert mfa.absent_reason is not None and "Moodle 4.1" in mfa.absent_reason
