"""The cursor file of incremental re-runs: a file kept for another site or period means a full
run, a damaged file is a one-line input error. (Re-run equals full run, on every engine:
tests/integration/test_logs.py.)"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from moodle_soc.errors import BadInputError, ExitCode
from moodle_soc.logreview.cursor import LogCursor, load_cursor, save_cursor
from moodle_soc.site.log_review import DayCount

START, END = date(2026, 11, 1), date(2026, 11, 30)
SITE = "https://moodle.example.org"
LOGIN = "\\core\\event\\user_loggedin"


@pytest.mark.parametrize(
    ("site", "start", "end"),
    [("https://other.example.org", START, END), (SITE, date(2026, 10, 1), END)],
)
def test_another_site_or_period_means_a_full_run(
    tmp_path: Path, site: str, start: date, end: date
) -> None:
    path = tmp_path / "cursor.json"
    save_cursor(path, LogCursor(SITE, START, END, 10, [DayCount(0, LOGIN, 7, 1, 4, 10)]))
    cursor = load_cursor(path, site, start, end)
    assert (cursor.last_id, cursor.groups) == (None, [])
    assert load_cursor(tmp_path / "none.json", SITE, START, END).last_id is None


def test_a_damaged_cursor_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "cursor.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"^Cannot read the log cursor .*cursor\.json: ") as e:
        load_cursor(path, SITE, START, END)
    assert e.value.exit_code == ExitCode.BAD_INPUT
