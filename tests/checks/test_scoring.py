"""The one scoring rule, and docs/severity.md kept equal to it and to the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moodle_soc.checks.registry import all_checks
from moodle_soc.checks.scoring import (
    FORMULA,
    SEVERITY_WEIGHTS,
    check_verdicts,
    summarize,
    weighted_score,
)
from moodle_soc.frameworks import load_catalogue
from moodle_soc.models.run import Finding
from moodle_soc.results import Severity, Status

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
