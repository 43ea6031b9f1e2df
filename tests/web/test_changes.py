"""The changes page lists what changed between a site's stored runs over a period, read from
the store alone, with every value escaped and an auditor kept inside their period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, login, moodle_site

from moodle_soc.api.users import add_dashboard_user
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.store.runs import site_ref_for, store_run
from moodle_soc.evidence.store.store import open_store
from moodle_soc.policy import Policy
from moodle_soc.synthetic.builder import SiteBuilder
from moodle_soc.web.app import create_app

XSS_VALUE = "<script>alert('cfg')</script>evil.test"
SCANS = (
    datetime(2026, 10, 20, 9, 0, tzinfo=UTC),  # before the auditor's period: the baseline
    datetime(2026, 11, 5, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def changed_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Three runs of one site: allowemailaddresses acme.test, then old.test (between the
    October and the first November run), then an XSS payload (between the November runs)."""
    path = tmp_path_factory.mktemp("changes-store") / "evidence.sqlite"
    builder = SiteBuilder(site_name="Changing Site", seed=7)
    with open_store(str(path), create=True) as store:
        for moment, value in zip(SCANS, ("acme.test", "old.test", XSS_VALUE), strict=True):
            builder.setting("allowemailaddresses", value)
            run = run_scan(ScanContext(moodle_site(builder, moment), Policy()))
            store_run(store, run)
        add_dashboard_user(store, "manager", password=PASSWORD, role="manager")
        add_dashboard_user(
            store, "auditor", password=PASSWORD, role="auditor", sites=["Changing Site"],
            period=(date(2026, 11, 1), date(2026, 11, 30)), expires=date(2099, 12, 31),
        )  # fmt: skip
    return path, site_ref_for(run).key


@pytest.fixture
def changes_client(changed_store: tuple[Path, str]) -> Iterator[TestClient]:
    with TestClient(create_app(str(changed_store[0])), follow_redirects=False) as test_client:
        yield test_client


def _rows(html: str) -> int:
    return html.count("<td>setting</td>")


def test_the_changes_page_lists_setting_changes_between_runs_with_values_escaped(
    changes_client: TestClient, changed_store: tuple[Path, str]
) -> None:
    login(changes_client, "manager")
    page = changes_client.get(f"/sites/{changed_store[1]}/changes?start=2026-11-01&end=2026-11-30")
    assert page.status_code == 200
    html = page.text
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#39;cfg&#39;)&lt;/script&gt;evil.test" in html
    # the baseline run of October shows the change acme.test -> old.test too
    assert "<code>acme.test</code>" in html and "<code>old.test</code>" in html
    assert _rows(html) == 2
    assert "3 compared" in html
    assert f'href="/sites/{changed_store[1]}/changes" class="on"' in html


def test_an_auditor_sees_only_the_changes_between_runs_of_their_period(
    changes_client: TestClient, changed_store: tuple[Path, str]
) -> None:
    login(changes_client, "auditor")
    url = f"/sites/{changed_store[1]}/changes"
    html = changes_client.get(url).text  # defaults to the audit period
    assert _rows(html) == 1 and "acme.test" not in html
    assert "2 compared" in html
    outside = changes_client.get(url + "?start=2026-10-01&end=2026-11-30")
    assert outside.status_code == 403


def test_one_run_in_the_period_says_no_change_can_be_seen(
    changes_client: TestClient, changed_store: tuple[Path, str]
) -> None:
    login(changes_client, "auditor")
    html = changes_client.get(
        f"/sites/{changed_store[1]}/changes?start=2026-11-10&end=2026-11-30"
    ).text
    assert "Fewer than two stored runs cover 2026-11-10..2026-11-30" in html
    assert _rows(html) == 0
