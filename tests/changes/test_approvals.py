"""Approvals files: CSV or JSON, every field checked, refused whole on any bad row."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from moodle_soc.changes.approvals import parse_approvals
from moodle_soc.errors import BadInputError, InvalidFileError

HEADER = "ticket,title,requested_by,approved_by,approved_at,deploy_from,deploy_to,scope\n"
GOOD = (
    "CHG-1,Password policy,alice,bob,2026-11-20T10:00:00Z,2026-11-21,2026-11-29,"
    "core/passwordpolicy;core/minpasswordlength\n"
    "CHG-2,Plugins,alice,carol,2026-11-20,2026-11-20,2026-11-30,local_reports;core;tool_mfa/*\n"
)


def test_a_csv_file_gives_tickets_with_utc_times_and_scopes() -> None:
    approvals = parse_approvals((HEADER + GOOD).encode(), "approvals.csv")

    first, second = approvals.tickets
    assert first.ticket == "CHG-1" and first.line == 2
    assert first.approved_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert first.deploy_from == datetime(2026, 11, 21, tzinfo=UTC)
    assert first.deploy_to == datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert first.scope == ("core/passwordpolicy", "core/minpasswordlength")
    assert second.scope == ("local_reports", "core", "tool_mfa/*")
    assert len(approvals.sha256) == 64


def test_a_json_file_with_the_same_fields_is_accepted() -> None:
    rows = [
        {
            "ticket": "CHG-9",
            "title": "t",
            "requested_by": "a",
            "approved_by": "b",
            "approved_at": "2026-11-01",
            "deploy_from": "2026-11-01",
            "deploy_to": "2026-11-02",
            "scope": ["core/debug", "role/manager"],
        },
    ]
    approvals = parse_approvals(json.dumps({"approvals": rows}).encode(), "a.json")

    assert approvals.tickets[0].scope == ("core/debug", "role/manager")


def test_every_bad_row_is_named_and_nothing_is_used() -> None:
    bad = (
        "CHG-3,,a,,yesterday,2026-11-05,2026-11-01,core/debug\n"
        "CHG-1,,a,b,2026-11-01,2026-11-01,2026-11-02,not a scope\n"
        "CHG-1,,a,b,2026-11-01,2026-11-01,2026-11-02,\n"
    )
    with pytest.raises(InvalidFileError) as raised:
        parse_approvals((HEADER + GOOD + bad).encode(), "approvals.csv")

    problems = raised.value.problems
    assert "line 4: approved_by is empty" in problems
    assert "line 4: approved_at 'yesterday' is not a date or ISO 8601 time" in problems
    assert "line 4: deploy_to is before deploy_from" in problems
    assert any(p.startswith("line 5: scope entry 'not a scope'") for p in problems)
    assert "line 6: scope is empty" in problems


def test_a_duplicate_ticket_is_refused() -> None:
    duplicate = GOOD + "CHG-1,,a,b,2026-11-01,2026-11-01,2026-11-02,core\n"
    with pytest.raises(InvalidFileError, match="ticket 'CHG-1' is already on line 2"):
        parse_approvals((HEADER + duplicate).encode(), "approvals.csv")


def test_at_most_twenty_problems_are_spelled_out() -> None:
    rows = "".join(f"CHG-{n},,a,b,never,2026-11-01,2026-11-02,core\n" for n in range(30))
    with pytest.raises(InvalidFileError) as raised:
        parse_approvals((HEADER + rows).encode(), "approvals.csv")

    assert len(raised.value.problems) == 30
    assert raised.value.message.count("is not a date") == 20
    assert raised.value.message.endswith("and 10 more problem(s).")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ticket,title\nX,Y\n", "the header lacks requested_by"),
        (HEADER.encode(), "lists no tickets"),
        (b"[1, 2]", "entry 1 is not an object"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_malformed_files_are_bad_input(data: bytes, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        parse_approvals(data, "approvals.csv" if not data.startswith((b"[", b"{")) else "a.json")
