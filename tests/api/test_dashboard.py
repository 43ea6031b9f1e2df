"""What the dashboard shows is computed once per chain head: a new record on the site's chain
gives a fresh answer, and an auditor's ``within`` leaves out runs outside their period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from moodle_soc.api.dashboard import site_overview, site_runs
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.store.runs import site_ref_for, store_run
from moodle_soc.evidence.store.store import open_store
from moodle_soc.policy import Policy
from moodle_soc.results import Severity
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.acme import build_acme


def test_a_new_run_refreshes_the_overview_and_within_limits_it(tmp_path: Path) -> None:
    acme = build_acme(users=20, seed=2026)
    engine = acme.sqlite_memory()

    def scan(day: int):  # type: ignore[no-untyped-def]
        site = MoodleSite(Database(engine=engine, prefix=acme.prefix, display_url="mem"),
                          audit_time=datetime(2026, 11, day, 9, tzinfo=UTC))  # fmt: skip
        return run_scan(ScanContext(site, Policy()))

    with open_store(str(tmp_path / "e.sqlite"), create=True) as store:
        first = scan(1)
        store_run(store, first)
        key = site_ref_for(first).key
        today = date(2026, 11, 29)
        assert len(site_overview(store, key, today=today).trend) == 1
        store_run(store, scan(15))
        assert len(site_overview(store, key, today=today).trend) == 2  # not the cached answer
        november_first = (date(2026, 11, 1), date(2026, 11, 1))
        assert [r.audit_time.day for r in site_runs(store, key, within=november_first)] == [1]
        assert [r.audit_time.day for r in site_runs(store, key)] == [15, 1]
    engine.dispose()


def test_the_overview_lists_failed_examples_and_counts_every_failure(tmp_path: Path) -> None:
    """The failing checks come from the stored run's examples and counts, worst first."""
    acme = build_acme(users=20, seed=2026)
    engine = acme.sqlite_memory()
    site = MoodleSite(Database(engine=engine, prefix=acme.prefix, display_url="mem"),
                      audit_time=datetime(2026, 11, 1, 9, tzinfo=UTC))  # fmt: skip
    run = run_scan(ScanContext(site, Policy()))
    with open_store(str(tmp_path / "e.sqlite"), create=True) as store:
        store_run(store, run)
        failing = site_overview(store, site_ref_for(run).key, today=date(2026, 11, 29)).failing
    engine.dispose()

    failed = {c.id: c.by_status["fail"] for c in run.checks if c.by_status["fail"]}
    assert {f.check_id: f.count for f in failing} == failed
    assert all(0 < len(f.resources) <= min(f.count, 20) for f in failing)
    ranks = [Severity(f.severity).rank for f in failing]
    assert ranks == sorted(ranks, reverse=True)
