"""The pages show the store's evidence as the core API reads it, escape every Moodle value, and
keep an auditor inside their sites and audit period."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from tests.web.conftest import HTMX, XSS_NAME, XSS_USER, Fixture, login

from moodle_soc.api.dashboard import site_findings, site_overview
from moodle_soc.evidence.store.store import open_store


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_overview_shows_readiness_its_trend_failing_checks_and_monitoring_gaps(
    client: TestClient, web_store: Fixture
) -> None:
    login(client, "manager")
    html = client.get(f"/sites/{web_store.acme_key}").text
    with open_store(str(web_store.path)) as store:
        o = site_overview(store, web_store.acme_key, today=date(2026, 11, 29))
    text = _text(html)
    assert f"Readiness {o.overall_score:.1f}%" in text
    assert "Last scan (UTC) 2026-11-29 09:00" in text
    assert html.count("<polyline") == 1 + len(o.readiness)  # overall + one per category
    assert html.count('<circle class="dot series-0"') == 3  # three stored runs
    for failing in o.failing[:15]:
        assert f"/checks/{failing.check_id}" in html
    # The monitoring window ends today: weeks without a daily scan are gaps.
    assert "day(s) without a scan" in text
    assert [f.id for f in o.frameworks] == ["soc2", "soc1", "iso27001", "nist-800-53"]
    for framework in o.frameworks:
        score = "n/a" if framework.overall_score is None else f"{framework.overall_score:.1f}%"
        assert f"{framework.name} {framework.id} · {framework.version} {score}" in text


def test_monitoring_gaps_are_the_days_without_a_scan(web_store: Fixture) -> None:
    with open_store(str(web_store.path)) as store:
        o = site_overview(store, web_store.acme_key, today=date(2026, 11, 29))
    assert o.monitoring_window == (date(2026, 10, 31), date(2026, 11, 29))
    assert [(g.start, g.end) for g in o.monitoring_gaps] == [
        (date(2026, 10, 31), date(2026, 10, 31)),
        (date(2026, 11, 2), date(2026, 11, 14)),
        (date(2026, 11, 16), date(2026, 11, 28)),
    ]


def test_findings_filter_by_state_severity_and_check(
    client: TestClient, web_store: Fixture
) -> None:
    login(client, "manager")
    with open_store(str(web_store.path)) as store:
        open_high = site_findings(store, web_store.acme_key, state="open", severity="high")
    page = client.get(f"/sites/{web_store.acme_key}/findings?state=open&severity=high").text
    assert f"{len(open_high)} finding(s)." in _text(page)
    assert open_high and all(f.resolved_at is None for f in open_high)
    prefix = open_high[0].check_id.split(".")[0] + "."
    narrowed = client.get(f"/sites/{web_store.acme_key}/findings?check={prefix}").text
    ids = set(re.findall(r"/checks/([a-z_.]+)\"", narrowed))
    assert ids and all(i.startswith(prefix) for i in ids)


def test_a_checks_page_says_why_how_to_fix_and_its_history(
    client: TestClient, web_store: Fixture
) -> None:
    login(client, "manager")
    html = client.get(
        f"/sites/{web_store.acme_key}/checks/authentication.password_length_meets_policy"
    ).text
    text = _text(html)
    assert "Why it matters" in text and "Remediation" in text
    assert text.count("#") >= 3  # the check's verdict in each of the three runs
    assert "2026-11-01 09:00" in text and "2026-11-29 09:00" in text


def test_the_runs_page_verifies_the_chain_on_demand(client: TestClient, web_store: Fixture) -> None:
    login(client, "manager")
    before = _text(client.get(f"/sites/{web_store.acme_key}/runs").text)
    assert "Verify this site's chain now" in before
    after = _text(client.get(f"/sites/{web_store.acme_key}/runs?verify=true").text)
    assert "The chain is intact:" in after
    # The review campaign started on the site is one of its other evidence records.
    assert "review_campaign 2026-11-29 09:00 2026-11-29 no" in after


def test_every_moodle_value_renders_inert(client: TestClient, web_store: Fixture) -> None:
    login(client, "manager")
    pages = [
        "/",
        f"/sites/{web_store.evil_key}",
        f"/sites/{web_store.evil_key}/findings",
        f"/sites/{web_store.evil_key}/runs",
        f"/reviews/{web_store.evil_campaign}",
        "/reviews",
    ]
    for path in pages:
        html = client.get(path).text.replace(HTMX, "")
        assert "<script" not in html, path
        assert "<img" not in html, path
    assert "&lt;script&gt;alert(&#39;site&#39;)&lt;/script&gt;Evil &amp; Co" in client.get("/").text
    review = client.get(f"/reviews/{web_store.evil_campaign}").text
    assert "&lt;img src=x onerror=alert(&#39;user&#39;)&gt;" in review
    assert XSS_NAME not in review and XSS_USER not in review


def test_an_auditor_sees_only_their_sites_and_their_audit_period(
    client: TestClient, web_store: Fixture
) -> None:
    login(client, "auditor")
    sites = client.get("/").text
    assert "Acme Academy" in sites and "Evil" not in sites
    assert client.get(f"/sites/{web_store.evil_key}").status_code == 404
    assert client.get(f"/api/v1/sites/{web_store.evil_key}").status_code == 404
    outside = client.get(f"/sites/{web_store.acme_key}/period?start=2026-01-01&end=2026-11-30")
    assert outside.status_code == 403
    assert "Your audit period is 2026-11-01..2026-11-30" in outside.text
    assert client.get(f"/sites/{web_store.acme_key}/export.zip?start=2026-10-01").status_code == 403
    assert [s["name"] for s in client.get("/api/v1/sites").json()] == ["Acme Academy"]


def test_the_json_api_returns_the_overview(client: TestClient, web_store: Fixture) -> None:
    login(client, "manager")
    body = client.get(f"/api/v1/sites/{web_store.acme_key}").json()
    with open_store(str(web_store.path)) as store:
        o = site_overview(store, web_store.acme_key)
    assert body["overall_score"] == o.overall_score
    assert [c["category"] for c in body["readiness"]] == [c.category for c in o.readiness]
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "moodle-soc dashboard"


def test_views_downloads_and_sign_ins_are_in_the_admin_audit_log(
    client: TestClient, web_store: Fixture
) -> None:
    login(client, "admin")
    client.get(f"/sites/{web_store.acme_key}/findings.csv")
    client.get(f"/sites/{web_store.acme_key}/runs")
    client.app.state.audit_queue.flush()  # type: ignore[attr-defined]  # views are batched
    log = _text(client.get("/admin/audit").text.replace("<wbr>", ""))
    assert "admin login" in log
    assert f"admin view /sites/{web_store.acme_key}/runs" in log
    assert f"admin download /sites/{web_store.acme_key}/findings.csv" in log


def test_the_readiness_page_shows_the_programme_exceptions_and_remediation_items(
    client: TestClient, web_store: Fixture
) -> None:
    from moodle_soc.api.readiness import add_exception, remediation_items

    with open_store(str(web_store.path)) as store:
        exception = add_exception(
            store, site=web_store.acme_key, check="authentication.mfa_enabled",
            reason="SSO enforces MFA <until Q1>.", owner="IT lead", approver="CISO",
            expires=date.today() + timedelta(days=90), created_by="compliance",
        )  # fmt: skip
        overdue = remediation_items(store, site=web_store.acme_key, status="overdue")
    login(client, "manager")
    html = client.get(f"/sites/{web_store.acme_key}/readiness?status=overdue").text
    text = _text(html)
    assert f"{len(overdue)} item(s)." in text
    assert all(item.id in text for item in overdue)
    assert f"{exception.id} authentication.mfa_enabled all SSO enforces MFA <until Q1>." in _text(
        html.replace("<wbr>", "")
    ).replace("&lt;", "<").replace("&gt;", ">")
    assert "SSO enforces MFA &lt;until Q1&gt;." in html
    assert "Checklist" in text and "Manual controls" in text
    csv_text = client.get(f"/sites/{web_store.acme_key}/remediation.csv").text
    assert all(item.id in csv_text for item in overdue)


def test_the_period_page_lists_log_reviews_and_the_days_none_covers(
    client: TestClient, web_store: Fixture
) -> None:
    login(client, "auditor")
    text = _text(client.get(f"/sites/{web_store.acme_key}/period").text)
    assert "No signed-off log review covers days of this period." in text
    assert "Days no signed-off log review covers: 2026-11-01..2026-11-30." in text
