"""A check's population: rows in, compressed bytes out, the same rows back, the same hash."""

from __future__ import annotations

import gzip
import hashlib
import json

from moodle_soc.models.population import (
    EXAMPLES_PER_STATUS,
    Examples,
    PopulationWriter,
    iter_rows,
    slim_row,
)
from moodle_soc.models.run import CheckSummary, finding_from_row
from moodle_soc.results import Severity, Status

CHECK = CheckSummary(
    id="security.debug_display_disabled",
    title="Debug messages are not shown to users",
    area="security",
    severity=Severity.CRITICAL,
    status=Status.FAIL,
    moodle_check="core_displayerrors",
    criteria=("CC7.1",),
    rationale="Errors shown to users reveal paths.",
    findings=2,
    duration_ms=0.4,
    remediation="Development > Debugging > Display debug messages: off.",
    fix_command="php admin/cli/cfg.php --name=debugdisplay --set=0",
)


def finding(**changes: object) -> dict[str, object]:
    full: dict[str, object] = {
        "check_id": CHECK.id, "title": CHECK.title, "status": "fail", "severity": "critical",
        "resource": "setting:debugdisplay", "reason": "Setting debugdisplay is '1'.",
        "observed": {"debugdisplay": "1"}, "moodle_check": CHECK.moodle_check,
        "criteria": ["CC7.1"], "remediation": CHECK.remediation,
        "fix_command": CHECK.fix_command, "exception": None,
    }  # fmt: skip
    return full | changes


def test_a_row_keeps_only_what_differs_from_its_check() -> None:
    check = CHECK.model_dump(mode="json")

    assert slim_row(finding(), check) == {
        "check_id": CHECK.id, "status": "fail", "resource": "setting:debugdisplay",
        "reason": "Setting debugdisplay is '1'.", "observed": {"debugdisplay": "1"},
    }  # fmt: skip
    forced = slim_row(
        finding(fix_command=None, severity="high", remediation="Edit config.php."), check
    )
    assert (forced["fix_command"], forced["severity"], forced["remediation"]) == (
        None, "high", "Edit config.php.",
    )  # fmt: skip
    passed = slim_row(finding(status="pass", fix_command=None), check)
    assert "fix_command" not in passed  # a pass has no command by the check's rule


def test_rows_read_back_as_the_findings_they_came_from() -> None:
    check = CHECK.model_dump(mode="json")
    originals = [
        finding(),
        finding(resource="setting:debug", fix_command=None, severity="high"),
        finding(status="pass", fix_command=None, reason="Setting debugdisplay is '0'."),
    ]
    writer = PopulationWriter()
    for original in originals:
        writer.add(slim_row(original, check))
    data, ref = writer.finish()

    back = [finding_from_row(row, CHECK).model_dump(mode="json") for row in iter_rows(data)]

    assert back == originals
    assert ref.rows == 3 and ref.size == len(data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    lines = gzip.decompress(data).decode().splitlines()
    assert [json.loads(line)["resource"] for line in lines] == [
        "setting:debugdisplay", "setting:debug", "setting:debugdisplay",
    ]  # fmt: skip


def test_the_same_rows_always_give_the_same_hash() -> None:
    def population() -> str:
        writer = PopulationWriter()
        for n in range(500):
            writer.add({"check_id": CHECK.id, "status": "fail", "resource": f"user:{n}"})
        return writer.finish()[1].sha256

    assert population() == population()


def test_examples_keep_twenty_of_each_status_worst_first_then_in_order() -> None:
    """However many rows a check yields, the examples are bounded: per status, the worst
    severities first and, among equals, the first the check produced."""
    examples = Examples("medium")
    for n in range(1000):
        examples.add({"status": "pass", "resource": f"user:{n}"})
        examples.add({"status": "fail", "resource": f"user:{n}"})
    examples.add({"status": "fail", "resource": "user:late-critical", "severity": "critical"})
    examples.add({"status": "fail", "resource": "user:late-low", "severity": "low"})
    examples.add({"status": "error", "resource": "site"})

    rows = examples.rows()

    assert len(rows) == EXAMPLES_PER_STATUS * 2 + 1 == 41
    assert [r["status"] for r in rows] == ["fail"] * 20 + ["error"] + ["pass"] * 20
    assert [r["resource"] for r in rows[:3]] == ["user:late-critical", "user:0", "user:1"]
    assert rows[19]["resource"] == "user:18"  # the low one and the later mediums are counted
    assert [r["resource"] for r in rows[21:23]] == ["user:0", "user:1"]
