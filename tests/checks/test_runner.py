"""The runner never lets a broken check pass and never stops at one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import CheckSpec, SettingFix, all_checks
from moodle_soc.checks.runner import evaluate, run_scan
from moodle_soc.errors import ConfigPhpError
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
