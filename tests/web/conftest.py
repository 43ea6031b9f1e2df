"""Fixtures of the dashboard tests: a real evidence store with scans of two synthetic sites (one
whose names are XSS payloads), review campaigns, and one user per role.

The store is built once per session and copied for each test (a file copy), so a test that
records decisions or signs off never changes what another test sees.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moodle_soc.api.users import add_dashboard_user
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.store.runs import site_ref_for, site_ref_for_site, store_run
from moodle_soc.evidence.store.store import open_store
from moodle_soc.inventory.build import build_inventory
from moodle_soc.policy import Policy
from moodle_soc.reviews.campaigns import start_campaign
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.acme import build_acme
from moodle_soc.synthetic.builder import SiteBuilder
from moodle_soc.web.app import create_app

AUDIT_TIMES = (
    datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 15, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
)
PASSWORD = "correct horse battery"
XSS_NAME = "<script>alert('site')</script>Evil & Co"
XSS_USER = "<img src=x onerror=alert('user')>"
REVIEWER = "rev@acme.test"
HTMX = '<script src="/static/htmx.min.js" defer></script>'  # the pages' one script
# One account per role, plus an auditor whose access has expired and a second reviewer.
USERS = {
    "admin": {"role": "admin"},
    "manager": {"role": "manager"},
    REVIEWER: {"role": "reviewer"},
    "other@acme.test": {"role": "reviewer"},
    "auditor": {
        "role": "auditor",
        "sites": ["Acme Academy"],
        "period": (date(2026, 11, 1), date(2026, 11, 30)),
        "expires": date(2099, 12, 31),
    },
    "expired-auditor": {
        "role": "auditor",
        "sites": ["Acme Academy"],
        "period": (date(2026, 11, 1), date(2026, 11, 30)),
        "expires": date(2020, 1, 1),
    },
}


@dataclass(frozen=True)
class Fixture:
    path: Path
    acme_key: str
    evil_key: str
    acme_campaign: str
    evil_campaign: str


def moodle_site(builder: SiteBuilder, moment: datetime) -> MoodleSite:
    engine = builder.sqlite_memory()
    return MoodleSite(
        Database(engine=engine, prefix=builder.prefix, display_url="sqlite://(memory)"),
        audit_time=moment,
    )


def _evil_site() -> SiteBuilder:
    builder = SiteBuilder(
        site_name=XSS_NAME, wwwroot='https://evil.test/"><img src=x onerror=alert(1)>', seed=5
    )
    manager = builder.user("evil", firstname=XSS_USER, lastname="</td><script>x()</script>",
                           lastaccess=builder.now - 86400)  # fmt: skip
    builder.assign_role(manager, "manager")
    return builder


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    path = tmp_path_factory.mktemp("web-store") / "evidence.sqlite"
    acme = build_acme(users=40, seed=2026)
    evil = _evil_site()
    with open_store(str(path), create=True) as store:
        for moment in AUDIT_TIMES:
            run = run_scan(ScanContext(moodle_site(acme, moment), Policy()))
            store_run(store, run)
        evil_run = run_scan(ScanContext(moodle_site(evil, AUDIT_TIMES[-1]), Policy()))
        store_run(store, evil_run)
        campaigns = []
        for builder in (acme, evil):
            site = moodle_site(builder, AUDIT_TIMES[-1])
            inventory = build_inventory(site, Policy(), scope="privileged")
            campaigns.append(
                start_campaign(
                    store,
                    site_ref_for_site(site),
                    inventory,
                    reviewer=REVIEWER,
                    started_by="manager",
                    now=AUDIT_TIMES[-1],
                )
            )
        for name, options in USERS.items():
            add_dashboard_user(store, name, password=PASSWORD, **options)  # type: ignore[arg-type]
        keys = (site_ref_for(run).key, site_ref_for(evil_run).key)
    return Fixture(path, keys[0], keys[1], campaigns[0].id, campaigns[1].id)


@pytest.fixture
def web_store(built_store: Fixture, tmp_path: Path) -> Fixture:
    """A private copy of the built store for one test."""
    copy = tmp_path / "evidence.sqlite"
    shutil.copyfile(built_store.path, copy)
    return Fixture(copy, *(getattr(built_store, f) for f in
                           ("acme_key", "evil_key", "acme_campaign", "evil_campaign")))  # fmt: skip


@pytest.fixture
def client(web_store: Fixture) -> Iterator[TestClient]:
    with TestClient(create_app(str(web_store.path)), follow_redirects=False) as test_client:
        yield test_client


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign ``username`` in; returns the session's CSRF token (read from the next page)."""
    form = client.get("/login")
    done = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
    )
    assert done.status_code == 303, done.text
    landing = client.get(done.headers["location"])
    return csrf_of(landing.text)
