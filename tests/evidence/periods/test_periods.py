"""Period maths: property tests over synthetic run verdicts, and real scans through the store."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.periods.timeline import (
    RunView,
    build_period_report,
    day_ranges,
    period_report,
)
from moodle_soc.evidence.store.runs import site_ref_for, store_run
from moodle_soc.evidence.store.store import open_store
from moodle_soc.models.period import DayStatus
from moodle_soc.models.records import SiteRef
from moodle_soc.policy import Policy
from moodle_soc.reports.period import render_period_html
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.builder import SiteBuilder

SITE = SiteRef(key="k" * 32, name="Acme")
START, END = date(2026, 3, 1), date(2026, 3, 7)
CHECKS = ("authentication.lockout", "logging.enabled", "operations.cron")
FIXED = datetime(2026, 4, 1, tzinfo=UTC)


def _run(seq: int, day: date, verdicts: dict[str, DayStatus], hour: int = 12) -> RunView:
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    failing = {(c, "site"): ("high", f"{c} failed.") for c, v in verdicts.items() if v == "fail"}
    return RunView(seq, f"{seq:064x}", moment, verdicts, failing)


def _day(n: int) -> date:
    return START + timedelta(days=n - 1)


verdicts = st.dictionaries(st.sampled_from(CHECKS), st.sampled_from(["pass", "fail", "unknown"]))
runs = st.lists(st.tuples(st.integers(-3, 10), st.integers(0, 23), verdicts), max_size=25).map(
    lambda items: [_run(n, _day(d), v, h) for n, (d, h, v) in enumerate(items, 1)]
)


@settings(max_examples=200, deadline=None)
@given(runs)
def test_every_day_is_pass_fail_or_unknown_and_failures_are_exceptions(
    views: list[RunView],
) -> None:
    report = build_period_report(SITE, views, START, END, generated_at=FIXED)
    assert report.days == 7
    assert report.days_scanned + sum(g.days for g in report.monitoring_gaps) == report.days
    for c in report.controls:
        assert c.days_pass + c.days_fail + c.days_unknown == report.days == len(c.timeline)
        assert c.exception == (c.days_fail > 0) == (c.check_id in report.exceptions)
        assert c.exception_days == [cell.day for cell in c.timeline if cell.status == "fail"]
        assert c.operated_throughout == (c.days_pass == report.days)
        if c.first_failure is not None:
            assert c.last_failure is not None and c.first_failure <= c.last_failure
        if c.fixed_on is not None:
            assert c.first_failure is not None and c.last_failure is not None
            assert c.fixed_on > c.last_failure >= c.first_failure
        assert c.still_failing == (c.exception and c.fixed_on is None)
    exceptional = [c.exception for c in report.controls]
    assert exceptional == sorted(exceptional, reverse=True)  # exceptions first


@settings(max_examples=200, deadline=None)
@given(runs, runs)
def test_runs_outside_the_period_are_ignored(views: list[RunView], more: list[RunView]) -> None:
    outside = [v for v in more if not START <= v.day <= END]
    alone = build_period_report(SITE, views, START, END, generated_at=FIXED)
    mixed = build_period_report(SITE, [*outside, *views], START, END, generated_at=FIXED)
    assert mixed == alone
    assert all(START <= r.day <= END for r in alone.runs)


@given(st.sets(st.integers(0, 60)))
def test_day_ranges_cover_exactly_the_days(offsets: set[int]) -> None:
    days = [START + timedelta(days=n) for n in sorted(offsets)]
    ranges = day_ranges(days)
    covered = [r.start + timedelta(days=n) for r in ranges for n in range(r.days)]
    assert covered == days
    assert all(b.start - a.end > timedelta(days=1) for a, b in itertools.pairwise(ranges))


def test_a_control_broken_on_day_3_and_fixed_on_day_5() -> None:
    week = [
        _run(n, _day(n), {"authentication.lockout": "fail" if n in (3, 4) else "pass"})
        for n in range(1, 8)
    ]
    (control,) = build_period_report(SITE, week, START, END).controls
    assert (control.days_pass, control.days_fail, control.days_unknown) == (5, 2, 0)
    assert control.exception_days == [_day(3), _day(4)]
    assert (control.first_failure, control.fixed_on) == (_day(3), _day(5))
    assert control.exception and not control.still_failing and not control.operated_throughout
    assert [c.status for c in control.timeline] == ["pass"] * 2 + ["fail"] * 2 + ["pass"] * 3


@pytest.mark.parametrize(
    ("same_day", "status"),
    [
        (["pass", "fail"], "fail"),  # any failing run that day
        (["pass", "pass"], "pass"),
        (["pass", "unknown"], "unknown"),  # an errored run leaves the day undecided
        ([None, "pass"], "pass"),  # a scan limited to other checks does not count
    ],
)
def test_a_days_status_over_several_runs(same_day: list[DayStatus | None], status: str) -> None:
    views = [
        _run(n, START, {} if v is None else {"authentication.lockout": v}, hour=n)
        for n, v in enumerate(same_day, 1)
    ]
    views.append(_run(9, START, {"logging.enabled": "pass"}))
    report = build_period_report(SITE, views, START, START)
    control = next(c for c in report.controls if c.check_id == "authentication.lockout")
    assert control.timeline[0].status == status


def test_still_failing_at_the_end_and_days_without_scans() -> None:
    cron = "operations.cron"
    views = [_run(1, _day(1), {cron: "pass"}), _run(2, _day(4), {cron: "fail"})]
    views.append(_run(3, _day(2), {"logging.enabled": "pass"}))  # a scan of other checks only
    report = build_period_report(SITE, views, START, END)
    control = next(c for c in report.controls if c.check_id == cron)
    assert control.still_failing and control.fixed_on is None
    assert (control.timeline[1].status, control.timeline[1].runs) == ("unknown", 0)
    gaps = [(g.start, g.end) for g in report.monitoring_gaps]
    assert gaps == [(_day(3), _day(3)), (_day(5), _day(7))]


def test_findings_carry_first_seen_resolved_at_and_recurrences() -> None:
    lockout = "authentication.lockout"
    views = [
        _run(1, _day(1), {lockout: "fail"}),
        _run(2, _day(2), {lockout: "unknown"}),  # errored: not a resolution
        _run(3, _day(3), {lockout: "pass"}),
        _run(4, _day(4), {lockout: "fail"}),
        _run(5, _day(5), {lockout: "pass"}),
    ]
    (history,) = build_period_report(SITE, views, START, END).findings
    assert (history.first_seen_run, history.last_failed_run, history.resolved_run) == (1, 4, 5)
    assert history.resolved_at == views[4].audit_time
    assert (history.failing_runs, history.recurrences) == (2, 1)


# --- real scans of the synthetic site, through the store -------------------------------------


def _scan(builder: SiteBuilder, when: datetime):  # type: ignore[no-untyped-def]
    db = Database(engine=builder.sqlite_memory(), prefix=builder.prefix, display_url="sqlite://")
    try:
        return run_scan(ScanContext(MoodleSite(db, audit_time=when), Policy()))
    finally:
        db.close()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Scans on 28 Feb (outside), 1, 2 (lockout off) and 3 March; 4 March has no scan."""
    builder = SiteBuilder(site_name="<script>alert('acme')</script>")
    builder.setting("lockoutthreshold", 5)
    with open_store(str(tmp_path_factory.mktemp("periods") / "e.sqlite"), create=True) as store:
        for day, threshold in ((date(2026, 2, 28), 0), (START, 5), (_day(2), 0), (_day(3), 5)):
            builder.setting("lockoutthreshold", threshold)
            run = _scan(builder, datetime(day.year, day.month, day.day, 6, tzinfo=UTC))
            store.clock = lambda run=run: run.audit_time + timedelta(minutes=1)  # recorded live
            store_run(store, run)
        yield store, site_ref_for(run)


def test_period_report_from_stored_scans(scanned) -> None:  # type: ignore[no-untyped-def]
    store, site = scanned
    report = period_report(store, site.key, START, _day(4))
    assert [r.day for r in report.runs] == [_day(1), _day(2), _day(3)]
    lockout = next(
        c for c in report.controls if c.check_id == "authentication.account_lockout_enabled"
    )
    assert lockout.exception_days == [_day(2)] and lockout.fixed_on == _day(3)
    assert [c.status for c in lockout.timeline] == ["pass", "fail", "pass", "unknown"]
    assert [(g.start, g.end) for g in report.monitoring_gaps] == [(_day(4), _day(4))]
    (history,) = [f for f in report.findings if f.check_id == lockout.check_id]
    assert history.first_seen.date() == _day(2) and history.resolved_at is not None
    assert history.resolved_at.date() == _day(3)


def test_period_html_is_self_contained_escaped_and_not_colour_only(scanned) -> None:  # type: ignore[no-untyped-def]
    store, site = scanned
    html = render_period_html(period_report(store, site.key, START, _day(4)))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert html.index('id="exceptions"') < html.index('id="gaps"') < html.index('id="timeline"')
    assert 'title="2026-03-02 to 2026-03-02: fail">F</span>' in html
    assert "2026-03-02 (1 day)" in html
    assert ">?</span>" in html and ">P</span>" in html


def test_a_day_whose_run_was_incomplete_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from moodle_soc.models.run import Incomplete

    incomplete = Incomplete(
        unreadable_tables=("mdl_task_log", "mdl_user"),
        grants=("GRANT SELECT ON mdl_task_log TO ro;", "GRANT SELECT ON mdl_user TO ro;"),
    )
    run = _scan(SiteBuilder(), datetime(2026, 3, 1, 6, tzinfo=UTC))
    run = run.model_copy(update={"incomplete": incomplete})
    with open_store(str(tmp_path / "e.sqlite"), create=True) as store:
        store.clock = lambda: run.audit_time + timedelta(minutes=1)
        store_run(store, run)
        report = period_report(store, site_ref_for(run).key, START, _day(1))
    assert [r.unreadable_tables for r in report.runs] == [["mdl_task_log", "mdl_user"]]
    assert (
        '<strong class="incomplete">(incomplete: 2 unreadable tables: mdl_task_log, mdl_user)'
        "</strong>"
    ) in render_period_html(report)


# --- reconstructed runs: recorded too late to count as monitoring ------------------------------


def _recorded(run: RunView, after: timedelta) -> RunView:
    return RunView(run.seq, run.record_hash, run.audit_time, run.verdicts, run.failing,
                   recorded_at=run.audit_time + after)  # fmt: skip


def test_a_run_recorded_late_is_listed_as_reconstructed_and_never_counted() -> None:
    live = _recorded(_run(1, _day(1), {"logging.enabled": "pass"}), timedelta(hours=6))
    late = _recorded(_run(2, _day(2), {"logging.enabled": "fail"}), timedelta(hours=7))
    report = build_period_report(SITE, [live, late], START, _day(3))
    assert [r.seq for r in report.runs] == [1] and report.days_scanned == 1
    (ref,) = report.reconstructed_runs
    assert (ref.seq, ref.reconstructed, ref.recorded_at) == (2, True, late.recorded_at)
    assert report.reconstructed_days == [_day(2)] and report.max_recording_delay_hours == 6
    assert [(g.start, g.end) for g in report.monitoring_gaps] == [(_day(2), _day(3))]
    (control,) = report.controls
    assert [c.status for c in control.timeline] == ["pass", "unknown", "unknown"]
    assert [c.reconstructed_runs for c in control.timeline] == [0, 1, 0]
    assert not control.exception and report.findings == []  # its failure is not monitoring
    wide = build_period_report(SITE, [live, late], START, _day(3), max_recording_delay_hours=7)
    assert wide.days_scanned == 2 and wide.reconstructed_runs == [] and wide.exceptions


def test_a_live_run_the_same_day_keeps_the_day_monitored() -> None:
    live = _recorded(_run(1, _day(1), {"logging.enabled": "pass"}, hour=9), timedelta(0))
    late = _recorded(_run(2, _day(1), {"logging.enabled": "pass"}, hour=10), timedelta(days=3))
    report = build_period_report(SITE, [live, late], START, START)
    assert report.days_scanned == 1 and report.reconstructed_days == []
    assert [r.seq for r in report.reconstructed_runs] == [2]


def test_the_html_and_terminal_reports_show_reconstructed_days() -> None:
    from io import StringIO

    from rich.console import Console

    from moodle_soc.cli.period import render_period_terminal

    late = _recorded(_run(7, _day(2), {"logging.enabled": "pass"}), timedelta(days=2))
    report = build_period_report(SITE, [late], START, _day(3))
    html = render_period_html(report)
    assert "0 / 3</b>days monitored live" in html
    assert 'title="2026-03-02 to 2026-03-02: reconstructed">r</span>' in html
    assert "Reconstructed runs: not counted as monitoring" in html
    out = StringIO()
    render_period_terminal(report, Console(file=out, width=120, no_color=True))
    text = " ".join(out.getvalue().split())
    assert "0 days monitored live" in text and "?r?" in text
    assert "Reconstructed, not counted as monitoring (recorded more than 6 h after" in text
    assert "#7 (2026-03-02, recorded 2026-03-04 12:00Z)" in text
