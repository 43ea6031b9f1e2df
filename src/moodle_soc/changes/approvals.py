"""Read an approvals file exported from a change tracker (CSV, or JSON with the same fields).

Columns: ``ticket,title,requested_by,approved_by,approved_at,deploy_from,deploy_to,scope``.
``scope`` is a ``;``-separated list (a JSON list also works) of ``component/name`` settings,
``component/*``, plugin components (``local_reports``), ``core`` (core upgrades) or
``role/<shortname>``. Times are ISO 8601; a time without a zone is UTC; a date alone means the
start of that day, except ``deploy_to`` where it means the whole day. A file with any bad row
is refused as a whole, each problem named with its line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from moodle_soc.errors import BadInputError, InvalidFileError
from moodle_soc.models.changes import Approvals, Ticket

COLUMNS = ("ticket", "title", "requested_by", "approved_by", "approved_at", "deploy_from",
           "deploy_to", "scope")  # fmt: skip
REQUIRED = ("ticket", "approved_by", "approved_at", "deploy_from", "deploy_to", "scope")
MAX_BYTES = 20 * 1024 * 1024
_COMPONENT = r"(?:core|[a-z][a-z0-9]*_[a-z0-9_]+|role)"
_SCOPE = re.compile(rf"^(?:core|[a-z][a-z0-9]*_[a-z0-9_]+|{_COMPONENT}/(?:\*|[^\s/;]+))$")


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or time; a date is 00:00 UTC (or the day's last moment)."""
    value = text.strip()
    if len(value) == 10:
        day = date.fromisoformat(value)
        moment = datetime.combine(day, time.min, UTC)
        return moment + timedelta(days=1, microseconds=-1) if end_of_day else moment
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _scope(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return [part.strip() for part in str(value or "").split(";") if part.strip()]


def _ticket(row: dict[str, Any], where: str, problems: list[str]) -> Ticket | None:
    before = len(problems)
    for column in REQUIRED:
        if not str(row.get(column) or "").strip() and column != "scope":
            problems.append(f"{where}: {column} is empty")
    moments: dict[str, datetime] = {}
    for column in ("approved_at", "deploy_from", "deploy_to"):
        text = str(row.get(column) or "").strip()
        if not text:
            continue
        try:
            moments[column] = parse_moment(text, end_of_day=column == "deploy_to")
        except ValueError:
            problems.append(f"{where}: {column} {text[:40]!r} is not a date or ISO 8601 time")
    window = (moments.get("deploy_from"), moments.get("deploy_to"))
    if window[0] is not None and window[1] is not None and window[1] < window[0]:
        problems.append(f"{where}: deploy_to is before deploy_from")
    scope = _scope(row.get("scope"))
    if not scope:
        problems.append(f"{where}: scope is empty")
    for entry in scope:
        if not _SCOPE.match(entry):
            problems.append(
                f"{where}: scope entry {entry[:60]!r} is not component/name, component/*, a"
                " plugin component, core or role/<shortname>"
            )
    if len(problems) > before:
        return None
    return Ticket(
        ticket=str(row["ticket"]).strip(),
        title=str(row.get("title") or "").strip(),
        requested_by=str(row.get("requested_by") or "").strip(),
        approved_by=str(row["approved_by"]).strip(),
        approved_at=moments["approved_at"],
        deploy_from=moments["deploy_from"],
        deploy_to=moments["deploy_to"],
        scope=tuple(scope),
        line=int(where.split()[-1]),
    )


def _csv_rows(text: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise BadInputError(
            f"{name}: the header lacks {', '.join(missing)}; the columns are {','.join(COLUMNS)}."
        )
    reader.fieldnames = header
    return [(f"line {reader.line_num}", row) for row in reader]


def _json_rows(text: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{name} is not valid JSON (line {exc.lineno}).") from None
    if isinstance(data, dict):
        data = data.get("approvals")
    if not isinstance(data, list):
        raise BadInputError(f"{name} must hold a list of tickets (or {{'approvals': [...]}}).")
    rows = []
    for number, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise BadInputError(f"{name}: entry {number} is not an object.")
        rows.append((f"entry {number}", {str(k).lower(): v for k, v in item.items()}))
    return rows


def parse_approvals(data: bytes, name: str) -> Approvals:
    """Validate an approvals file as a whole: one bad row refuses all of it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInputError(f"{name} is not UTF-8 text.") from None
    is_json = name.lower().endswith(".json") or text.lstrip().startswith(("[", "{"))
    rows = _json_rows(text, name) if is_json else _csv_rows(text, name)
    problems: list[str] = []
    tickets: list[Ticket] = []
    seen: dict[str, str] = {}
    for where, row in rows:
        ticket = _ticket(row, where, problems)
        if ticket is None:
            continue
        if ticket.ticket in seen:
            problems.append(
                f"{where}: ticket {ticket.ticket!r} is already on {seen[ticket.ticket]}"
            )
            continue
        seen[ticket.ticket] = where
        tickets.append(ticket)
    if problems:
        raise InvalidFileError(name, problems)
    if not tickets:
        raise BadInputError(f"{name} lists no tickets.")
    digest = hashlib.sha256(data).hexdigest()
    return Approvals(source=name, sha256=digest, tickets=tuple(tickets))


def load_approvals(path: Path) -> Approvals:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadInputError(f"{path} is larger than {MAX_BYTES // 2**20} MiB.")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return parse_approvals(data, str(path))
