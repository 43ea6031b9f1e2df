"""The output guards: spreadsheet formulas, terminal control sequences, secrets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from moodle_soc.safety import (
    FORMULA_TRIGGERS,
    SECRET_MASK,
    display_url,
    is_formula_like,
    neutralize_formula,
    scrub_secret,
    strip_formula_guard,
    terminal_markup,
    terminal_safe,
)

HOSTILE_NAME = "\x1b[2J\x1b]0;pwned\x07<b>x</b>"
HYPERLINK = '=HYPERLINK("http://evil.test","x")'


@pytest.mark.parametrize("start", FORMULA_TRIGGERS)
def test_a_cell_starting_like_a_formula_gets_a_quote(start: str) -> None:
    text = start + "SUM(1)"

    assert is_formula_like(text)
    assert neutralize_formula(text) == "'" + text
    assert strip_formula_guard(neutralize_formula(text)) == text


@pytest.mark.parametrize("text", ["", "alice", "'quoted", "'alice", " =1", "1-2", "ａ=1"])
def test_other_cells_are_left_alone(text: str) -> None:
    assert neutralize_formula(text) == text
    assert strip_formula_guard(text) == text


def test_the_hyperlink_formula_is_guarded() -> None:
    assert neutralize_formula(HYPERLINK) == "'" + HYPERLINK


def test_escape_sequences_and_control_characters_are_shown_not_sent() -> None:
    safe = terminal_safe(HOSTILE_NAME)

    assert safe == "\\x1b[2J\\x1b]0;pwned\\x07<b>x</b>"
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in safe)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),  # one value cannot fake a line of its own
        ("a\rb", "a\\rb"),
        ("\x9b2J", "\\x9b2J"),  # the one-byte C1 CSI
        ("\x9d0;t\x9c", "\\x9d0;t\\x9c"),  # C1 OSC and ST
        ("\x7f\x00", "\\x7f\\x00"),
        ("admin\u202etxt.exe", "admin\\u202etxt.exe"),  # a right-to-left override
        ("\ud800", "\\ud800"),  # a lone surrogate cannot even be encoded
    ],
)
def test_every_control_character_is_neutralised(text: str, shown: str) -> None:
    assert terminal_safe(text) == shown


def test_ordinary_unicode_and_tabs_are_kept() -> None:
    text = "José Müller\t李小龙 عمر 🎓 l\u2019école\u00a0x"

    assert terminal_safe(text) == text


def test_terminal_markup_is_inert_in_rich_markup() -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(width=80, force_terminal=True, color_system="truecolor")
    with console.capture() as captured:
        console.print(f"[bold]{terminal_markup('[red]x[/]' + HOSTILE_NAME)}[/]")

    out = captured.get()
    assert Text.from_ansi(out).plain.strip() == "[red]x[/]\\x1b[2J\\x1b]0;pwned\\x07<b>x</b>"
    assert "\x07" not in out and "\x1b[2J" not in out and "\x1b]" not in out


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        ("s3cr3t", "FATAL: password s3cr3t rejected for auditor"),
        ("p@ss w%rd", "cannot parse postgresql://auditor:p%40ss%20w%25rd@db/moodle"),
        ("p@ss w%rd", "cannot parse postgresql://auditor:p%40ss+w%25rd@db/moodle"),
    ],
)
def test_a_secret_is_masked_as_typed_and_as_a_url_encodes_it(secret: str, text: str) -> None:
    scrubbed = scrub_secret(text, secret)

    assert SECRET_MASK in scrubbed
    assert "p%40ss" not in scrubbed and "s3cr3t" not in scrubbed


@pytest.mark.parametrize("secret", [None, ""])
def test_no_secret_leaves_the_text_alone(secret: str | None) -> None:
    assert scrub_secret("password authentication failed", secret) == (
        "password authentication failed"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://auditor:S3cret@db.example/moodle", "postgresql://auditor:***@db.example/moodle"),
        (sa.make_url("mysql+pymysql://root:pw@127.0.0.1:3306/m"), "mysql+pymysql://root:***@127.0.0.1:3306/m"),
        ("postgresql://auditor@db/moodle", "postgresql://auditor@db/moodle"),
        ("/var/lib/moodle-soc/evidence.sqlite", "/var/lib/moodle-soc/evidence.sqlite"),
        ("postgresql://u:S3cret@db:port/moodle", "postgresql://u:***@db:port/moodle"),
        ("not sql://u:S3cret@db/moodle", "not sql://u:***@db/moodle"),
    ],
)  # fmt: skip
def test_a_displayed_url_never_carries_its_password(url: str | sa.URL, shown: str) -> None:
    assert display_url(url) == shown
