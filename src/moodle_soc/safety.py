"""What untrusted text must pass through before it leaves the tool: one home for each rule.

Moodle data (usernames, role names, course names, log values), review files filled in by
people and error sentences from database drivers are untrusted. Three outputs can be abused
with them, and each has exactly one guard here:

- a spreadsheet runs a cell that starts like a formula (``=HYPERLINK(...)``):
  ``neutralize_formula`` (and ``strip_formula_guard`` to read our own files back);
- a terminal obeys control characters and escape sequences (``ESC[2J`` clears the screen, an
  OSC sequence retitles the window or writes the clipboard): ``terminal_safe`` and, for text
  embedded in Rich markup, ``terminal_markup``;
- an error sentence or a displayed connection URL may carry the database password:
  ``scrub_secret`` and ``display_url``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "FORMULA_TRIGGERS",
    "SECRET_MASK",
    "display_url",
    "is_formula_like",
    "neutralize_formula",
    "scrub_secret",
    "strip_formula_guard",
    "terminal_markup",
    "terminal_safe",
]

#: A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets
#: (OWASP's CSV injection list: tab and carriage return let a formula hide behind them).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: What a secret is replaced with wherever it would otherwise be shown.
SECRET_MASK = "********"

# C0 controls but tab (newline included: a value cannot fake a line of its own), DEL, C1
# controls (ESC, BEL, CSI, OSC and ST among them), the bidirectional embeddings, overrides and
# isolates (they reorder the rest of the line, as in "Trojan source"), and lone surrogates (a
# UTF-8 terminal cannot encode them at all).
_UNSAFE_FOR_TERMINAL = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula."""
    return text.startswith(FORMULA_TRIGGERS)


def neutralize_formula(text: str) -> str:
    """``text`` as a cell a spreadsheet shows as text: a leading ``'`` when it would run."""
    return "'" + text if is_formula_like(text) else text


def strip_formula_guard(text: str) -> str:
    """The value behind a cell ``neutralize_formula`` wrote (a file read back in)."""
    if text.startswith("'") and is_formula_like(text[1:]):
        return text[1:]
    return text


def terminal_safe(value: object) -> str:
    """``value`` as one line of text that cannot drive a terminal: each control character is
    shown as its Python escape (``ESC[2J`` prints as ``\\x1b[2J``, a newline as ``\\n``), never
    sent. Tabs and ordinary Unicode (accents, CJK, emoji, right-to-left scripts) are kept; join
    safe values with newlines to print several lines."""
    return _UNSAFE_FOR_TERMINAL.sub(lambda m: repr(m.group())[1:-1], str(value))


def terminal_markup(value: object) -> str:
    """``terminal_safe`` text that is also inert inside Rich markup (``[bold]`` stays text)."""
    from rich.markup import escape

    return escape(terminal_safe(value))


def scrub_secret(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked, also as a URL would encode it
    (drivers echo either form in error messages)."""
    if not secret:
        return text
    for form in dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret))):
        text = text.replace(form, SECRET_MASK)
    return text


def display_url(url: str | sa.URL) -> str:
    """A database URL safe to print: its password shown as ``***``; a path as it is."""
    import sqlalchemy as sa

    if isinstance(url, str):
        if "://" not in url:
            return url
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
            # Not a URL SQLAlchemy can read: mask what lies between "//user:" and the host.
            return re.sub(r"(//[^/:@]*):[^/]*@", r"\1:***@", url)
        return parsed.render_as_string(hide_password=True)
    return url.render_as_string(hide_password=True)
