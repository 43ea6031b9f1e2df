"""End to end in a real browser (Debian's chromium, driven by Playwright; no browser download):
a manager reads a site, a reviewer decides and signs off, an auditor downloads the export
package, and XSS payloads in a site's names never run. Screenshots of the main pages are saved
to build/screenshots/ as test artefacts."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from tests.web.conftest import PASSWORD, REVIEWER, Fixture

from moodle_soc.api.evidence import verify_package
from moodle_soc.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (scripts/setup installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(web_store: Fixture) -> Iterator[str]:
    """The dashboard on a free loopback port, served by uvicorn in a thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(str(web_store.path)), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")  # fmt: skip
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started, "the dashboard did not start"
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


def _sign_in(browser, base: str, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page, alerts


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_manager_reads_a_sites_overview_and_xss_never_runs(
    browser, server: str, web_store: Fixture
) -> None:  # type: ignore[no-untyped-def]
    context, page, alerts = _sign_in(browser, server, "manager")
    _shot(page, "sites")
    page.click("text=Acme Academy")
    assert page.locator("h1").inner_text() == "Acme Academy"
    assert page.locator("svg polyline").count() >= 2
    _shot(page, "overview")
    page.click("nav.tabs >> text=Findings")
    page.select_option("select[name=state]", "open")
    page.click("text=Filter")
    assert "state=open" in page.url
    _shot(page, "findings")
    page.click("nav.tabs >> text=Evidence runs")
    page.click("text=Verify this site's chain now")
    assert "The chain is intact" in page.inner_text("main")
    _shot(page, "runs")
    page.click("nav.tabs >> text=Readiness")
    assert "Remediation items" in page.inner_text("main")
    _shot(page, "readiness")
    page.goto(f"{server}/sites/{web_store.evil_key}")
    page.goto(f"{server}/reviews/{web_store.evil_campaign}")
    assert "<script>alert('site')</script>Evil & Co" in page.inner_text("main")
    _shot(page, "xss-review")
    assert alerts == []
    context.close()


def test_a_reviewer_decides_and_signs_off_and_an_auditor_downloads_the_export(
    browser, server: str, web_store: Fixture, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    context, page, _ = _sign_in(browser, server, REVIEWER)
    page.click(f"text={web_store.acme_campaign}")
    from playwright.sync_api import expect

    url = page.url
    forms = page.locator("form.decide")
    total = forms.count()
    for index in range(total):  # htmx swaps the row and the counts: the page never reloads
        form = page.locator("form.decide").nth(index)
        form.locator("input[name=comment]").fill(f"still needed {index}")
        form.locator("button").click()
        expect(page.locator("#counts")).to_contain_text(f" {total - index - 1} undecided")
    assert page.url == url
    assert page.locator(".decided").count() == total
    _shot(page, "review-decided")
    page.click("text=Sign off this review")
    assert f"Signed off by {REVIEWER}" in page.inner_text("main")
    assert page.locator("form.decide").count() == 0
    _shot(page, "review-signed-off")
    context.close()

    context, page, _ = _sign_in(browser, server, "auditor")
    page.click("text=Acme Academy")
    page.click("nav.tabs >> text=Period report")
    _shot(page, "period")
    with page.expect_download() as download:
        page.click("text=auditor's export package (ZIP)")
    package = tmp_path / "package.zip"
    download.value.save_as(package)
    assert verify_package(package).ok
    context.close()
