"""The HR roster: who works here and who has left, reconciled with Moodle accounts.

A roster is a CSV file (UTF-8, with or without a BOM; comma- or semicolon-separated) with a
header row naming these columns, in any order and case (other columns are ignored):

* ``email`` and/or ``username``: at least one column, and at least one value per row;
* ``status``: ``active`` or ``left`` (any case);
* ``leave_date``: ISO date (``2026-09-30``), required when the status is ``left``;
* ``manager``: optional, shown in the review.

A row matches the accounts whose username equals its ``username`` (case-insensitive); when it has
no username, or no account has it, the accounts whose email equals its ``email``. A person listed
both active and left (a rehire) counts as active. For a leaver whose account is still active,
``days_active_after_leave`` is audit time - leave date (how long the access outlived the
departure) and ``days_used_after_leave`` is last access - leave date when the account was used
on or after the leave date (None when it was not).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from moodle_soc.errors import BadInputError
from moodle_soc.inventory.flags import account_state, leave_timestamp, moment
from moodle_soc.models.roster import Leaver, Reconciliation, Roster, RosterLink, RosterRow

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.site.people import Person

COLUMNS = ("email", "username", "status", "leave_date", "manager")
MAX_PROBLEMS = 10
DAY = 86400
_SEPARATORS = re.compile(r"[\s\-]+")


def load_roster(path: Path) -> Roster:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read the roster {path}: {exc.strerror or exc}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInputError(f"Roster {path} is not UTF-8 text; save it as CSV UTF-8.") from None
    return parse_roster(text, str(path))


def _column(name: str) -> str:
    return _SEPARATORS.sub("_", name.strip().lower())


def parse_roster(text: str, source: str = "roster") -> Roster:
    """Rows of a roster CSV; every row-level problem (up to 10 shown) in one BadInputError."""
    text = text.lstrip("\ufeff")
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_column(cell) for cell in next(reader, [])]
    missing = "status" if "status" not in header else None
    if not {"email", "username"} & set(header):
        missing = "email or username"
    if missing or len(set(header)) != len(header):
        problem = f"has no {missing} column" if missing else "repeats a column name"
        raise BadInputError(f"Roster {source} {problem}; its columns are {', '.join(COLUMNS)}.")
    rows, problems = [], []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        row, row_problems = _row(reader.line_num, values, len(cells) - len(header), cells)
        problems += row_problems
        if row is not None:
            rows.append(row)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS])
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise BadInputError(f"Roster {source} has {len(problems)} problem(s): {shown}{more}.")
    if not rows:
        raise BadInputError(f"Roster {source} has a header but no rows.")
    return Roster(source=source, rows=tuple(rows))


def _row(
    line: int, values: dict[str, str], extra: int, cells: list[str]
) -> tuple[RosterRow | None, list[str]]:
    problems = []
    email, username = values.get("email") or None, values.get("username") or None
    status = (values.get("status") or "").lower()
    if extra > 0 and any(cell.strip() for cell in cells[-extra:]):
        problems.append(f"line {line} has more fields than the header")
    if email is None and username is None:
        problems.append(f"line {line} gives neither email nor username")
    if email is not None and "@" not in email:
        problems.append(f"line {line}: email {email!r} is not an email address")
    if status not in ("active", "left"):
        problems.append(f"line {line}: status {values.get('status', '')!r} is not active or left")
    leave: date | None = None
    if values.get("leave_date"):
        try:
            leave = date.fromisoformat(values["leave_date"])
        except ValueError:
            problems.append(f"line {line}: leave_date {values['leave_date']!r} is not YYYY-MM-DD")
    elif status == "left":
        problems.append(f"line {line}: leave_date is required when status is left")
    if problems:
        return None, problems
    fields = {
        "line": line,
        "email": email,
        "username": username,
        "status": status,
        "leave_date": leave,
        "manager": values.get("manager") or None,
    }
    return RosterRow.model_validate(fields), []


def _links(roster: Roster, people: list[Person]) -> tuple[dict[int, RosterLink], list[RosterRow]]:
    """Per user id the effective roster row (active beats left; else the latest leave date)."""
    by_username: dict[str, list[Person]] = {}
    by_email: dict[str, list[Person]] = {}
    for person in people:
        by_username.setdefault(person.user.username.lower(), []).append(person)
        if person.email:
            by_email.setdefault(person.email.lower(), []).append(person)
    links: dict[int, RosterLink] = {}
    unmatched = []
    for row in roster.rows:
        on: Literal["username", "email"] = "username"
        hits = by_username.get(row.username.lower(), []) if row.username else []
        if not hits and row.email:
            on, hits = "email", by_email.get(row.email.lower(), [])
        if not hits:
            unmatched.append(row)
        for person in hits:
            link = RosterLink(
                userid=person.user.id,
                line=row.line,
                matched_on=on,
                status=row.status,
                leave_date=row.leave_date,
                manager=row.manager,
            )
            if _better(link, links.get(person.user.id)):
                links[person.user.id] = link
    return links, unmatched


def _better(new: RosterLink, old: RosterLink | None) -> bool:
    if old is None or (new.status == "active") != (old.status == "active"):
        return old is None or new.status == "active"
    return (new.leave_date or date.min) > (old.leave_date or date.min)


def reconcile(site: MoodleSite, roster: Roster) -> Reconciliation:
    """Match the roster to accounts and list the leavers whose accounts are still active."""
    people = site.people.matching(
        (row.username for row in roster.rows if row.username),
        (row.email for row in roster.rows if row.email),
    )
    links, unmatched = _links(roster, people)
    leavers, deactivated = [], 0
    for person in people:
        link = links.get(person.user.id)
        if link is None or link.status != "left" or link.leave_date is None:
            continue
        left = leave_timestamp(link.leave_date)
        if left > site.now:
            continue  # leaving later: not yet a leaver
        if account_state(person.user) != "active":
            deactivated += 1
            continue
        last = person.user.lastaccess
        leavers.append(
            Leaver(
                userid=person.user.id,
                username=person.user.username,
                line=link.line,
                leave_date=link.leave_date,
                manager=link.manager,
                lastaccess=moment(last),
                days_active_after_leave=(site.now - left) // DAY,
                days_used_after_leave=(last - left) // DAY if last >= left else None,
            )
        )
    return Reconciliation(
        source=roster.source,
        rows=len(roster.rows),
        links=sorted(links.values(), key=lambda link: link.userid),
        unmatched=unmatched,
        leavers_still_active=sorted(leavers, key=lambda leaver: -leaver.days_active_after_leave),
        leavers_deactivated=deactivated,
    )
