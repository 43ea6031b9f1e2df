"""The dashboard over a PostgreSQL evidence store (as shared with fleet workers): sign-in, a
site's pages, a review decision, and the append-only audit log, on the real server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.evidence.conftest import pg_database, pg_store_url  # noqa: F401 (fixtures)
from tests.web.conftest import PASSWORD, REVIEWER, login, moodle_site

from moodle_soc.api.users import add_dashboard_user
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.store.runs import site_ref_for, site_ref_for_site, store_run
from moodle_soc.evidence.store.store import open_store
from moodle_soc.inventory.build import build_inventory
from moodle_soc.policy import Policy
from moodle_soc.reviews.campaigns import start_campaign
from moodle_soc.synthetic.acme import build_acme
from moodle_soc.web.app import create_app

pytestmark = pytest.mark.integration
AUDIT = datetime(2026, 11, 29, 9, tzinfo=UTC)


def test_the_dashboard_serves_a_postgresql_store(pg_store_url: str) -> None:  # noqa: F811
    acme = build_acme(users=20, seed=2026)
    site = moodle_site(acme, AUDIT)
    with open_store(pg_store_url, create=True) as store:
        run = run_scan(ScanContext(site, Policy()))
        store_run(store, run)
        campaign = start_campaign(store, site_ref_for_site(site),
                                  build_inventory(site, Policy(), scope="privileged"),
                                  reviewer=REVIEWER, started_by="ops", now=AUDIT)  # fmt: skip
        for name, role in (("manager", "manager"), (REVIEWER, "reviewer")):
            add_dashboard_user(store, name, role=role, password=PASSWORD)
    key = site_ref_for(run).key
    with TestClient(create_app(pg_store_url), follow_redirects=False) as client:
        login(client, "manager")
        assert "Acme Academy" in client.get(f"/sites/{key}").text
        assert "The chain is intact" in client.get(f"/sites/{key}/runs?verify=true").text
        client.cookies.clear()
        csrf = login(client, REVIEWER)
        entry = campaign.entries[0]
        decided = client.post(
            f"/reviews/{campaign.id}/decisions",
            data={"key": entry.key, "decision": "keep", "csrf_token": csrf},
        )
        assert decided.status_code == 303
    with open_store(pg_store_url) as store:
        with store.engine.connect() as connection:
            actions = connection.exec_driver_sql("SELECT action FROM web_audit ORDER BY seq")
            assert "review_decision" in actions.scalars().all()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):  # noqa: SIM117
            with store.engine.begin() as connection:
                connection.exec_driver_sql("DELETE FROM web_audit")
