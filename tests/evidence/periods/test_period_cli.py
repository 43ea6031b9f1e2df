"""The period, populations and sample commands, wired into a Typer app as cli.py does."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.cli.period import period_app, populations_command, sample_command
from moodle_soc.evidence.store.store import open_store
from moodle_soc.policy import Policy
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.builder import SiteBuilder

from ..conftest import StoreLive

app = typer.Typer()
app.add_typer(period_app, name="period")
evidence = typer.Typer()
evidence.command("populations")(populations_command)
evidence.command("sample")(sample_command)
app.add_typer(evidence, name="evidence")
PERIOD = ["--from", "2026-11-01", "--to", "2026-11-28"]


def at(day: int, hour: int = 12) -> int:
    return int(datetime(2026, 11, day, hour, tzinfo=UTC).timestamp())


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def site_db(tmp_path: Path) -> tuple[str, SiteBuilder]:
    builder = SiteBuilder()
    builder.user('=HYPERLINK("http://evil.test")', timecreated=at(3))
    for day in range(1, 25):
        builder.config_log("lockoutthreshold", day % 2 * 5, 5 - day % 2 * 5, timemodified=at(day))
    builder.sqlite_file(tmp_path / "site.sqlite").dispose()
    return f"sqlite:///{tmp_path / 'site.sqlite'}", builder


def test_populations_are_stored_written_and_hashed(site_db: Any, tmp_path: Path) -> None:
    url, _ = site_db
    store, out = str(tmp_path / "e.sqlite"), tmp_path / "out"
    when = ["--as-of", "2026-11-29T08:00:00Z"]
    done = invoke("evidence", "populations", "--db", url, *PERIOD, "--store", store,
                  "-o", str(out), "--format", "json", *when)  # fmt: skip
    assert done.exit_code == 0, done.output
    summary = {row["name"]: row for row in json.loads(done.stdout)}
    assert len(summary) == 6 and summary["config_changes"]["rows"] == 24
    for name, row in summary.items():
        jsonl = (out / f"{name}.jsonl").read_bytes()
        assert hashlib.sha256(jsonl).hexdigest() == row["sha256"]
        assert row["record_seq"] is not None
    assert "'=HYPERLINK" in (out / "users_created.csv").read_text()
    with open_store(store) as locker:
        records = locker.records(kind="population")
    assert [r.seq for r in records] == [row["record_seq"] for row in summary.values()]
    assert {r.collected_at for r in records} == {datetime(2026, 11, 29, 8, tzinfo=UTC)}


def test_populations_table_only_one_and_not_stored(site_db: Any, tmp_path: Path) -> None:
    url, _ = site_db
    store = str(tmp_path / "e.sqlite")
    done = invoke("evidence", "populations", "--db", url, *PERIOD, "--store", store,
                  "--population", "config_changes", "--no-store", "-q")  # fmt: skip
    assert done.exit_code == 0 and "config_changes" in done.stdout and "24" in done.stdout
    assert "users_created" not in done.stdout
    with open_store(store, create=True) as locker:
        assert locker.records() == []
    bad = invoke("evidence", "populations", "--db", url, *PERIOD, "-p", "everything")
    assert bad.exit_code == 2 and "--population 'everything' is not one of" in bad.output


def test_samples_are_reproducible_and_stored(site_db: Any, tmp_path: Path) -> None:
    url, _ = site_db
    store = str(tmp_path / "e.sqlite")
    invoke("evidence", "populations", "--db", url, *PERIOD, "--store", store, "-q")
    with open_store(store) as locker:
        (record,) = [r for r in locker.records() if locker.payload(r)["name"] == "config_changes"]
    draws = [
        json.loads(invoke("evidence", "sample", str(record.seq), "--frequency", "weekly",
                          "--seed", "7", "--store", store, "--format", "json").stdout)
        for _ in range(2)
    ]  # fmt: skip
    assert draws[0]["indices"] == draws[1]["indices"] and draws[0]["size"] == 5
    assert draws[0]["record"] != draws[1]["record"]  # each draw is its own evidence
    with open_store(store) as locker:
        samples = locker.records(kind="sample")
        assert len(samples) == 2
        payload = locker.payload(samples[0])
    assert payload["population_record"]["record_hash"] == record.record_hash
    table = invoke("evidence", "sample", str(record.seq), "--frequency", "monthly", "--seed",
                   "7", "--store", store, "--no-store", "--format", "csv")  # fmt: skip
    assert table.stdout.splitlines()[0].startswith("index,id,time,plugin,name")
    wrong = invoke(
        "evidence", "sample", str(samples[0].seq), "--frequency", "daily", "--store", store
    )
    assert wrong.exit_code == 7


def _scan(builder: SiteBuilder, day: int) -> Any:
    db = Database(engine=builder.sqlite_memory(), prefix=builder.prefix, display_url="sqlite://")
    try:
        return run_scan(
            ScanContext(MoodleSite(db, audit_time=datetime.fromtimestamp(at(day), UTC)), Policy())
        )
    finally:
        db.close()


def test_period_report_in_every_format(tmp_path: Path, store_live: StoreLive) -> None:
    location = str(tmp_path / "e.sqlite")
    builder = SiteBuilder()
    with open_store(location, create=True) as store:
        for day, threshold in ((1, 5), (2, 0), (3, 5)):
            builder.setting("lockoutthreshold", threshold)
            store_live(store, _scan(builder, day))
    where = ["--site", "Acme Academy", "--period", "2026-11-01..2026-11-04", "--store", location]
    report = json.loads(invoke("period", "report", *where, "--format", "json").stdout)
    lockout = next(c for c in report["controls"] if c["check_id"].endswith("lockout_enabled"))
    assert lockout["exception_days"] == ["2026-11-02"] and lockout["fixed_on"] == "2026-11-03"
    assert report["monitoring_gaps"] == [{"start": "2026-11-04", "end": "2026-11-04", "days": 1}]
    html = tmp_path / "period.html"
    assert invoke("period", "report", *where, "--format", "html", "-o", str(html)).exit_code == 0
    assert html.read_text().startswith("<!DOCTYPE html>")
    text = invoke("period", "report", *where).stdout
    assert "Exceptions" in text and "authentication.account_lockout_enabled" in text
    assert "2026-11-04 to 2026-11-04" in text
    assert invoke("period", "report", *where[:2], "--from", "2026-11-05", "--to", "2026-11-01",
                  "--store", location).exit_code == 2  # fmt: skip
    assert invoke("period", "report", *where, "--format", "pdf").exit_code == 2


def test_period_report_per_framework(tmp_path: Path, store_live: StoreLive) -> None:
    location = str(tmp_path / "e.sqlite")
    builder = SiteBuilder()
    with open_store(location, create=True) as store:
        for day, threshold in ((1, 5), (2, 0), (3, 5)):
            builder.setting("lockoutthreshold", threshold)
            store_live(store, _scan(builder, day))
    where = ["--site", "Acme Academy", "--period", "2026-11-01..2026-11-03",
             "--store", location, "--framework", "nist-800-53"]  # fmt: skip
    document = json.loads(invoke("period", "report", *where, "--format", "json").stdout)
    (nist,) = document["frameworks"]
    ac7 = next(r for r in nist["requirements"] if r["id"] == "AC-7")
    assert ac7["state"] == "exception"
    assert ac7["exception_checks"] == ["authentication.account_lockout_enabled"]
    assert (ac7["first_failure"], ac7["days_fail"]) == ("2026-11-02", 1)
    policy = next(r for r in nist["requirements"] if r["id"] == "AC-1")
    assert policy["state"] == "manual"
    assert sum(nist["counts"].values()) == len(nist["requirements"]) == 62
    assert nist["counts"]["manual"] == 13
    # A requirement operated when every mapped check passed on every day.
    controls = {c["check_id"]: c for c in document["controls"]}
    for requirement in nist["requirements"]:
        if requirement["state"] == "operated":
            assert all(controls[c]["operated_throughout"] for c in requirement["checks"])
    text = " ".join(invoke("period", "report", *where).stdout.split())
    assert "AC-7 Unsuccessful Logon Attempts: failed on 1 day(s) from 2026-11-02, by" in text
    html = tmp_path / "period.html"
    assert invoke("period", "report", *where, "--format", "html", "-o", str(html)).exit_code == 0
    assert 'id="framework-nist-800-53"' in html.read_text()
    plain = json.loads(invoke("period", "report", *where[:-2], "--format", "json").stdout)
    assert "frameworks" not in plain
    bad = invoke("period", "report", *where[:-1], "iso9001")
    assert bad.exit_code == 2 and "Unknown framework 'iso9001'" in bad.output
