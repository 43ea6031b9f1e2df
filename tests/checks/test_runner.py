"""The runner never lets a broken check pass and never stops at one."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import CheckSpec, SettingFix, all_checks
from moodle_soc.checks.runner import CheckOutcome, evaluate, run_scan
from moodle_soc.errors import ConfigPhpError
from moodle_soc.models.population import slim_row
from moodle_soc.models.run import AuditRun
from moodle_soc.policy import Policy
from moodle_soc.results import Result, Severity, Status
from moodle_soc.synthetic.builder import SiteBuilder


def _spec(function, *, requires_tables: tuple[str, ...] = ()) -> CheckSpec:  # type: ignore[no-untyped-def]
    return CheckSpec(
        id="test.thing_ok",
        title="A test check",
        severity=Severity.HIGH,
        remediation="Fix it.",
        function=function,
        requires_tables=requires_tables,
    )


def raising(scan: ScanContext) -> Iterator[Result]:
    """Raises."""
    raise RuntimeError("boom")
    yield  # pragma: no cover


def silent(scan: ScanContext) -> Iterator[Result]:
    """Yields nothing."""
    yield from ()


def user_error(scan: ScanContext) -> Iterator[Result]:
    """Raises a user-facing error."""
    raise ConfigPhpError("config.php computes $CFG->x at runtime.")
    yield  # pragma: no cover


def missing_table(scan: ScanContext) -> Iterator[Result]:
    """Reads a table the site does not have."""
    scan.site.db.table("no_such_table")
    yield Result.passed("Unreachable.")  # pragma: no cover


@pytest.mark.parametrize(
    ("function", "status", "fragment"),
    [
        (raising, Status.ERROR, "RuntimeError: boom"),
        (silent, Status.ERROR, "produced no result"),
        (user_error, Status.ERROR, "computes $CFG->x at runtime"),
        (missing_table, Status.NOT_APPLICABLE, "mdl_no_such_table does not exist"),
    ],
)
def test_a_check_that_cannot_decide_is_never_a_pass(builder, make_site, function, status, fragment):
    [result] = evaluate(_spec(function), ScanContext(make_site(builder), Policy()))
    assert result.status is status
    assert fragment in result.reason


def test_required_table_missing_is_not_applicable(builder, make_site):
    [result] = evaluate(
        _spec(silent, requires_tables=("tool_nothing",)), ScanContext(make_site(builder), Policy())
    )
    assert result.status is Status.NOT_APPLICABLE
    assert "mdl_tool_nothing" in result.reason


def test_scan_runs_every_check_and_maps_criteria(builder, make_site):
    run = run_scan(ScanContext(make_site(builder, wwwroot="https://acme.example.test"), Policy()))
    assert {c.id for c in run.checks} == {s.id for s in all_checks()}
    assert all(f.criteria for f in run.findings)
    assert all(f.reason.endswith(".") for f in run.findings)
    assert run.queries and all(len(q["sha256"]) == 64 for q in run.queries)
    categories = {r.category for r in run.summary.readiness}
    assert categories == {"CC", "A", "C", "PI", "P"}
    assert run.incomplete is None  # every table of the site could be read


def test_fresh_install_defaults_fail_the_controls_moodle_leaves_off(builder, make_site):
    """A fresh Moodle is not SOC 2 ready: lockout off, no MFA, log retention forever is fine."""
    run = run_scan(ScanContext(make_site(builder, wwwroot="https://acme.example.test"), Policy()))
    status = {c.id: c.status for c in run.checks}
    assert status["authentication.account_lockout_enabled"] is Status.FAIL
    assert status["authentication.mfa_enabled"] is Status.FAIL
    assert status["logging.retention_covers_audit_window"] is Status.PASS
    assert status["hardening.wwwroot_uses_https"] is Status.PASS


def exact_fixes(scan: ScanContext) -> Iterator[Result]:
    """Yields failures with and without their own fixes."""
    yield Result.failed("Own command.", resource="a").with_fix(command="php own.php")
    yield Result.failed("No command.", resource="b").with_fix(
        remediation="Serve HTTPS first.", command=""
    )
    yield Result.failed("Declared.", resource="c")
    yield Result.passed("Fine.", resource="d").with_fix(command="php own.php")


def test_a_result_may_carry_the_sites_exact_fix(builder, make_site):
    """A failing result's own remediation and command replace the check's; "" means none."""
    spec = replace(_spec(exact_fixes), remediation="Declared fix.", fix=SettingFix("x", "1"))
    run = run_scan(ScanContext(make_site(builder), Policy()), checks=[spec])
    fixes = {f.resource: (f.remediation, f.fix_command) for f in run.findings}
    assert fixes == {
        "a": ("Declared fix.", "php own.php"),
        "b": ("Serve HTTPS first.", None),
        "c": ("Declared fix.", "php admin/cli/cfg.php --name=x --set=1"),
        "d": ("Declared fix.", None),
    }


def failed_setting(scan: ScanContext) -> Iterator[Result]:
    """Fails on one setting."""
    yield Result.failed("Off.", resource="setting")


@pytest.mark.parametrize(
    ("release", "remediation", "command"),
    [
        (
            "4.1",
            "Declared fix. On Moodle 4.1 the setting is on"
            " admin/settings.php?section=httpsecurity.",
            "php admin/cli/cfg.php --name=cookiehttponly --set=1",
        ),
        # Moodle 4.3 removed cookiehttponly: no page shows it and cfg.php would set nothing.
        ("5.1", "Declared fix.", None),
    ],
)
def test_a_declared_fix_follows_the_sites_branch(make_site, release, remediation, command):
    spec = replace(
        _spec(failed_setting), remediation="Declared fix.", fix=SettingFix("cookiehttponly", "1")
    )
    site = make_site(SiteBuilder(release=release))
    (finding,) = run_scan(ScanContext(site, Policy()), checks=[spec]).findings
    assert (finding.remediation, finding.fix_command) == (remediation, command)


def accounts(count: int) -> CheckSpec:
    def many_accounts(scan: ScanContext) -> Iterator[Result]:
        """Yields one failure per account, as the identity checks do on a big site."""
        for n in range(count):
            yield Result.failed(
                f"Account u{n} signs in with a password alone.",
                resource=f"user:{n}",
                observed={"userid": n, "username": f"u{n}", "factors": []},
            )

    return _spec(many_accounts)


def _scan_peak(site: Any, count: int) -> tuple[int, int, AuditRun]:
    """Peak traced memory of a scan of one check with ``count`` findings, less the compressed
    population it keeps (a few bytes a finding: the evidence itself), and that population."""
    gc.collect()
    tracemalloc.start()
    try:
        run = run_scan(ScanContext(site, Policy()), checks=[accounts(count)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    population = sum(len(data) for data in run.populations.values())
    return peak - population, population, run


def test_a_scan_holds_counts_and_examples_not_findings(builder, make_site):
    """Ten times the findings cost ten times the compressed population and nothing else: the
    runner streams each result into it and keeps 20 examples (measured besides the population:
    0.48 MB of peak for 20,000 findings, 0.47 MB for 200,000)."""
    site = make_site(builder)
    run_scan(ScanContext(site, Policy()), checks=[accounts(10)])  # imports and caches warm
    small, _, _ = _scan_peak(site, 2_000)
    large, population, run = _scan_peak(site, 20_000)

    assert large < small * 1.25 + 32_000
    assert population < 20_000 * 16  # about 12 bytes a finding, gzip'd
    (check,) = run.checks
    assert check.findings == 20_000 and check.by_status["fail"] == 20_000
    assert check.examples is not None and len(check.examples) == 20
    assert [row["resource"] for row in check.examples[:2]] == ["user:0", "user:1"]
    assert run.summary.by_status["fail"] == 20_000


def half_then_broken(scan: ScanContext) -> Iterator[Result]:
    """Yields a pass, then raises."""
    yield Result.passed("The first one is fine.", resource="user:1")
    raise RuntimeError("boom")


def test_a_check_that_breaks_part_way_is_one_error_not_a_partial_pass(builder, make_site):
    run = run_scan(ScanContext(make_site(builder), Policy()), checks=[_spec(half_then_broken)])

    (check,) = run.checks
    assert check.status is Status.ERROR and check.findings == 1
    assert [f.reason for f in run.findings] == ["The check failed: RuntimeError: boom."]
    assert run.summary.by_status["pass"] == 0 and run.summary.by_status["error"] == 1


def test_a_row_made_directly_is_the_one_the_finding_makes():
    """The runner writes rows without a Finding per result; they are byte for byte what
    ``slim_row`` makes of the Finding (overrides, commands, observed values in JSON form)."""
    spec = replace(_spec(silent), remediation="Declared fix.", fix=SettingFix("x", "1"))
    when = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
    results = [
        Result.failed("Declared.", resource="a", observed={"at": when, "ids": (1, 2)}),
        Result.failed("Own.", resource="b", severity=Severity.HIGH).with_fix(command="php o.php"),
        Result.failed("Lower.", resource="c", severity=Severity.LOW).with_fix(command=""),
        Result.passed("Fine.", resource="d").with_fix(remediation="Other fix."),
        Result.manual("Ask.", observed={"day": when.date(), "none": None}),
    ]
    outcome = CheckOutcome(spec, ("CC6.1",), "5.1", (), when)
    for result in results:
        row, status, severity = outcome._row(result)
        finding = outcome._finding(result)
        expected = slim_row(finding.model_dump(mode="json"), outcome.entry)
        assert json.dumps(row) == json.dumps(expected)
        assert (status, severity) == (finding.status, finding.severity)
