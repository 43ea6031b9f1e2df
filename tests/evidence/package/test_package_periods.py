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


def test_a_policy_in_force_during_the_period_goes_into_the_package(
    builder, make_site, sqlite_store, tmp_path
):
    from moodle_soc.evidence.store.attachments import attach_file

    store = sqlite_store
    site = make_site(builder, audit_time=AUDIT)
    store_run(store, run_scan(ScanContext(site, Policy())))
    ref = site_ref_for_site(site)

    def attach(name: str, effective: date, **extra):  # type: ignore[no-untyped-def]
        path = tmp_path / name
        path.write_bytes(name.encode())
        return attach_file(store, ref, path, control="CC1.1", effective_date=effective,
                           collected_by="ciso", **extra)  # fmt: skip

    policy = attach("security-policy.pdf", date(2026, 11, 1))
    old = attach("old-policy.pdf", date(2026, 1, 1))
    attach("new-policy.pdf", date(2026, 6, 1), supersedes=old.record_hash)
    ended = attach("temp.pdf", date(2026, 10, 1), effective_until=date(2026, 11, 19))
    package = tmp_path / "late-november.zip"
    export_package(store, ref.key, date(2026, 11, 20), date(2026, 12, 7), package)
    result = verify_package(package)
    assert result.ok, result.problem
    from moodle_soc.evidence.package.verify import UNSIGNED_NOTE

    assert UNSIGNED_NOTE in result.notes  # said loudly: what an unsigned package cannot prove
    assert "cannot prove who made it" in UNSIGNED_NOTE
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        lines = [json.loads(line) for line in archive.read("chain/records.jsonl").splitlines()]
    by_hash = {line["record_hash"]: line for line in lines}
    assert by_hash[policy.record_hash]["included"] is True
    assert by_hash[policy.record_hash]["in_force"] == {"from": "2026-11-01", "until": None}
    included = {h for h, line in by_hash.items() if line["included"]}
    assert old.record_hash not in included  # superseded in June
    assert ended.record_hash not in included  # ended the day before the period
    attached = sorted(n for n in names if n.startswith("attachments/"))
    assert attached == [f"attachments/{policy.seq}-security-policy.pdf",
                        f"attachments/{policy.seq + 2}-new-policy.pdf"]  # fmt: skip

    # A forged claim that an ended attachment was in force is caught.
    from moodle_soc.evidence.package.chain import ChainCheck
    from moodle_soc.evidence.package.manifest import Manifest

    with zipfile.ZipFile(package) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = Manifest.model_validate_json(files["manifest.json"])
    forged = [dict(line) for line in lines]
    for line in forged:
        if line["record_hash"] == policy.record_hash:
            line["in_force"] = {"from": "2026-11-01", "until": "2026-11-10"}
    files["chain/records.jsonl"] = b"".join(
        json.dumps(line, sort_keys=True).encode() + b"\n" for line in forged
    )
    import pytest

    from moodle_soc.evidence.package.chain import Tampered

    with pytest.raises(Tampered, match="included as in force, but not during the period"):
        ChainCheck(manifest, files).run()
