"""One Nagios/NRPE status line and exit code, as Moodle's ``admin/cli/checks.php`` gives.

Monitoring systems already poll ``checks.php``; this line slots into the same service checks:
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, with perfdata after ``|`` for trend graphs.
"""

from __future__ import annotations

import re

from moodle_soc.models.run import AuditRun
from moodle_soc.results import Severity, Status

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
LABELS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
_CRITICAL_SEVERITIES = (Severity.CRITICAL, Severity.HIGH)
_MAX_RESOURCE = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def nagios_line(run: AuditRun) -> tuple[str, int]:
    """(status line, exit code): CRITICAL for a critical/high failure, WARNING for a lesser
    one, UNKNOWN when nothing failed but a check could not run, otherwise OK."""
    ordered = run.findings_sorted()
    failed = [f for f in ordered if f.status is Status.FAIL]
    errors = [f for f in ordered if f.status is Status.ERROR]
    passed = sum(1 for f in run.iter_findings() if f.status is Status.PASS)
    if any(f.severity in _CRITICAL_SEVERITIES for f in failed):
        code = CRITICAL
    elif failed:
        code = WARNING
    elif errors:
        code = UNKNOWN
    else:
        code = OK
    text = f"{LABELS[code]}: {len(failed)} failed"
    by_severity = [
        f"{count} {severity.value}"
        for severity in sorted(Severity, key=lambda s: -s.rank)
        if (count := sum(1 for f in failed if f.severity is severity))
    ]
    if by_severity:
        text += f" ({', '.join(by_severity)})"
    text += f", {len(errors)} {'error' if len(errors) == 1 else 'errors'}"
    worst = failed[0] if failed else errors[0] if errors else None
    if worst is not None:
        text += f"; worst: {worst.check_id} ({_one_line(worst.resource)})"
    score = run.summary.overall_score
    readiness = "U" if score is None else f"{score:g}%"
    perfdata = f"failed={len(failed)} errors={len(errors)} passed={passed} readiness={readiness}"
    return f"{text} | {perfdata}", code


def _one_line(value: str) -> str:
    """Moodle data on one line, without the ``|`` that would start Nagios perfdata."""
    text = " ".join(_CONTROL.sub(" ", value).replace("|", "/").split())
    return text if len(text) <= _MAX_RESOURCE else text[: _MAX_RESOURCE - 1] + "…"
