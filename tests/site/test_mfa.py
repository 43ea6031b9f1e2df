"""The MFA area of the site layer: factor settings and enrolment, never the secrets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

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


def _ids(site, *ids):
    user = site.db.table("user")
    return sa.select(user.c.id).where(user.c.id.in_(ids))


def test_factors_within_a_population_skip_revoked_rows_and_outsiders(make_site, enrolled):
    alice, bob, carol = (enrolled.find("user", 1, name)["id"] for name in ("alice", "bob", "carol"))
    site = make_site(enrolled)
    found = site.mfa.factors_within(_ids(site, carol, alice, bob, 99999))
    assert found == {alice: ["totp", "webauthn"], bob: ["totp"]}  # carol's factor is revoked
    assert site.mfa.factors_within(_ids(site, bob)) == {bob: ["totp"]}


def test_factors_within_everyone(make_site, enrolled):
    alice, bob = (enrolled.find("user", 1, name)["id"] for name in ("alice", "bob"))
    assert make_site(enrolled).mfa.factors_within(None) == {
        alice: ["totp", "webauthn"],
        bob: ["totp"],
    }


def test_factors_of_a_large_population_are_one_query(make_site, enrolled):
    """The population is a SELECT the database joins against: 1,200 users are not 3 batches."""
    site = make_site(enrolled)
    user = site.db.table("user")
    population = sa.select(user.c.id).where(user.c.id < 1201)
    assert sum(len(f) for f in site.mfa.factors_within(population).values()) == 3
    queries = [r for r in site.db.records if r.purpose.startswith("mfa: factors held")]
    assert len(queries) == 1 and " IN (SELECT " in queries[0].sql


def test_no_query_reads_the_secret_column(make_site, enrolled):
    site = make_site(enrolled)
    site.mfa.enrolled_counts  # noqa: B018
    site.mfa.factors_within(_ids(site, 1, 2, 3))
    mfa_queries = [r.sql for r in site.db.records if r.purpose.startswith("mfa:")]
    assert len(mfa_queries) == 2
    assert all("secret" not in sql.lower() for sql in mfa_queries)


def test_moodle_41_has_no_mfa(make_site):
    mfa = make_site(SiteBuilder(release="4.1")).mfa
    assert not mfa.available
    assert mfa.enabled_factors == ()
    assert mfa.absent_reason is not None and "Moodle 4.1" in mfa.absent_reason
