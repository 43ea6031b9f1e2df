"""Downloads are the CLI's documents: the export package verifies offline, the findings CSV
holds every finding, and every download is an attachment."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from fastapi.testclient import TestClient
from tests.web.conftest import Fixture, login

from moodle_soc.api.dashboard import site_findings
from moodle_soc.api.evidence import verify_package
from moodle_soc.evidence.store.store import open_store

PERIOD = "start=2026-11-01&end=2026-11-30"


def test_the_export_package_downloaded_by_an_auditor_verifies(
    client: TestClient, web_store: Fixture, tmp_path: Path
) -> None:
    login(client, "auditor")
    answer = client.get(f"/sites/{web_store.acme_key}/export.zip?{PERIOD}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"].startswith('attachment; filename="evidence-')
    package = tmp_path / "package.zip"
    package.write_bytes(answer.content)
    assert verify_package(package).ok


def test_the_findings_csv_has_one_row_per_finding(client: TestClient, web_store: Fixture) -> None:
    login(client, "manager")
    answer = client.get(f"/sites/{web_store.acme_key}/findings.csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    with open_store(str(web_store.path)) as store:
        expected = site_findings(store, web_store.acme_key)
    assert [(r["check_id"], r["resource"]) for r in rows] == [
        (f.check_id, f.resource) for f in expected
    ]


def test_reports_and_review_files_download(client: TestClient, web_store: Fixture) -> None:
    login(client, "manager")
    report = client.get(f"/sites/{web_store.acme_key}/report.json").json()
    assert report["site"]["name"] == "Acme Academy"
    period = client.get(f"/sites/{web_store.acme_key}/period.json?{PERIOD}").json()
    assert (period["start"], period["end"]) == ("2026-11-01", "2026-11-30")
    assert json.loads(client.get(f"/sites/{web_store.acme_key}/oscal.json?{PERIOD}").text)
    xlsx = client.get(f"/reviews/{web_store.acme_campaign}/review.xlsx")
    assert xlsx.content[:2] == b"PK"
    html = client.get(f"/reviews/{web_store.acme_campaign}/report.html")
    assert html.headers["content-disposition"].endswith('.html"')


def test_an_attachment_downloads_as_stored_and_a_changed_file_is_refused(
    client: TestClient, web_store: Fixture, tmp_path: Path
) -> None:
    from datetime import date

    from moodle_soc.api.evidence import attach_evidence

    policy = tmp_path / "access policy.pdf"
    policy.write_bytes(b"%PDF-1.4 signed access policy")
    with open_store(str(web_store.path)) as store:
        record = attach_evidence(store, policy, site=web_store.acme_key, control="CC6.1",
                                 effective_date=date(2026, 11, 10), collected_by="ann")  # fmt: skip
    login(client, "auditor")
    runs = client.get(f"/sites/{web_store.acme_key}/runs").text
    assert f'/attachments/{record.seq}">access policy.pdf</a>' in runs
    answer = client.get(f"/sites/{web_store.acme_key}/attachments/{record.seq}")
    assert answer.content == b"%PDF-1.4 signed access policy"
    assert answer.headers["content-disposition"] == 'attachment; filename="access_policy.pdf"'
    with open_store(str(web_store.path)) as store, store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE evidence_blobs SET data = x'00'")
    refused = client.get(f"/sites/{web_store.acme_key}/attachments/{record.seq}")
    assert refused.status_code == 400
    assert "does not match its recorded SHA-256" in refused.text
