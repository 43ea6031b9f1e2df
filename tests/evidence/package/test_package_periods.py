"""Only evidence inside the period: a population built over a broader period is left out."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.package.export import export_package
from moodle_soc.evidence.package.verify import verify_package
from moodle_soc.evidence.periods.populations import build_population, store_population
from moodle_soc.evidence.store.runs import site_ref_for_site, store_run
from moodle_soc.policy import Policy

AUDIT = datetime(2026, 11, 29, 7, tzinfo=UTC)


def test_broader_population_is_left_out_and_the_package_says_why(
    builder, make_site, sqlite_store, tmp_path
):
    store = sqlite_store
    site = make_site(builder, audit_time=AUDIT)
    store_run(store, run_scan(ScanContext(site, Policy())))
    year = build_population(site, "config_changes", date(2026, 1, 1), date(2026, 11, 29))
    month = build_population(site, "config_changes", date(2026, 11, 1), date(2026, 11, 29))
    ref = site_ref_for_site(site)
    broad, narrow = store_population(store, ref, year), store_population(store, ref, month)

    package = tmp_path / "november.zip"
    export_package(store, ref.key, date(2026, 11, 1), date(2026, 11, 30), package)
    assert verify_package(package).ok
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        lines = [json.loads(line) for line in archive.read("chain/records.jsonl").splitlines()]
    by_hash = {line["record_hash"]: line for line in lines}
    assert by_hash[broad.record_hash]["included"] is False
    assert by_hash[broad.record_hash]["outside_period"] == {
        "start": "2026-01-01",
        "end": "2026-11-29",
    }
    assert by_hash[narrow.record_hash]["included"] is True
    assert not any(
        str(broad.seq) in Path(name).stem.split("-") for name in names if "popul" in name
    )

    whole_year = tmp_path / "year.zip"
    export_package(store, ref.key, date(2026, 1, 1), date(2026, 12, 31), whole_year)
    with zipfile.ZipFile(whole_year) as archive:
        lines = [json.loads(line) for line in archive.read("chain/records.jsonl").splitlines()]
    assert {line["record_hash"]: line["included"] for line in lines}[broad.record_hash] is True
