"""A check's population: rows in, compressed bytes out, the same rows back, the same hash."""

from __future__ import annotations

import gzip
import hashlib
import json

from moodle_soc.models.population import PopulationWriter, iter_rows, slim_row
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
