"""One scoring rule for every framework: the run's SOC 2 summary and every framework view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moodle_soc.checks.registry import all_checks
from moodle_soc.checks.scoring import (
    FORMULA,
    SEVERITY_WEIGHTS,
    check_verdicts,
    run_tallies,
    score_framework,
    summarize,
    tally,
    weighted_score,
)
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
        ("SEC", 0, 1, 50.0),  # one of two equally weighted (high) checks passes
        ("OPS", 1, 0, 100.0),
    ]
    assert score.overall_score == 66.7  # 2 × 5 of 3 × 5
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


# --- severity weighting (docs/severity.md) ---

DOC = Path(__file__).parents[2] / "docs" / "severity.md"
P, F, E, M, N = Status.PASS, Status.FAIL, Status.ERROR, Status.MANUAL, Status.NOT_APPLICABLE
CRIT, HIGH, MED, LOW, INFO = (
    Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
)  # fmt: skip


@pytest.mark.parametrize(
    ("verdicts", "score"),
    [
        pytest.param([], None, id="nothing_decided"),
        pytest.param([(M, HIGH), (N, CRIT)], None, id="only_manual_and_not_applicable"),
        pytest.param([(P, INFO), (F, INFO)], None, id="only_info_weighs_nothing"),
        pytest.param([(P, HIGH), (F, LOW)], 83.3, id="high_pass_low_fail"),
        pytest.param([(P, LOW), (F, HIGH)], 16.7, id="low_pass_high_fail"),
        pytest.param([(P, MED), (E, MED)], 50.0, id="error_is_not_a_pass"),
        pytest.param([(P, CRIT), (M, CRIT)], 100.0, id="manual_left_out"),
        pytest.param([(F, CRIT), (P, HIGH), (P, MED), (P, LOW)], 47.4, id="one_critical_gap"),
    ],
)
def test_weighted_score(verdicts, score):
    assert weighted_score(verdicts) == score


def _finding(check_id: str, status: Status, severity: Severity) -> Finding:
    return Finding(
        check_id=check_id, title="t", status=status, severity=severity, resource="site",
        reason="r.", observed={}, moodle_check=None, criteria=(), remediation="x.",
        fix_command=None,
    )  # fmt: skip


def test_a_check_fails_once_however_many_resources_fail():
    findings = [_finding("a.x_ok", F, LOW) for _ in range(30)] + [_finding("a.x_ok", P, HIGH)]
    findings += [_finding("b.y_ok", M, HIGH), _finding("b.y_ok", P, HIGH)]
    assert check_verdicts(findings) == {"a.x_ok": (F, LOW), "b.y_ok": (M, HIGH)}


def test_category_scores_weigh_checks_by_severity():
    catalogue = load_catalogue()
    cc = {c for crit in catalogue.soc2.criteria if crit.category == "CC" for c in crit.checks}
    critical = next(s.id for s in all_checks() if s.id in cc and s.severity is CRIT)
    low = next(s.id for s in all_checks() if s.id in cc and s.severity is LOW)
    findings = [_finding(critical, P, CRIT), _finding(low, F, LOW)]
    summary = summarize(findings, catalogue)
    (security,) = [r for r in summary.readiness if r.category == "CC"]
    times = {c.id for c in catalogue.soc2.criteria if critical in c.checks and c.category == "CC"}
    lows = {c.id for c in catalogue.soc2.criteria if low in c.checks and c.category == "CC"}
    expected = round(100 * 10 * len(times) / (10 * len(times) + 1 * len(lows)), 1)
    assert security.score == expected and security.gap == len(lows - times) + len(lows & times)
    assert summary.overall_score is not None


def test_the_doc_states_the_weights_and_the_formula():
    text = DOC.read_text(encoding="utf-8")
    assert FORMULA in text
    for severity, weight in SEVERITY_WEIGHTS.items():
        assert f"| {severity.value} | {weight} |" in text


def test_the_doc_lists_every_check_with_its_severity():
    rows = re.findall(r"^\| `([a-z_.]+)` \| (\w+) \|$", DOC.read_text(encoding="utf-8"), re.M)
    assert dict(rows) == {spec.id: spec.severity.value for spec in all_checks()}
    assert len(rows) == len(all_checks())


def test_critical_means_takeover_or_exposure():
    """Performance and availability settings are never critical (docs/severity.md)."""
    for check_id in ("hardening.javascript_cached", "hardening.designer_mode_off"):
        assert next(s for s in all_checks() if s.id == check_id).severity is LOW
    assert next(s for s in all_checks() if s.id == "operations.cron_running").severity is HIGH
    catalogue = load_catalogue()
    assert "CC7.1" not in catalogue.criteria_for_check("hardening.javascript_cached")
    assert {"A1.2", "PI1.3"} <= set(catalogue.criteria_for_check("operations.cron_running"))
    assert "CC7.2" not in catalogue.criteria_for_check("operations.cron_running")


def test_tallies_from_the_examples_are_those_of_every_finding() -> None:
    """A check's worst severity hides behind twenty lesser ones: the examples keep it, so the
    frameworks are scored without reading the populations."""
    from moodle_soc.models.run import AuditRun

    findings = [_finding("a.x_ok", F, LOW) for _ in range(30)] + [_finding("a.x_ok", F, CRIT)]
    findings += [_finding("a.x_ok", P, HIGH) for _ in range(25)] + [_finding("a.x_ok", E, MED)]
    findings += [_finding("b.y_ok", M, INFO), _finding("b.y_ok", N, CRIT)]
    run = AuditRun.model_validate(
        {
            "tool": {}, "catalogue_version": "x", "audit_time": "2026-11-29T10:30:00Z",
            "started_at": "2026-11-29T10:30:00Z", "finished_at": "2026-11-29T10:30:01Z",
            "policy": {}, "queries": [], "checks": [],
            "summary": {"by_status": {}, "failed_by_severity": {}, "readiness": [],
                        "overall_score": None},
            "site": {"name": "s", "wwwroot": None, "siteidentifier": None, "database": "d",
                     "prefix": "mdl_", "moodle_version": "1", "moodle_release": "5.1",
                     "moodle_branch": "501", "moodle_label": "5.1", "moodle_band": "4.3+",
                     "moodle_lts": False},
            "findings": [f.model_dump(mode="json") for f in findings],
        }
    )  # fmt: skip

    assert run_tallies(run) == tally(run.iter_findings())
    assert check_verdicts(run_tallies(run)) == {"a.x_ok": (F, CRIT), "b.y_ok": (M, CRIT)}
