"""Privacy checks, one parametrized test each, on records named by their outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_soc.checks import privacy as checks
from moodle_soc.checks.context import ScanContext
from moodle_soc.policy import Policy
from moodle_soc.results import Status
from moodle_soc.synthetic.builder import SiteBuilder

PASS, FAIL = Status.PASS, Status.FAIL
NOW = 1795936000
DAY = 86400
Case = tuple[Callable[[SiteBuilder], Any], list[tuple[Status, str, str]]]


def judge(check: Any, builder: SiteBuilder, make_site: Any, case: Case) -> list[Any]:
    build, expected = case
    build(builder)
    results = list(check(ScanContext(make_site(builder), Policy())))
    assert [(r.status, r.resource) for r in results] == [(s, res) for s, res, _ in expected]
    for result, (_, _, says) in zip(results, expected, strict=True):
        assert says in result.reason, result.reason
    return results


DPO_SETTING = "setting:tool_dataprivacy/contactdataprotectionofficer"
DPO: dict[str, Case] = {
    "dpo_contact_off": (lambda b: None, [(FAIL, DPO_SETTING, "is disabled (privacy officer")]),
    "dpo_contact_on": (
        lambda b: (
            b.setting("contactdataprotectionofficer", 1, "tool_dataprivacy"),
            b.setting("dporoles", "1,9", "tool_dataprivacy"),
        ),
        [(PASS, DPO_SETTING, "is enabled (privacy officer role ids: 1, 9).")],
    ),
}


@pytest.mark.parametrize("record", DPO)
def test_dpo_contact_enabled(builder, make_site, record):
    results = judge(checks.dpo_contact_enabled, builder, make_site, DPO[record])
    assert "tool_dataprivacy/dporoles" in results[0].observed


def tool_policy(b: SiteBuilder) -> None:
    b.setting("sitepolicyhandler", "tool_policy")


SITE_POLICY: dict[str, Case] = {
    "no_site_policy": (lambda b: None, [(FAIL, "site", "core one and the site policy URL")]),
    "core_policy_url": (
        lambda b: b.setting("sitepolicy", "https://acme.example.test/policy.html"),
        [(PASS, "site", "(sitepolicy) is https://acme.example.test/policy.html.")],
    ),
    "enforced_tool_policy": (
        lambda b: (tool_policy(b), b.policy("Acceptable use", type=0)),
        [(PASS, "site", "tool_policy with 1 active compulsory site or privacy policy version(s)")],
    ),
    "policies_not_handled": (
        lambda b: b.policy("Acceptable use"),
        [(FAIL, "site", "site policy URL (sitepolicy) is empty.")],
    ),
    "only_optional_policies": (
        lambda b: (tool_policy(b), b.policy("Newsletter", type=1, optional=1)),
        [(FAIL, "site", "tool_policy with 0 active compulsory")],
    ),
    "only_third_party_policy": (
        lambda b: (tool_policy(b), b.policy("Vendor terms", type=2)),
        [(FAIL, "site", "tool_policy with 0 active compulsory")],
    ),
    "unknown_handler": (
        lambda b: b.setting("sitepolicyhandler", "local_terms"),
        [(FAIL, "site", "The site policy handler is local_terms, which this tool cannot verify.")],
    ),
}


@pytest.mark.parametrize("record", SITE_POLICY)
def test_site_policy_enforced(builder, make_site, record):
    judge(checks.site_policy_enforced, builder, make_site, SITE_POLICY[record])


def request(days_ago: int, status: int = 0, type: int = 1) -> Callable[[SiteBuilder], Any]:
    def build(b: SiteBuilder) -> None:
        user = b.user(f"subject{b.next_id('user')}")
        b.privacy_request(user, type=type, status=status, timecreated=NOW - days_ago * DAY)

    return build


def many_late_requests(b: SiteBuilder) -> None:
    for _ in range(checks.REQUEST_LIMIT + 2):
        request(40)(b)


REQUESTS: dict[str, Case] = {
    "no_requests": (lambda b: None, [(PASS, "site", "No data request has been open for longer")]),
    "recent_request": (request(5), [(PASS, "site", "longer than 30 days.")]),
    "completed_old_request": (request(90, status=5), [(PASS, "site", "longer than 30 days.")]),
    "overdue_request": (
        request(45, status=2, type=2),
        [(FAIL, "privacy_request:1", "(delete) of user 3 has been awaiting approval since")],
    ),
    "many_late_requests": (
        many_late_requests,
        [(FAIL, f"privacy_request:{i}", f"Data request {i} (export)") for i in range(1, 51)]
        + [(FAIL, "site", "52 data requests are open for longer than 30 days; only the oldest 50")],
    ),
}


@pytest.mark.parametrize("record", REQUESTS)
def test_data_requests_handled_timely(builder, make_site, record):
    judge(checks.data_requests_handled_timely, builder, make_site, REQUESTS[record])
