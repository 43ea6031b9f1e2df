"""WebServices reads token properties with their owner and service, never the secrets."""

from __future__ import annotations

from moodle_soc.synthetic.builder import SiteBuilder

SECRET_SQL = ("external_tokens.token,", "external_tokens.token ", "privatetoken", ".sid")


def _secrets(builder: SiteBuilder) -> list[str]:
    rows = builder.rows("external_tokens")
    return [str(row[c]) for row in rows for c in ("token", "privatetoken") if row[c]]


def test_tokens_join_owner_and_service_without_secret_columns(builder, make_site):
    builder.service("acme_sis", restrictedusers=1)
    svc = builder.user("svc_integration")
    gone = builder.user("leaver", deleted=1)
    builder.token(svc, service="acme_sis", iprestriction=" 10.0.0.0/8 ", validuntil=1, name="sis")
    builder.token(gone, lastaccess=1795900000, tokentype=1)
    site = make_site(builder)

    first, second = site.webservices.tokens()

    assert (first.username, first.service, first.iprestriction, first.name) == (
        "svc_integration",
        "acme_sis",
        "10.0.0.0/8",
        "sis",
    )
    assert first.label == 'Token 1 "sis" of user svc_integration for service acme_sis'
    assert second.user_deleted and second.embedded and second.iprestriction is None
    assert second.lastaccess == 1795900000 and not second.validuntil
    sql = " ".join(record.sql for record in site.db.records)
    assert not any(fragment in sql for fragment in SECRET_SQL)
    shown = repr(site.webservices.tokens()) + repr([t.observed() for t in (first, second)])
    assert not any(secret in shown for secret in _secrets(builder))


def test_token_names_are_feature_detected_before_4_3(make_site):
    builder = SiteBuilder(release="4.1")
    builder.token(2)
    site = make_site(builder)

    (token,) = site.webservices.tokens()

    assert (
        token.name is None and token.label == "Token 1 of user admin for service moodle_mobile_app"
    )


def test_a_token_of_a_missing_user_is_still_listed(builder, make_site):
    builder.token(999)
    (token,) = make_site(builder).webservices.tokens()
    assert token.username is None and token.owner == "missing user 999"


def test_enabled_services_leave_out_disabled_ones(builder, make_site):
    builder.service("acme_sis", restrictedusers=1)
    builder.service("legacy_reports", enabled=0)

    services = make_site(builder).webservices.enabled_services()

    assert [(s.shortname, s.restrictedusers) for s in services] == [("acme_sis", True)]


def test_service_functions_carry_the_risks_of_their_declared_capabilities(builder, make_site):
    # A 4.1 plugin that declared its capabilities as a PHP array left the word "Array" behind.
    builder.external_function("local_x_sync", "local_x", "Array")
    sis = builder.service("acme_sis", functions=("core_user_create_users", "local_x_sync"))
    builder.add("external_services_functions", {"externalserviceid": sis, "functionname": "gone"})
    builder.service("off", enabled=0, functions=("core_user_create_users",))
    site = make_site(builder)

    found = {f.name: f for f in site.webservices.service_functions()}

    assert sorted(found) == ["core_user_create_users", "gone", "local_x_sync"]
    create = found["core_user_create_users"]
    assert (create.serviceid, create.component, create.capabilities) == (
        sis,
        "moodle",
        ("moodle/user:create",),
    )
    assert create.risks == 24 and create.unknown_capabilities == ()  # RISK_PERSONAL | RISK_SPAM
    assert found["local_x_sync"].risks == 0
    assert found["local_x_sync"].unknown_capabilities == ("Array",)
    assert found["gone"].component is None  # listed, but no longer installed
