"""One scoring rule for every framework: the run's SOC 2 summary and every framework view."""

from __future__ import annotations

import pytest

from moodle_soc.checks.scoring import score_framework, summarize
from moodle_soc.frameworks import builtin_framework, load_catalogue, parse_framework
from moodle_soc.models.run import Finding
from moodle_soc.results import Severity, Status

TWO_REQUIREMENTS = b"""\
id: acme
name: ACME controls
version: "1"
categories:
  SEC: {name: Security}
  OPS: {name: Operations}
requirements:
  - id: SEC-1
    category: SEC
    title: Strong passwords
    description: Passwords follow the policy.
    checks: [authentication.password_policy_enabled, authentication.mfa_enabled]
    manual_evidence: []
    owners: [client]
  - id: OPS-1
    category: OPS
    title: Backups run
    description: Course backups run and succeed.
    checks: [backups.automated_backups_enabled]
    manual_evidence: [restore_test_record]
    owners: [client, hosting]
"""


def finding(check_id: str, status: Status, resource: str = "site") -> Finding:
    return Finding(
        check_id=check_id,
        title=check_id,
        status=status,
        severity=Severity.HIGH,
        resource=resource,
        reason="A reason.",
        observed={},
        moodle_check=None,
        criteria=(),
        remediation="Fix it.",
    )


def acme():  # type: ignore[no-untyped-def]
    return parse_framework(TWO_REQUIREMENTS, "acme.yaml")


def test_a_two_requirement_framework_scores_what_its_checks_found() -> None:
    findings = [
        finding("authentication.password_policy_enabled", Status.PASS),
        finding("authentication.mfa_enabled", Status.FAIL),
        finding("backups.automated_backups_enabled", Status.PASS),
        finding("hardening.cookies_secure", Status.FAIL),  # mapped by no ACME requirement
    ]
    score = score_framework(findings, acme())
    assert [(r.id, r.state, r.failing_checks) for r in score.requirements] == [
        ("SEC-1", "gap", ("authentication.mfa_enabled",)),
        ("OPS-1", "met", ()),
    ]
    assert [(r.category, r.met, r.gap, r.score) for r in score.readiness] == [
        ("SEC", 0, 1, 0.0),
        ("OPS", 1, 0, 100.0),
    ]
    assert score.overall_score == 50.0
    assert score.coverage == {"automated": 1, "partly": 1, "manual": 0}
    assert [g.id for g in score.gaps()] == ["SEC-1"]


def test_fixing_the_failing_check_meets_the_framework() -> None:
    findings = [
        finding("authentication.password_policy_enabled", Status.PASS),
        finding("authentication.mfa_enabled", Status.PASS),
        finding("backups.automated_backups_enabled", Status.PASS),
    ]
    assert score_framework(findings, acme()).overall_score == 100.0


@pytest.mark.parametrize(
    ("statuses", "state"),
    [
        pytest.param([], "manual", id="not_run"),
        pytest.param([Status.PASS, Status.ERROR], "error", id="error"),
        pytest.param([Status.ERROR, Status.FAIL], "gap", id="fail_wins"),
        pytest.param([Status.PASS, Status.MANUAL], "manual", id="check_says_manual"),
        pytest.param([Status.NOT_APPLICABLE], "not_applicable", id="not_applicable"),
    ],
)
def test_requirement_states(statuses: list[Status], state: str) -> None:
    checks = ["authentication.password_policy_enabled", "authentication.mfa_enabled"]
    findings = [finding(cid, s) for cid, s in zip(checks, statuses, strict=False)]
    assert score_framework(findings, acme()).requirements[0].state == state


def test_nothing_decided_scores_none_not_zero() -> None:
    score = score_framework([], acme())
    assert score.overall_score is None
    assert all(r.score is None for r in score.readiness)


def test_soc2_through_the_framework_path_is_the_runs_own_summary() -> None:
    """Pinned: if the scoring rule changes, it changes for every framework at once."""
    catalogue = load_catalogue()
    findings = [
        finding("authentication.mfa_enabled", Status.FAIL),
        finding("hardening.cookies_secure", Status.PASS),
        finding("logging.standard_log_enabled", Status.ERROR),
        finding("backups.automated_backups_enabled", Status.PASS),
        finding("privacy.dpo_contact_enabled", Status.MANUAL),
    ]
    summary = summarize(findings, catalogue)
    soc2 = score_framework(findings, builtin_framework("soc2"))
    assert soc2.readiness == summary.readiness
    assert soc2.overall_score == summary.overall_score
