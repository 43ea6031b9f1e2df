"""The HTML report: one self-contained file an administrator can hand to an auditor.

No network: inline CSS, system fonts, one small inline script (filtering only; the report reads
fully without it) pinned by hash in a Content-Security-Policy. Moodle data is untrusted input:
the shared environment (``reports.templating``) autoescapes every value, so a user named
``<script>`` renders as text.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from moodle_soc.models.frameworks import FrameworkScore
from moodle_soc.models.run import AuditRun, CheckSummary, Finding
from moodle_soc.reports.summaries import (
    EXAMPLE_LIMIT,
    Examples,
    Listed,
    examples_by_check,
    failing_checks,
    total_findings,
)
from moodle_soc.reports.templating import environment
from moodle_soc.results import Severity, Status

STATUS_ORDER = (
    Status.FAIL,
    Status.ERROR,
    Status.ACCEPTED,
    Status.MANUAL,
    Status.PASS,
    Status.NOT_APPLICABLE,
)
STATUS_LABEL = {
    Status.FAIL: "Fail",
    Status.ERROR: "Error",
    Status.ACCEPTED: "Accepted",
    Status.MANUAL: "Manual",
    Status.PASS: "Pass",
    Status.NOT_APPLICABLE: "N/A",
}
SEVERITY_ORDER = tuple(sorted(Severity, key=lambda s: -s.rank))
# "What to fix first" lists this many failed resources per check; sections 4 and 5 list
# EXAMPLE_LIMIT (20) per check and status, and count the rest.
FIX_FIRST_LIMIT = 10

# Filtering of the findings section. Kept tiny and inline; the CSP allows only this exact text.
_SCRIPT = """
(function () {
  var bar = document.getElementById("filters");
  if (!bar) { return; }
  bar.hidden = false;
  var boxes = bar.querySelectorAll("input[type=checkbox]");
  var text = document.getElementById("filter-text");
  function apply() {
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var needle = text.value.trim().toLowerCase();
    document.querySelectorAll("#findings .check").forEach(function (group) {
      var any = false;
      group.querySelectorAll("tr[data-status]").forEach(function (row) {
        var hit = !needle || group.dataset.check.indexOf(needle) >= 0 ||
          row.textContent.toLowerCase().indexOf(needle) >= 0;
        row.hidden = !(on[row.dataset.status] && hit);
        any = any || !row.hidden;
      });
      group.hidden = !any;
    });
  }
  bar.addEventListener("input", apply);
  apply();
})();
"""


@dataclass(frozen=True)
class CheckGroup:
    """Section 4: a check, its first ``EXAMPLE_LIMIT`` examples (worst status first), and how
    many findings it has in all."""

    check_id: str
    summary: CheckSummary
    findings: tuple[Finding, ...]  # the check's examples

    @property
    def shown(self) -> tuple[Finding, ...]:
        return self.findings[:EXAMPLE_LIMIT]

    @property
    def count(self) -> int:
        return self.summary.findings

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.shown))


@dataclass(frozen=True)
class FailedCheck:
    """One check's failed findings: one remediation to apply to every listed resource."""

    check_id: str
    title: str
    severity: Severity
    remediation: str
    fix_commands: tuple[str, ...]  # those of the listed findings
    criteria: tuple[str, ...]
    findings: tuple[Finding, ...]  # its failed examples, worst first
    count: int  # every failed finding of the check

    @property
    def shown(self) -> tuple[Finding, ...]:
        return self.findings[:FIX_FIRST_LIMIT]

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.shown))


def render_html(run: AuditRun, frameworks: Sequence[FrameworkScore] = ()) -> str:
    """The run as one self-contained, escaped HTML document, with each framework's readiness.

    It lists the checks' examples and counts (``reports.summaries``), never the populations, so
    a run with a hundred thousand findings renders as fast as one with a hundred."""
    template = environment().get_template("report.html.j2")
    examples = examples_by_check(run)
    return template.render(
        run=run,
        site=run.site,
        summary=run.summary,
        failures=Listed.of(run, examples, Status.FAIL),
        failed_checks=_failed_checks(run, examples),
        errors=Listed.of(run, examples, Status.ERROR),
        accepted=Listed.of(run, examples, Status.ACCEPTED),
        manual=Listed.of(run, examples, Status.MANUAL),
        not_applicable=Listed.of(run, examples, Status.NOT_APPLICABLE),
        groups=[CheckGroup(check.id, check, tuple(examples[check.id])) for check in run.checks],
        total_findings=total_findings(run),
        status_counts=[
            (s, STATUS_LABEL[s], run.summary.by_status.get(s.value, 0)) for s in STATUS_ORDER
        ],
        severity_counts=[
            (s, run.summary.failed_by_severity.get(s.value, 0)) for s in SEVERITY_ORDER
        ],
        status_label=STATUS_LABEL,
        audit_time=_when(run.audit_time),
        scan_seconds=(run.finished_at - run.started_at).total_seconds(),
        script=_SCRIPT,
        script_hash=_script_hash(),
        frameworks=frameworks,
    )


def _failed_checks(run: AuditRun, examples: Examples) -> list[FailedCheck]:
    failed = [
        FailedCheck(
            check_id=c.check.id,
            title=c.check.title,
            severity=c.worst.severity,
            remediation=c.worst.remediation,
            fix_commands=tuple(dict.fromkeys(f.fix_command for f in c.shown if f.fix_command)),
            criteria=c.check.criteria,
            findings=tuple(c.shown),
            count=c.count,
        )
        for c in failing_checks(run, examples)
    ]
    return sorted(failed, key=lambda c: (-c.severity.rank, c.check_id))


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M:%S %Z").strip()


@lru_cache(maxsize=1)
def _script_hash() -> str:
    digest = hashlib.sha256(_SCRIPT.encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()
