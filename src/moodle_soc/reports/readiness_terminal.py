"""The readiness programme on the terminal: scope, scores, checklist, controls, due dates.

Text from users (owners, approvers, reasons) goes through ``terminal_safe`` into ``Text``
objects, never parsed as markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from moodle_soc.models.programme import ManualControl, ReadinessOverview
from moodle_soc.safety import terminal_safe

STATE_STYLE = {
    "ready": "green",
    "due_soon": "yellow",
    "incomplete": "red",
    "missing": "red",
    "overdue": "bold red",
    "active": "yellow",
    "expired": "red",
    "revoked": "dim",
    "pending": "dim",
}


def _t(value: object, style: str = "") -> Text:
    return Text(terminal_safe(str(value)), style=style)


def _state(value: str) -> Text:
    return Text(value.replace("_", " "), style=STATE_STYLE.get(value, ""))


def render_readiness_terminal(overview: ReadinessOverview, console: Console) -> None:
    console.print(_t(f"Readiness programme of {overview.site}", "bold underline"))
    console.print(_t(f"As of {overview.as_of:%Y-%m-%d %H:%M %Z}".strip()))
    scope = overview.scope
    if scope is None:
        console.print(
            _t("No scope decided yet: every category is shown. Run 'readiness scope'.", "yellow")
        )
    else:
        period = (
            f"{scope.period_start}"
            if scope.report_type == "type1"
            else f"{scope.period_start} to {scope.period_end}"
        )
        soc1 = "SOC 1 applies" if scope.soc1 else "no SOC 1"
        console.print(
            _t(
                f"Scope: SOC 2 {', '.join(scope.soc2_categories)}; {soc1}; {scope.hosting_model};"
                f" {scope.report_type} {period} (decided by {scope.decided_by})."
            )
        )
    if overview.latest_run is None:
        console.print(_t("No scan on record: automated checks count as not scanned.", "yellow"))
    else:
        console.print(_t(f"Automated evidence: scan record {overview.latest_run}"
                         f" at {overview.latest_run_time:%Y-%m-%d %H:%M}."))  # fmt: skip
    console.print()
    scores = Table(title="Score per category", title_justify="left", caption=overview.score_formula)
    for column in ("Category", "In scope", "Criteria", "Met", "Not met", "N/A", "Score"):
        scores.add_column(column)
    for c in overview.categories:
        score = "n/a" if c.score is None else f"{c.score:.1f}%"
        scores.add_row(_t(f"{c.category} {c.name}"), _t("yes" if c.in_scope else "no"),
                       str(c.criteria), str(c.met), str(c.not_met), str(c.not_applicable),
                       score)  # fmt: skip
    console.print(scores)
    checklist = Table(title="Readiness checklist", title_justify="left")
    for column in ("Item", "Owner", "State", "Gaps"):
        checklist.add_column(column)
    for item in overview.checklist:
        gaps = " ".join(item.gaps[:3]) + (
            f" (+{len(item.gaps) - 3} more)" if len(item.gaps) > 3 else ""
        )
        checklist.add_row(_t(item.title), _t(item.owner), _state(item.state), _t(gaps))
    console.print(checklist)
    console.print(_controls_table(overview.controls))
    if overview.next_due:
        due = Table(title="Next due", title_justify="left")
        for column in ("Due", "Control", "Owner", "State"):
            due.add_column(column)
        for control in overview.next_due:
            due.add_row(str(control.due), _t(control.title), _t(control.owner),
                        _state(control.status))  # fmt: skip
        console.print(due)
    if overview.exceptions:
        table = Table(title="Risk exceptions", title_justify="left")
        for column in ("Id", "State", "Check", "Approver", "Expires", "Reason"):
            table.add_column(column)
        for view in overview.exceptions:
            e = view.exception
            table.add_row(_t(e.id), _state(view.state), _t(e.check_id), _t(e.approver),
                          str(e.expires), _t(e.reason))  # fmt: skip
        console.print(table)


def _controls_table(controls: tuple[ManualControl, ...]) -> Table:
    counts = {s: sum(1 for c in controls if c.status == s) for s in
              ("missing", "overdue", "due_soon", "ready")}  # fmt: skip
    title = "Manual controls: " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items())
    table = Table(title=title, title_justify="left")
    for column in ("Control", "Owner", "Frequency", "State", "Evidence", "Due"):
        table.add_column(column)
    for c in sorted(controls, key=lambda c: (c.status == "ready", c.status, c.id)):
        state = _state(c.status)
        if not c.in_scope:
            state.append(" (carved out)", style="dim")
        table.add_row(_t(c.id), _t(c.owner), _t(c.frequency), state,
                      str(c.evidence_date or ""), str(c.due or ""))  # fmt: skip
    return table
