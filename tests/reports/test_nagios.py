"""The Nagios line: exit codes as Moodle's checks.php gives them, one line, perfdata after |."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.reports import nagios_line
from moodle_soc.results import Severity, Status

RunFactory = Callable[..., AuditRun]
FindingFactory = Callable[..., Finding]

PASS = (Status.PASS, Severity.HIGH)
ERROR = (Status.ERROR, Severity.HIGH)
MANUAL = (Status.MANUAL, Severity.HIGH)
NOT_APPLICABLE = (Status.NOT_APPLICABLE, Severity.CRITICAL)


@pytest.mark.parametrize(
    ("findings", "code", "label"),
    [
        ([(Status.FAIL, Severity.CRITICAL), PASS], 2, "CRITICAL"),
        ([(Status.FAIL, Severity.HIGH), (Status.FAIL, Severity.LOW)], 2, "CRITICAL"),
        ([(Status.FAIL, Severity.MEDIUM), ERROR], 1, "WARNING"),
        ([(Status.FAIL, Severity.LOW), PASS], 1, "WARNING"),
        ([(Status.FAIL, Severity.INFO)], 1, "WARNING"),
        ([ERROR, PASS, MANUAL], 3, "UNKNOWN"),
        ([PASS, MANUAL, NOT_APPLICABLE], 0, "OK"),
    ],
    ids=["critical", "high", "medium", "low", "info", "error_only", "all_pass"],
)
def test_exit_code_follows_the_worst_outcome(
    make_run: RunFactory,
    make_finding: FindingFactory,
    findings: list[tuple[Status, Severity]],
    code: int,
    label: str,
) -> None:
    run = make_run(
        [make_finding(f"area.check{i}_ok", st, sev) for i, (st, sev) in enumerate(findings)]
    )

    line, exit_code = nagios_line(run)

    assert exit_code == code
    assert line.startswith(f"{label}: ")


def test_line_counts_failures_names_the_worst_and_carries_perfdata(audit_run: AuditRun) -> None:
    line, code = nagios_line(audit_run)

    assert code == 2
    assert line == (
        "CRITICAL: 4 failed (1 critical, 1 high, 1 medium, 1 low), 1 error;"
        " worst: security.debug_display_disabled (setting:debugdisplay)"
        " | failed=4 errors=1 passed=3 readiness=79.5%"
    )


def test_unknown_names_the_check_that_could_not_run(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    run = make_run(
        [make_finding("operations.tasks_running", Status.ERROR, resource="task:x")], readiness=()
    )

    line, code = nagios_line(run)

    assert code == 3
    assert line == (
        "UNKNOWN: 0 failed, 1 error; worst: operations.tasks_running (task:x)"
        " | failed=0 errors=1 passed=0 readiness=U"
    )


def test_ok_has_no_worst(make_run: RunFactory, make_finding: FindingFactory) -> None:
    line, code = nagios_line(make_run([make_finding("area.fine_ok", Status.PASS)]))

    assert code == 0
    assert line.startswith("OK: 0 failed, 0 errors | failed=0 errors=0 passed=1 readiness=")


def test_moodle_data_stays_on_one_line_before_the_perfdata(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    resource = "role:evil\nname | x=1\r\x1b[31m"
    run = make_run([make_finding("access.role_ok", Status.FAIL, Severity.HIGH, resource=resource)])

    line, _ = nagios_line(run)

    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.count("|") == 1
    assert "(role:evil name / x=1 [31m)" in line
