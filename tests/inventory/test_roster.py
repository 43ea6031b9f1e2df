"""The HR roster: a forgiving CSV reader with exact errors, and its reconciliation with accounts."""

from __future__ import annotations

from datetime import date

import pytest

from moodle_soc.errors import BadInputError, ExitCode
from moodle_soc.inventory.roster import (
    load_roster,
    parse_roster,
    reconcile,
)

NOW = 1795936000  # 2026-11-29
DAY = 86400


def test_semicolons_bom_header_spelling_and_extra_columns_are_accepted():
    text = "\ufeffEmail;Username;STATUS;Leave Date;Manager;Cost centre\n\n"
    text += "A@x.edu;ana;Active;;J. Smith;42\n;bob;LEFT;2026-09-30;;\n"

    roster = parse_roster(text, "people.csv")

    assert roster.source == "people.csv"
    assert [
        (r.line, r.email, r.username, r.status, r.leave_date, r.manager) for r in roster.rows
    ] == [
        (3, "A@x.edu", "ana", "active", None, "J. Smith"),
        (4, None, "bob", "left", date(2026, 9, 30), None),
    ]


def test_commas_with_quoted_fields():
    roster = parse_roster('email,status,manager\n"c@x.edu",active,"Smith, J."\n')
    assert roster.rows[0].manager == "Smith, J."


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("email,leave_date\na@x.edu,\n", "has no status column"),
        ("name,status\nana,active\n", "has no email or username column"),
        ("email,status,email\na@x.edu,active,b@x.edu\n", "repeats a column name"),
        ("email,status\n", "has a header but no rows"),
    ],
    ids=["no_status", "no_identity", "repeated", "empty"],
)
def test_header_problems_are_one_sentence(text, needle):
    with pytest.raises(BadInputError) as caught:
        parse_roster(text, "people.csv")
    assert needle in caught.value.message and caught.value.exit_code is ExitCode.BAD_INPUT


def test_row_problems_are_listed_with_line_numbers():
    text = "email,username,status,leave_date\n"
    text += ",,active,\nbob,,active,\na@x.edu,,gone,\nb@x.edu,,left,\nc@x.edu,,left,30/09/2026\n"
    text += "d@x.edu,,active,,surplus\n"

    with pytest.raises(BadInputError) as caught:
        parse_roster(text, "people.csv")

    message = caught.value.message
    assert message.startswith("Roster people.csv has 6 problem(s): line 2 gives neither")
    for needle in ("line 3: email 'bob' is not an email address", "line 4: status 'gone' is not",
                   "line 5: leave_date is required when status is left",
                   "line 6: leave_date '30/09/2026' is not YYYY-MM-DD",
                   "line 7 has more fields than the header"):  # fmt: skip
        assert needle in message


def test_at_most_ten_problems_are_shown():
    text = "email,status\n" + "a@x.edu,maybe\n" * 14
    with pytest.raises(BadInputError) as caught:
        parse_roster(text)
    assert caught.value.message.count("is not active or left") == 10
    assert caught.value.message.endswith("(and 4 more).")


def test_load_roster_reports_unreadable_files(tmp_path):
    with pytest.raises(BadInputError, match="Cannot read the roster"):
        load_roster(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("email,status,manager\na@x.edu,active,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(BadInputError, match="is not UTF-8 text"):
        load_roster(latin)
    good = tmp_path / "people.csv"
    good.write_bytes(b"\xef\xbb\xbfusername,status\nana,active\n")
    assert load_roster(good).rows[0].username == "ana"


def _site(builder, make_site):
    ids = {
        "ana": builder.user("ana", email="Ana@X.edu", lastaccess=NOW - DAY),
        "bob": builder.user("bob", lastaccess=NOW - 10 * DAY),
        "cat": builder.user("cat", lastaccess=NOW - 80 * DAY),
        "dan": builder.user("dan", suspended=1, lastaccess=NOW - 80 * DAY),
        "eve": builder.user("eve", lastaccess=NOW - DAY),
        "future": builder.user("future", lastaccess=NOW - DAY),
    }
    return make_site(builder), ids


ROSTER = """username,email,status,leave_date,manager
,ana@x.edu,active,,Smith
BOB,,left,2026-09-30,Smith
cat,,left,2026-09-30,
dan,,left,2026-09-30,
eve,,left,2026-06-30,
eve,,active,,
ghost,ghost@x.edu,left,2026-01-31,
future,,left,2027-01-31,
"""


def test_reconcile_matches_case_insensitively_and_measures_how_long_access_outlived_leaving(
    builder, make_site
):
    site, ids = _site(builder, make_site)
    result = reconcile(site, parse_roster(ROSTER, "people.csv"))

    links = {link.userid: (link.line, link.matched_on, link.status) for link in result.links}
    assert links[ids["ana"]] == (2, "email", "active")
    assert links[ids["bob"]] == (3, "username", "left")
    assert links[ids["eve"]] == (7, "username", "active")  # rehired: active beats left
    assert [row.who for row in result.unmatched] == ["ghost"]
    leavers = {
        leaver.username: (leaver.days_active_after_leave, leaver.days_used_after_leave)
        for leaver in result.leavers_still_active
    }
    # From 2026-09-30 00:00 UTC to the audit time (2026-11-29): 60 days; bob used it 50 days in.
    # future leaves after the audit time, so is not a leaver yet.
    assert leavers == {"bob": (60, 50), "cat": (60, None)}
    assert result.leavers_deactivated == 1  # dan is suspended
