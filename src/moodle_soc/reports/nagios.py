"""One Nagios/NRPE status line and exit code, as Moodle's ``admin/cli/checks.php`` gives.

Monitoring systems already poll ``checks.php``; this line slots into the same service checks:
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, with perfdata after ``|`` for trend graphs.
"""

from __future__ import annotations

import re

from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.results import Severity, Status

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
LABELS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
_CRITICAL_SEVERITIES = (Severity.CRITICAL, Severity.HIGH)
_MAX_RESOURCE = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def nagios_line(run: AuditRun) -> tuple[str, int]:
    """(status line, exit code): CRITICAL for a critical/high failure, WARNING for a lesser
    one, UNKNOWN when nothing failed but a check could not run, otherwise OK. Counted from the
    run's summary, so a run with a million findings costs what one with ten does."""
    counts = run.summary.by_status
    failed = counts.get(Status.FAIL.value, 0)
    errors = counts.get(Status.ERROR.value, 0)
    passed = counts.get(Status.PASS.value, 0)
    by_severity = run.summary.failed_by_severity
    if any(by_severity.get(s.value) for s in _CRITICAL_SEVERITIES):
        code = CRITICAL
    elif failed:
        code = WARNING
    elif errors:
        code = UNKNOWN
    else:
        code = OK
    text = f"{LABELS[code]}: {failed} failed"
    severities = [
        f"{count} {severity.value}"
        for severity in sorted(Severity, key=lambda s: -s.rank)
        if (count := by_severity.get(severity.value, 0))
    ]
    if severities:
        text += f" ({', '.join(severities)})"
    text += f", {errors} {'error' if errors == 1 else 'errors'}"
    worst = _worst(run)
    if worst is not None:
        text += f"; worst: {worst.check_id} ({_one_line(worst.resource)})"
    score = run.summary.overall_score
    readiness = "U" if score is None else f"{score:g}%"
    perfdata = f"failed={failed} errors={errors} passed={passed} readiness={readiness}"
    return f"{text} | {perfdata}", code


def _worst(run: AuditRun) -> Finding | None:
    """The worst failure (worst severity, then check id), else the first error: from the
    checks' examples, never the populations."""
    for status in (Status.FAIL, Status.ERROR):
        candidates = [
            (check, found[0])
            for check in run.checks
            if check.by_status.get(status.value)
            and (found := [f for f in run.check_examples(check) if f.status is status])
        ]
        if candidates:
            return min(candidates, key=lambda c: (-c[1].severity.rank, c[0].id))[1]
    return None


def _one_line(value: str) -> str:
    """Moodle data on one line, without the ``|`` that would start Nagios perfdata."""
    text = " ".join(_CONTROL.sub(" ", value).replace("|", "/").split())
    return text if len(text) <= _MAX_RESOURCE else text[: _MAX_RESOURCE - 1] + "…"
