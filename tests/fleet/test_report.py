"""The fleet report: heat map, last scans, branch support (hook), drift; HTML escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from moodle_soc.api import open_evidence_store
from moodle_soc.fleet.inventory import parse_fleet
from moodle_soc.fleet.report import build_report, observed_settings, render_html, render_json
from moodle_soc.fleet.scanning import scan_fleet_site

from .conftest import MakeSite

AS_OF = datetime.fromtimestamp(1795936000, UTC)


def test_the_report_shows_areas_drift_and_never_scanned_sites(
    tmp_path: Path, sqlite_site: MakeSite
) -> None:
    text = f"""\
sites:
  - {{name: a, db: '{sqlite_site(1)}', client: acme}}
  - {{name: b, db: '{sqlite_site(2)}', client: acme}}
  - {{name: c, db: '{sqlite_site(3, minpasswordlength=6, registerauth="<script>x</script>")}',
      client: beta}}
  - {{name: a-stage, db: '{sqlite_site(4, debugdisplay=1)}', client: acme,
      environment: staging, pairs_with: a}}
  - {{name: never, db: 'postgresql://nobody@127.0.0.1:1/x', client: beta}}
"""
    fleet = parse_fleet(text, "sites.yaml")
    store = str(tmp_path / "evidence.sqlite")
    for site in fleet.sites:
        scan_fleet_site(site, store=store, as_of=AS_OF)
    with open_evidence_store(store) as evidence:
        report = build_report(evidence, fleet)
        only_acme = build_report(evidence, fleet, client="acme")
    rows = {row.name: row for row in report.sites}
    assert report.never_scanned == ("never",)
    assert rows["a"].last_scan == AS_OF and rows["a"].moodle_label == "5.1"
    assert "authentication" in report.areas
    cell = next(c for c in rows["c"].cells if c.area == "authentication")
    assert cell.status == "fail" and 0 < cell.passed < cell.total
    drift = {(d.site, d.setting): d for d in report.drift}
    assert drift["c", "minpasswordlength"].baseline == "8"
    assert drift["c", "minpasswordlength"].against == "fleet baseline"
    assert drift["a-stage", "debugdisplay"].against == "a"
    assert not [d for d in report.drift if d.site in ("a", "b")]
    assert report.support_data is True and rows["a"].support is not None
    assert (
        rows["a"].support.branch == "5.1" and rows["a"].support.state == "security_only"
    )  # 5.1: general support ended 2026-10
    assert {row.name for row in only_acme.sites} == {"a", "b", "a-stage"}
    assert not [d for d in only_acme.drift if d.site == "c"]
    html = render_html(report)
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert "never scanned successfully" in html
    assert json.loads(render_json(report))["never_scanned"] == ["never"]


def test_observed_settings_prefer_the_runs_site_state() -> None:
    payload = {
        "site_state": {
            "settings": [
                {"plugin": "core", "name": "debug", "value": "0"},
                {"plugin": "tool_mfa", "name": "enabled", "value": "1"},
                {"plugin": "core", "name": "wwwroot", "value": "https://x"},
            ]
        },
        "findings": [{"resource": "setting:debug", "observed": {"debug": "32767"}}],
    }
    assert observed_settings(payload, ("wwwroot",)) == {"debug": "0", "tool_mfa/enabled": "1"}
    del payload["site_state"]
    assert observed_settings(payload) == {"debug": "32767"}
