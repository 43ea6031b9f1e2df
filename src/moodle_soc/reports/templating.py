"""The one Jinja environment every HTML page is rendered with, and the project's filters.

Moodle data is untrusted input: autoescaping is on for every template and no template marks
Moodle data ``|safe``, so a user named ``<script>`` renders as text. Undefined names fail the
render instead of printing nothing. Jinja2 is imported when the first page is rendered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

# Break long ids and paths after these; applied after escaping (no entity contains them).
_BREAK_AFTER = re.compile(r"([._:/\\])")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment: templates from ``reports/templates``, autoescaped."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("moodle_soc", "reports/templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from moodle_soc.checks.scoring import FORMULA

    env.globals["score_formula"] = FORMULA
    env.filters.update(
        breakable=breakable,
        compact_json=compact_json,
        observed=observed_values,
        score=score,
        score_class=score_class,
        segments=timeline_segments,
        text=cell_text,
        when=minute,
        md=markdown_text,
    )
    return env


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def markdown_text(value: object) -> Markup:
    """``value`` as literal Markdown on one line (the document templates are Markdown, not
    HTML: a username cannot open a table cell, a link or emphasis). Returned as ``Markup`` so
    the HTML autoescaping leaves the Markdown escaping alone."""
    from markupsafe import Markup

    text = " ".join(str(value).split())
    return Markup(_MARKDOWN_SPECIAL.sub(r"\\\1", text))


@dataclass(frozen=True)
class ObservedValue:
    """One observed value, as text: strings verbatim, everything else as compact JSON."""

    key: str
    text: str
    kind: str  # "str", "empty", "json"


def breakable(value: str) -> Markup:
    """Escaped text with line-break opportunities after separators, for long ids and paths."""
    from markupsafe import Markup, escape

    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(value))))


def observed_values(observed: dict[str, Any]) -> list[ObservedValue]:
    """A finding's observed values as rows of a key/value table."""
    rows = []
    for key, value in observed.items():
        if isinstance(value, str):
            rows.append(ObservedValue(str(key), value, "str" if value else "empty"))
        elif (moment := _moodle_time(str(key), value)) is not None:
            rows.append(ObservedValue(str(key), moment, "str"))
        else:
            rows.append(ObservedValue(str(key), compact_json(value), "json"))
    return rows


#: Moodle stores times as Unix seconds in columns named like these; readers want a date (the
#: raw value stays in the JSON report and after the date).
_TIME_KEY = re.compile(
    r"(^|_)(time[a-z]*|[a-z]*time|lastaccess|lastlogin|currentlogin|firstaccess|validuntil"
    r"|timecreated|timemodified|lastruntime|nextruntime|[a-z_]*_at)$"
)


def _moodle_time(key: str, value: Any) -> str | None:
    """``2026-11-29 07:06 UTC (1795936000)`` for a Unix time under a time-like key."""
    if isinstance(value, bool) or not isinstance(value, int) or not _TIME_KEY.search(key):
        return None
    if not 946_684_800 <= value <= 4_102_444_800:  # 2000 to 2100: else not a timestamp
        return None
    moment = datetime.fromtimestamp(value, UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC ({value})"


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def score_class(value: float | None) -> str:
    if value is None:
        return "none"
    return "good" if value >= 90 else "fair" if value >= 70 else "poor"


def minute(value: datetime | None) -> str:
    """A moment to the minute, or "never" when there is none (a last login, say)."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


def cell_text(value: Any) -> str:
    """Any value of a flat row (a decision, a follow-up) as the text of a table cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return minute(value)
    return json.dumps(value, default=str, ensure_ascii=False)


def timeline_segments(timeline: Sequence[Any]) -> list[dict[str, Any]]:
    """Consecutive days with the same status, as one bar segment each.

    A year drawn as 365 cells per control is slow to lay out in a PDF and hard to read; a
    control that passed all year is one segment, and every change of status starts a new one.
    """
    segments: list[dict[str, Any]] = []
    for cell in timeline:
        status = cell.status
        if status == "unknown" and not cell.runs and getattr(cell, "reconstructed_runs", 0):
            status = "reconstructed"  # only a late run covered it: still not monitored
        if segments and segments[-1]["status"] == status:
            segments[-1]["days"] += 1
            segments[-1]["last"] = cell.day
        else:
            segments.append({"status": status, "first": cell.day, "last": cell.day, "days": 1})
    total = max(1, sum(s["days"] for s in segments))
    for segment in segments:
        segment["width"] = round(100 * segment["days"] / total, 3)
    return segments
