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
# "What to fix first" lists this many failed resources per check; section 4 lists EXAMPLE_LIMIT.
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


#: Section 4 lists this many findings per check (worst first) and counts the rest, so a check
#: with 100,000 affected accounts renders 20 rows; the JSON report holds every finding.
EXAMPLE_LIMIT = 20


@dataclass(frozen=True)
class CheckGroup:
    check_id: str
    summary: CheckSummary | None
    findings: tuple[Finding, ...]

    @property
    def shown(self) -> tuple[Finding, ...]:
        return self.findings[:EXAMPLE_LIMIT]

    @property
    def more(self) -> int:
        return max(0, len(self.findings) - EXAMPLE_LIMIT)


@dataclass(frozen=True)
class FailedCheck:
    """One check's failed findings: one remediation to apply to every listed resource."""

    check_id: str
    title: str
    severity: Severity
    remediation: str
    fix_commands: tuple[str, ...]
    criteria: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def shown(self) -> tuple[Finding, ...]:
        return self.findings[:FIX_FIRST_LIMIT]

    @property
    def more(self) -> int:
        return max(0, len(self.findings) - FIX_FIRST_LIMIT)


def render_html(run: AuditRun, frameworks: Sequence[FrameworkScore] = ()) -> str:
    """The run as one self-contained, escaped HTML document, with each framework's readiness."""
    template = environment().get_template("report.html.j2")
    ordered = run.findings_sorted()
    return template.render(
        run=run,
        site=run.site,
        summary=run.summary,
        failures=[f for f in ordered if f.status is Status.FAIL],
        failed_checks=_failed_checks(ordered),
        errors=[f for f in ordered if f.status is Status.ERROR],
        accepted=[f for f in ordered if f.status is Status.ACCEPTED],
        manual=[f for f in ordered if f.status is Status.MANUAL],
        not_applicable=[f for f in ordered if f.status is Status.NOT_APPLICABLE],
        groups=_groups(run, ordered),
        status_counts=[
            (s, STATUS_LABEL[s], run.summary.by_status.get(s.value, 0)) for s in STATUS_ORDER
        ],
        severity_counts=[
            (s, run.summary.failed_by_severity.get(s.value, 0)) for s in SEVERITY_ORDER
        ],
        status_label=STATUS_LABEL,
        audit_time=_when(run.audit_time),
        scan_seconds=(run.finished_at - run.started_at).total_seconds(),
        examples=examples,
        script=_SCRIPT,
        script_hash=_script_hash(),
        frameworks=frameworks,
    )


def examples(findings: Sequence[Finding]) -> list[Finding]:
    """At most ``EXAMPLE_LIMIT`` findings of each check, in the given order (section 5's lists
    count the rest; the JSON report holds every finding)."""
    listed: dict[str, int] = {}
    shown = []
    for finding in findings:
        listed[finding.check_id] = listed.get(finding.check_id, 0) + 1
        if listed[finding.check_id] <= EXAMPLE_LIMIT:
            shown.append(finding)
    return shown


def _groups(run: AuditRun, ordered: list[Finding]) -> list[CheckGroup]:
    by_check: dict[str, list[Finding]] = {}
    for finding in ordered:
        by_check.setdefault(finding.check_id, []).append(finding)
    groups = [
        CheckGroup(check.id, check, tuple(by_check.pop(check.id, []))) for check in run.checks
    ]
    # Findings of a check the run has no summary for still appear (never silently dropped).
    groups += [CheckGroup(cid, None, tuple(items)) for cid, items in sorted(by_check.items())]
    return groups


def _failed_checks(ordered: list[Finding]) -> list[FailedCheck]:
    by_check: dict[str, list[Finding]] = {}
    for finding in ordered:
        if finding.status is Status.FAIL:
            by_check.setdefault(finding.check_id, []).append(finding)
    failed = [
        FailedCheck(
            check_id=check_id,
            title=items[0].title,
            severity=max((f.severity for f in items), key=lambda s: s.rank),
            remediation=items[0].remediation,
            fix_commands=tuple(dict.fromkeys(f.fix_command for f in items if f.fix_command)),
            criteria=items[0].criteria,
            findings=tuple(items),
        )
        for check_id, items in by_check.items()
    ]
    return sorted(failed, key=lambda c: (-c.severity.rank, c.check_id))


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M:%S %Z").strip()


@lru_cache(maxsize=1)
def _script_hash() -> str:
    digest = hashlib.sha256(_SCRIPT.encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()
