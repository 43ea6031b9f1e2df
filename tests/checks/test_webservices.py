"""Web-service checks, one parametrized test each, on records named by their outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_soc.checks import webservices as checks
from moodle_soc.checks.context import ScanContext
from moodle_soc.policy import Policy
from moodle_soc.results import Result, Severity, Status
from moodle_soc.synthetic.builder import SiteBuilder

PASS, FAIL = Status.PASS, Status.FAIL
NOW = 1795936000
DAY = 86400
Case = tuple[Callable[[SiteBuilder], Any], list[tuple[Status, str, str]]]


def svc(b: SiteBuilder) -> int:
    b.service("acme_sis", restrictedusers=1)
    return b.user("svc_integration")


def judge(check: Any, builder: SiteBuilder, make_site: Any, record: str, cases: dict[str, Case]):
    build, expected = cases[record]
    build(builder)
    results: list[Result] = list(check(ScanContext(make_site(builder), Policy())))
    assert [(r.status, r.resource) for r in results] == [(s, res) for s, res, _ in expected]
    for result, (_, _, says) in zip(results, expected, strict=True):
        assert says in result.reason, result.reason
    shown = repr(results)
    for row in builder.rows("external_tokens"):
        assert row["token"] not in shown and row["privatetoken"] not in shown
    return results


PROTOCOLS: dict[str, Case] = {
    "webservices_disabled": (lambda b: None, [(PASS, "site", "Web services are disabled.")]),
    "no_protocol_enabled": (
        lambda b: b.setting("enablewebservices", 1),
        [(PASS, "site", "no web service protocol is enabled")],
    ),
    "rest_only": (
        lambda b: (b.setting("enablewebservices", 1), b.setting("webserviceprotocols", "rest")),
        [(PASS, "plugin:webservice_rest", "protocol rest is enabled and is approved")],
    ),
    "soap_and_rest": (
        lambda b: (
            b.setting("enablewebservices", 1),
            b.setting("webserviceprotocols", "soap,rest"),
        ),
        [
            (FAIL, "plugin:webservice_soap", "soap is enabled and is not among the approved"),
            (PASS, "plugin:webservice_rest", "rest is enabled and is approved"),
        ],
    ),
}


@pytest.mark.parametrize("record", PROTOCOLS)
def test_protocols_allowed(builder, make_site, record):
    results = judge(checks.protocols_allowed, builder, make_site, record, PROTOCOLS)
    assert "enablemobilewebservice" in results[0].observed


IP: dict[str, Case] = {
    "no_tokens": (lambda b: None, [(PASS, "site", "no permanent web service tokens.")]),
    "embedded_token_only": (
        lambda b: b.token(2, tokentype=1),
        [(PASS, "site", "(1 embedded session tokens were set aside)")],
    ),
    "token_without_ip": (
        lambda b: b.token(svc(b), service="acme_sis", name="sis"),
        [(FAIL, "token:1", 'Token 1 "sis" of user svc_integration for service acme_sis has no IP')],
    ),
    "restricted_token": (
        lambda b: b.token(svc(b), service="acme_sis", iprestriction="10.20.0.0/16"),
        [(PASS, "token:1", "is restricted to 10.20.0.0/16.")],
    ),
    "deleted_users_token": (
        lambda b: b.token(b.user("leaver", deleted=1)),
        [(FAIL, "token:1", "of user leaver (deleted) for service moodle_mobile_app has no IP")],
    ),
    "expired_token_without_ip": (
        lambda b: b.token(svc(b), validuntil=NOW - DAY),
        [(PASS, "site", "1 expired token(s) (1) were set aside: Moodle refuses them")],
    ),
}


@pytest.mark.parametrize("record", IP)
def test_tokens_ip_restricted(builder, make_site, record):
    judge(checks.tokens_ip_restricted, builder, make_site, record, IP)


EXPIRY: dict[str, Case] = {
    "no_tokens": (lambda b: None, [(PASS, "site", "no permanent web service tokens.")]),
    "never_expiring_token": (
        lambda b: b.token(svc(b), service="acme_sis"),
        [(FAIL, "token:1", "never expires (validuntil 0).")],
    ),
    "expiring_token": (
        lambda b: b.token(svc(b), service="acme_sis", validuntil=NOW + 30 * DAY),
        [(PASS, "token:1", "is valid until 2026-12-29.")],
    ),
}


@pytest.mark.parametrize("record", EXPIRY)
def test_tokens_expire(builder, make_site, record):
    judge(checks.tokens_expire, builder, make_site, record, EXPIRY)


ADMINS: dict[str, Case] = {
    "no_tokens": (lambda b: None, [(PASS, "site", "no permanent web service tokens.")]),
    "admin_token": (
        lambda b: b.token(2),
        [(FAIL, "token:1", "of user admin for service moodle_mobile_app belongs to a site admin")],
    ),
    "second_admins_token": (
        lambda b: (b.make_site_admin(uid := b.user("itops")), b.token(svc(b)), b.token(uid)),
        [(FAIL, "token:2", "of user itops for service moodle_mobile_app belongs to a site admin")],
    ),
    "service_account_token": (
        lambda b: b.token(svc(b), service="acme_sis"),
        [(PASS, "site", "No web service token belongs to a site administrator (the only")],
    ),
    "admins_expired_token": (
        lambda b: (b.token(2, validuntil=NOW - DAY), b.token(svc(b), service="acme_sis")),
        [
            (PASS, "site", "1 expired token(s) (1) were set aside"),
            (PASS, "site", "No web service token belongs to a site administrator (the only"),
        ],
    ),
}


@pytest.mark.parametrize("record", ADMINS)
def test_tokens_not_owned_by_admins(builder, make_site, record):
    judge(checks.tokens_not_owned_by_admins, builder, make_site, record, ADMINS)


EXPIRED: dict[str, Case] = {
    "no_tokens": (lambda b: None, [(PASS, "site", "no permanent web service tokens.")]),
    "expired_token_left": (
        lambda b: b.token(svc(b), validuntil=NOW - 30 * DAY),
        [(FAIL, "token:1", "expired on 2026-10-30 but is still present.")],
    ),
    "valid_and_never_expiring_tokens": (
        lambda b: (b.token(svc(b), validuntil=NOW + DAY), b.token(2)),
        [(PASS, "site", "No web service token is past its expiry date (2 permanent tokens")],
    ),
}


@pytest.mark.parametrize("record", EXPIRED)
def test_expired_tokens_removed(builder, make_site, record):
    judge(checks.expired_tokens_removed, builder, make_site, record, EXPIRED)


IN_USE: dict[str, Case] = {
    "no_tokens": (lambda b: None, [(PASS, "site", "no permanent web service tokens.")]),
    "recently_used_token": (
        lambda b: b.token(svc(b), lastaccess=NOW - DAY, timecreated=NOW - 400 * DAY),
        [(PASS, "token:1", "was last used on 2026-11-28; the policy allows 90 idle days.")],
    ),
    "idle_token": (
        lambda b: b.token(svc(b), lastaccess=NOW - 91 * DAY, timecreated=NOW - 400 * DAY),
        [(FAIL, "token:1", "was last used on 2026-08-30; the policy allows 90 idle days.")],
    ),
    "new_unused_token": (
        lambda b: b.token(svc(b), timecreated=NOW - 10 * DAY),
        [(PASS, "token:1", "has never been used since its creation on 2026-11-19")],
    ),
    "old_unused_token": (
        lambda b: b.token(svc(b), timecreated=NOW - 100 * DAY),
        [(FAIL, "token:1", "has never been used since its creation on 2026-08-21")],
    ),
}


@pytest.mark.parametrize("record", IN_USE)
def test_tokens_in_use(builder, make_site, record):
    judge(checks.tokens_in_use, builder, make_site, record, IN_USE)


def web_services_on(b: SiteBuilder) -> None:
    b.setting("enablewebservices", 1)


SERVICES: dict[str, Case] = {
    "web_services_off": (
        lambda b: b.service("acme_sis"),
        [(PASS, "site", "Web services are disabled (enablewebservices)")],
    ),
    "only_the_mobile_app": (
        lambda b: (web_services_on(b), b.service("moodle_mobile_app", component="moodle")),
        [(PASS, "site", "No external service other than the mobile app's is enabled.")],
    ),
    "integration_open_to_all": (
        lambda b: (web_services_on(b), b.service("acme_sis", name="Acme SIS")),
        [(FAIL, "service:2", "'Acme SIS' (acme_sis), added on the site, is enabled and is open")],
    ),
    "integration_for_authorised_users": (
        lambda b: (web_services_on(b), b.service("acme_sis", restrictedusers=1)),
        [(PASS, "service:2", "is enabled and is limited to authorised users.")],
    ),
    "plugin_service_open_to_all": (
        lambda b: (web_services_on(b), b.service("mod_x_app", component="mod_x")),
        [(FAIL, "service:2", "(mod_x_app), of mod_x, is enabled and is open to all users.")],
    ),
    "disabled_integration": (
        lambda b: (web_services_on(b), b.service("acme_sis", enabled=0)),
        [(PASS, "site", "No external service other than the mobile app's is enabled.")],
    ),
}


@pytest.mark.parametrize("record", SERVICES)
def test_services_restricted_to_users(builder, make_site, record):
    results = judge(checks.services_restricted_to_users, builder, make_site, record, SERVICES)
    if record == "plugin_service_open_to_all":
        assert results[0].severity is Severity.LOW  # runs with each caller's own permissions
    if record == "integration_open_to_all":
        assert results[0].severity is None and results[0].observed["restrictedusers"] is False


def file_service(b: SiteBuilder, **files: int) -> None:
    web_services_on(b)
    b.update("external_services", b.service("acme_sis", restrictedusers=1), **files)


FILES: dict[str, Case] = {
    "web_services_off": (
        lambda b: b.service("acme_sis"),
        [(PASS, "site", "Web services are disabled (enablewebservices)")],
    ),
    "no_file_transfer": (
        lambda b: file_service(b),
        [(PASS, "service:2", "is enabled and cannot download or upload files.")],
    ),
    "downloads_files": (
        lambda b: file_service(b, downloadfiles=1),
        [(FAIL, "service:2", "is enabled and can download files.")],
    ),
    "moves_files_both_ways": (
        lambda b: file_service(b, downloadfiles=1, uploadfiles=1),
        [(FAIL, "service:2", "is enabled and can download and upload files.")],
    ),
    "mobile_app_moves_files": (
        lambda b: (web_services_on(b), b.service("moodle_mobile_app", component="moodle")),
        [(PASS, "site", "No external service other than the mobile app's is enabled.")],
    ),
}


@pytest.mark.parametrize("record", FILES)
def test_services_file_transfer_limited(builder, make_site, record):
    judge(checks.services_file_transfer_limited, builder, make_site, record, FILES)


SIS_FUNCTIONS = (
    "core_user_create_users",  # write, declares moodle/user:create (RISK_PERSONAL | RISK_SPAM)
    "core_user_get_users_by_field",  # read, declares RISK_PERSONAL capabilities
    "core_webservice_get_site_info",  # read, declares nothing
)


def sis(b: SiteBuilder, *, restricted: int = 0, functions: tuple[str, ...] = SIS_FUNCTIONS) -> int:
    """Web services on, the acme_sis service with its functions, and its service account."""
    web_services_on(b)
    b.service("acme_sis", restrictedusers=restricted, functions=functions)
    return b.user("svc_integration")


def local_functions(b: SiteBuilder) -> None:
    """A plugin's functions the shipped type table cannot know: judged by capabilities only."""
    b.external_function("local_acme_purge", "local_acme", "moodle/site:config")
    b.external_function("local_acme_ping", "local_acme", "")
    b.token(sis(b, functions=("local_acme_purge", "local_acme_ping")), service="acme_sis")


MANUAL = Status.MANUAL
FUNCTIONS: dict[str, Case] = {
    "web_services_off": (
        lambda b: b.service("acme_sis", functions=SIS_FUNCTIONS),
        [(PASS, "site", "Web services are disabled (enablewebservices)")],
    ),
    "service_without_live_token": (
        lambda b: b.token(sis(b), service="acme_sis", validuntil=NOW - DAY),
        [(PASS, "site", "No live permanent token reaches an enabled external service")],
    ),
    "open_service_token_from_anywhere": (
        lambda b: b.token(sis(b), service="acme_sis"),
        [
            (
                FAIL,
                "service:2:core_user_create_users",
                "lists core_user_create_users, a write"
                " function declaring RISK_PERSONAL, and the service is open to all users; token(s)"
                " 1 work from any IP address.",
            ),
            (
                FAIL,
                "service:2:core_user_get_users_by_field",
                "a read function declaring RISK_PERSONAL",
            ),
            (
                PASS,
                "service:2",
                "also lists functions that declare no configuration, trust,"
                " data-loss or personal-data risk and are not known to write (1 read).",
            ),
        ],
    ),
    "admin_token_on_restricted_service": (
        lambda b: (
            sis(b, restricted=1),
            b.token(2, service="acme_sis", iprestriction="10.0.0.0/8"),
        ),
        [
            (FAIL, "service:2:core_user_create_users", "token(s) 1 act as a site administrator."),
            (FAIL, "service:2:core_user_get_users_by_field", "act as a site administrator."),
            (PASS, "service:2", "(1 read)"),
        ],
    ),
    "bound_token_on_restricted_service": (
        lambda b: b.token(sis(b, restricted=1), service="acme_sis", iprestriction="10.0.0.0/8"),
        [
            (
                MANUAL,
                "service:2:core_user_create_users",
                "only an approval decides: confirm it or"
                " list it in moodle-soc.yaml (policy.approved_ws_functions).",
            ),
            (MANUAL, "service:2:core_user_get_users_by_field", "only an approval decides"),
            (PASS, "service:2", "(1 read)"),
        ],
    ),
    "plugin_functions_of_unknown_type": (
        local_functions,
        [
            (
                FAIL,
                "service:2:local_acme_purge",
                "lists local_acme_purge, a function of unknown"
                " type (not in the shipped data) declaring RISK_CONFIG, RISK_PERSONAL,"
                " RISK_DATALOSS, and the service is open to all users",
            ),
            (PASS, "service:2", "(1 unknown type)"),
        ],
    ),
}


@pytest.mark.parametrize("record", FUNCTIONS)
def test_token_functions_approved(builder, make_site, record):
    results = judge(checks.token_functions_approved, builder, make_site, record, FUNCTIONS)
    by_resource = {r.resource: r for r in results}
    if record == "open_service_token_from_anywhere":
        write = by_resource["service:2:core_user_create_users"]
        read = by_resource["service:2:core_user_get_users_by_field"]
        assert write.severity is None and read.severity is Severity.MEDIUM  # data, not change
        assert write.observed["type"] == "write"
        assert write.observed["functions_page"] == "admin/webservice/service_functions.php?id=2"
        assert by_resource["service:2"].observed["read"] == ["core_webservice_get_site_info"]
    if record == "plugin_functions_of_unknown_type":
        assert by_resource["service:2:local_acme_purge"].observed["type"] is None
        assert by_resource["service:2"].observed["unknown_type"] == ["local_acme_ping"]


@pytest.mark.parametrize(
    ("approved", "expected"),
    [
        (("acme_sis:core_user_create_users", "2:core_user_get_users_by_field"), [PASS, PASS]),
        (("acme_sis:core_user_create_users",), [PASS, FAIL]),
        ((), [FAIL, FAIL]),
    ],
)
def test_token_functions_approved_by_policy(builder, make_site, approved, expected):
    """With an approved list, the list alone decides, whatever the token's restrictions."""
    builder.token(sis(builder, restricted=1), service="acme_sis", iprestriction="10.0.0.0/8")
    policy = Policy(approved_ws_functions=approved)
    results = list(checks.token_functions_approved(ScanContext(make_site(builder), policy)))
    assert [r.status for r in results[:2]] == expected
    assert [r.resource for r in results[:2]] == [
        "service:2:core_user_create_users",
        "service:2:core_user_get_users_by_field",
    ]
    assert all(
        ("is in the approved list." if s is PASS else "is not in the approved list.") in r.reason
        for s, r in zip(expected, results, strict=False)
    )
