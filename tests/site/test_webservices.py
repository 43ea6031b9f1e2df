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
