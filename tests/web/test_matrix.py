"""Every route × every role, anonymous and an expired auditor included: the rule each route
declares (``web.access.RULES``) is the one enforced, and docs/web.md lists exactly these rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import REVIEWER, Fixture, login

from moodle_soc.web.access import Rule
from moodle_soc.web.app import declared_rules

DOCS = Path(__file__).resolve().parents[2] / "docs" / "web.md"
PERIOD = "?start=2026-11-01&end=2026-11-30"
# A concrete request per route, and its status when the role may use it. Signing off a
# campaign with undecided entries is refused (400): the rule let the reviewer through.
REQUESTS: dict[tuple[str, str], tuple[str, int, dict[str, str] | None]] = {
    ("GET", "/"): ("/", 200, None),
    ("GET", "/sites/{site_key}"): ("/sites/{acme}", 200, None),
    ("GET", "/sites/{site_key}/findings"): ("/sites/{acme}/findings?state=open", 200, None),
    ("GET", "/sites/{site_key}/checks/{check_id}"): (
        "/sites/{acme}/checks/authentication.password_length_meets_policy", 200, None),
    ("GET", "/sites/{site_key}/runs"): ("/sites/{acme}/runs?verify=true", 200, None),
    ("GET", "/sites/{site_key}/period"): ("/sites/{acme}/period" + PERIOD, 200, None),
    ("GET", "/sites/{site_key}/changes"): ("/sites/{acme}/changes" + PERIOD, 200, None),
    ("GET", "/sites/{site_key}/readiness"): ("/sites/{acme}/readiness", 200, None),
    ("GET", "/sites/{site_key}/remediation.{fmt}"): ("/sites/{acme}/remediation.csv", 200, None),
    ("GET", "/sites/{site_key}/report.{fmt}"): ("/sites/{acme}/report.json", 200, None),
    ("GET", "/sites/{site_key}/findings.csv"): ("/sites/{acme}/findings.csv", 200, None),
    ("GET", "/sites/{site_key}/attachments/{seq}"): ("/sites/{acme}/attachments/1", 400, None),
    ("GET", "/sites/{site_key}/period.{fmt}"): ("/sites/{acme}/period.json" + PERIOD, 200, None),
    ("GET", "/sites/{site_key}/export.zip"): ("/sites/{acme}/export.zip" + PERIOD, 200, None),
    ("GET", "/sites/{site_key}/oscal.json"): ("/sites/{acme}/oscal.json" + PERIOD, 200, None),
    ("GET", "/reviews"): ("/reviews", 200, None),
    ("GET", "/reviews/{campaign_id}"): ("/reviews/{campaign}", 200, None),
    ("GET", "/reviews/{campaign_id}/review.{fmt}"): ("/reviews/{campaign}/review.csv", 200, None),
    ("GET", "/reviews/{campaign_id}/report.html"): ("/reviews/{campaign}/report.html", 200, None),
    ("POST", "/reviews/{campaign_id}/decisions"): (
        "/reviews/{campaign}/decisions", 303, {"key": "{entry}", "decision": "keep"}),
    ("POST", "/reviews/{campaign_id}/signoff"): ("/reviews/{campaign}/signoff", 400, {}),
    ("GET", "/admin/users"): ("/admin/users", 200, None),
    ("POST", "/admin/users/{username}/{change}"): ("/admin/users/manager/disable", 303, {}),
    ("GET", "/admin/audit"): ("/admin/audit", 200, None),
    ("GET", "/api/v1/sites"): ("/api/v1/sites", 200, None),
    ("GET", "/api/v1/sites/{site_key}"): ("/api/v1/sites/{acme}", 200, None),
    ("GET", "/api/v1/sites/{site_key}/findings"): ("/api/v1/sites/{acme}/findings", 200, None),
}  # fmt: skip
PUBLIC = {"/healthz": 200, "/login": 200, "/static/app.css": 200, "/trust": 404}
CALLERS = ("anonymous", "admin", "manager", "reviewer", "auditor", "expired-auditor")
ACCOUNTS = {"reviewer": REVIEWER}


def test_every_route_has_a_rule_and_a_request_in_this_matrix(client: TestClient) -> None:
    routes = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        included = getattr(route, "original_router", None)  # an included router's routes
        routes.extend(included.routes if included is not None else [route])
    served = {
        (method, route.path)
        for route in routes
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD"
        and route.path not in ("/login", "/logout", "/healthz", "/trust")
        and not route.path.startswith("/api/v1/openapi")
    }
    assert served == set(declared_rules()) == set(REQUESTS)


def _expected(rule: Rule, caller: str, ok: int, path: str) -> int:
    if caller in ("anonymous", "expired-auditor"):  # the expired auditor cannot sign in
        return 401 if path.startswith("/api/") else 303
    assert rule.roles is not None
    return ok if caller in rule.roles else 403


@pytest.mark.parametrize("caller", CALLERS)
def test_each_route_answers_each_role_as_its_rule_says(
    client: TestClient, web_store: Fixture, caller: str
) -> None:
    csrf = ""
    if caller == "expired-auditor":
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        refused = client.post("/login", data={"username": caller, "password": "correct horse "
                              "battery", "csrf_token": token.group(1)})  # fmt: skip
        assert refused.status_code == 401
    elif caller != "anonymous":
        csrf = login(client, ACCOUNTS.get(caller, caller))
    entry = _first_entry(web_store)
    seen = {}
    for (method, pattern), (url, _ok, form_data) in REQUESTS.items():
        target = url.format(acme=web_store.acme_key, campaign=web_store.acme_campaign)
        if method == "GET":
            answer = client.get(target)
        else:
            data = {k: v.format(entry=entry) for k, v in (form_data or {}).items()}
            answer = client.post(target, data={**data, "csrf_token": csrf})
        seen[(method, pattern)] = answer.status_code
    expected = {
        key: _expected(declared_rules()[key], caller, ok, url)
        for key, (url, ok, _) in REQUESTS.items()
    }
    assert seen == expected
    for path, status in PUBLIC.items():
        assert client.get(path).status_code == status


def _first_entry(web_store: Fixture) -> str:
    from moodle_soc.api.reviews import get_review
    from moodle_soc.evidence.store.store import open_store

    with open_store(str(web_store.path)) as store:
        return get_review(store, web_store.acme_campaign).entries[0].key


def test_docs_web_md_lists_every_route_with_its_roles() -> None:
    """docs/web.md's table: one row per route, a ✓ under each role that may use it."""
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in ("GET", "POST"):
            method, path, *marks = cells
            roles = tuple(r for r, m in zip(("admin", "manager", "reviewer", "auditor"), marks,
                                           strict=True) if m)  # fmt: skip
            rows[(method, path.strip("`"))] = roles
    assert rows == {key: rule.roles for key, rule in declared_rules().items()}
