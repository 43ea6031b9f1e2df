"""Reports list the checks' examples and counts: their cost does not grow with the findings."""

from __future__ import annotations

import gc
import io
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import CheckSpec
from moodle_soc.checks.runner import run_scan
from moodle_soc.models.run import AuditRun
from moodle_soc.policy import Policy
from moodle_soc.reports import nagios_line, render_html, render_terminal
from moodle_soc.reports.summaries import Listed, examples_by_check, failing_checks
from moodle_soc.results import Result, Severity, Status


def _spec(check_id: str, status: Status, count: int) -> CheckSpec:
    def many(scan: ScanContext) -> Iterator[Result]:
        """Yields one result per account."""
        for n in range(count):
            severity = Severity.CRITICAL if n == count - 1 else None
            yield Result(status, f"Account u{n} is as seen.", f"user:{n}", {"userid": n}, severity)

    return CheckSpec(
        id=check_id, title=f"Title of {check_id}", severity=Severity.HIGH,
        remediation="Fix it.", function=many,
    )  # fmt: skip


def scanned(site: Any, count: int) -> AuditRun:
    checks = [
        _spec("identity.privileged_accounts_use_mfa", Status.FAIL, count),
        _spec("identity.privileged_accounts_active", Status.PASS, count),
        _spec("logging.log_kept", Status.ERROR, 30),
    ]
    return run_scan(ScanContext(site, Policy()), checks=checks)


def _all_reports(run: AuditRun) -> None:
    render_terminal(run, Console(file=io.StringIO(), width=120), verbose=True)
    render_html(run)
    nagios_line(run)


def _peak(render: Callable[[AuditRun], None], run: AuditRun) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        render(run)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reports_of_ten_times_the_findings_cost_the_same_memory(builder, make_site) -> None:
    """The terminal, HTML and Nagios reports of 2,000 and of 20,000 findings per check peak
    alike: they read 20 examples per check and status and the counts, never the population."""
    site = make_site(builder)
    small, large = scanned(site, 2_000), scanned(site, 20_000)
    _all_reports(small)  # templates compiled, modules imported

    assert _peak(_all_reports, large) < _peak(_all_reports, small) * 1.1 + 64_000


def test_a_run_without_its_populations_still_reports_in_full(builder, make_site) -> None:
    """The stored examples are enough: the populations are never opened (a run without them
    would raise if they were)."""
    run = scanned(make_site(builder), 45).model_copy(update={"populations": {}})

    out = io.StringIO()
    render_terminal(run, Console(file=out, width=200, no_color=True))
    text = out.getvalue()
    assert "Title of identity.privileged_accounts_use_mfa (45 resources)" in text
    assert "… and 25 more resources: the full population (--format csv or xlsx) lists" in text
    assert "Could not run (30)" in text and "… and 10 more resources" in text
    html = render_html(run)
    assert "and 35 more failed findings" in html and "(45 in all)" in html
    assert nagios_line(run) == (
        "CRITICAL: 45 failed (1 critical, 44 high), 30 errors;"
        " worst: identity.privileged_accounts_use_mfa (user:44)"
        " | failed=45 errors=30 passed=45 readiness=50%",
        2,
    )


def test_failures_are_listed_worst_first_with_the_worst_example_first(builder, make_site) -> None:
    run = scanned(make_site(builder), 45)
    examples = examples_by_check(run)

    (failing,) = failing_checks(run, examples)
    assert failing.count == 45 and len(failing.shown) == 20
    assert [f.resource for f in failing.shown[:3]] == ["user:44", "user:0", "user:1"]
    passed = Listed.of(run, examples, Status.PASS)
    assert (len(passed), len(passed.shown), passed.more) == (45, 20, 25)
    assert not Listed.of(run, examples, Status.MANUAL)
