"""The change population as evidence: built with stored scans' states, stored, sampled and
exported like the other populations."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

from moodle_soc.api.changes import change_population
from moodle_soc.api.scan import judge_site
from moodle_soc.evidence.package.export import export_package
from moodle_soc.evidence.periods.populations import rows_sha256
from moodle_soc.evidence.periods.sampling import draw_sample, store_sample
from moodle_soc.evidence.store.runs import site_ref_for_site
from moodle_soc.evidence.store.store import open_store
from moodle_soc.models.records import RecordKind

CONFIG = """<?php
unset($CFG);
global $CFG;
$CFG = new stdClass();
$CFG->dbtype = 'pgsql';
$CFG->dbpass = '{password}';
$CFG->debug = {debug};
require_once(__DIR__ . '/lib/setup.php');
"""
FIRST = datetime(2026, 11, 10, 9, tzinfo=UTC)
SECOND = datetime(2026, 11, 20, 9, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 6, tzinfo=UTC)


def test_config_php_edited_between_two_stored_runs_is_a_change(builder, make_site, tmp_path):
    builder.config_log("forcelogin", "1", "0", timemodified=int(FIRST.timestamp()) + 3600)
    store = open_store(str(tmp_path / "evidence.sqlite"), create=True)
    before = CONFIG.format(password="first-Secret", debug=0)
    after = CONFIG.format(password="second-Secret", debug=32767)
    with make_site(builder, config_php=before, audit_time=FIRST) as site:
        judge_site(site, store=store, checks=["hardening"])
    with make_site(builder, config_php=after, audit_time=SECOND) as site:
        judge_site(site, store=store, checks=["hardening"])

    with make_site(builder, config_php=after, audit_time=NOW) as site:
        report = change_population(site, date(2026, 11, 1), date(2026, 11, 29), store=store)
        ref = site_ref_for_site(site)

    runs = {c.name: c for c in report.changes.changes if c.source == "runs"}
    assert set(runs) == {"debug", "dbpass"}
    debug = runs["debug"]
    assert (debug.kind, debug.old, debug.new, debug.at, debug.at_from) == (
        "config_php",
        "0",
        "32767",
        SECOND,
        FIRST,
    )
    assert runs["dbpass"].masked and "Secret" not in report.population.model_dump_json()
    assert any(c.source == "config_log" and c.name == "forcelogin" for c in report.changes.changes)

    record = report.record
    assert record is not None and record.kind == RecordKind.CHANGE_POPULATION
    payload = store.payload(record)
    assert payload["row_count"] == len(payload["rows"]) == len(report.changes.changes)
    assert payload["sha256"] == rows_sha256(payload["rows"])
    assert any("config_log" in q["sql"] for q in payload["query_sql"])

    sample = draw_sample(payload["rows"], frequency="many-times-daily", seed=7)
    assert store_sample(store, record, sample).kind == "sample"

    package = tmp_path / "package.zip"
    export_package(store, ref.key, date(2026, 11, 1), date(2026, 11, 29), package)
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        table = archive.read("populations/changes.csv").decode()
    assert {"populations/changes.jsonl", "populations/changes.sql.txt"} <= names
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {r["name"] for r in rows} >= {"debug", "dbpass", "forcelogin"}
    store.close()


def test_without_a_store_nothing_is_compared_or_kept(builder, make_site):
    with make_site(builder) as site:
        report = change_population(site, date(2026, 11, 1), date(2026, 11, 29))

    assert report.record is None
    assert report.population.name == "changes"
    assert any("Fewer than two stored scans" in note for note in report.population.notes)
    assert any("No approvals file" in note for note in report.population.notes)


def test_a_scan_keeps_the_state_that_later_comparisons_need(builder, make_site, tmp_path: Path):
    store = open_store(str(tmp_path / "evidence.sqlite"), create=True)
    with make_site(builder, audit_time=FIRST) as site:
        run = judge_site(site, store=store, checks=["plugins"])
    assert run.site_state is not None and run.site_state.plugins
    stored = store.payload(store.records(kind="run")[0])
    assert stored["site_state"]["moodle_label"] == "5.1"
    store.close()
