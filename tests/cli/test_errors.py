"""One error path and one exit-code table: every command's representative failure ends as one
``moodle-soc: error: …`` line on stderr with its code from ``ExitCode``, never a traceback;
and the README's table of exit codes is the enum's."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from moodle_soc.cli.main import app, main
from moodle_soc.errors import ExitCode

README = Path(__file__).parents[2] / "README.md"
NO = "/dev/null/moodle-soc"  # under a device, not a directory: nothing can be created there
STORE = ("--store", f"{NO}/evidence.sqlite")  # reading commands never create a store
CONFIG = ("--config", f"{NO}/config.php")
PERIOD = ("--period", "2026-11-01..2026-11-30")
USAGE, BAD_CONFIG, BAD_INPUT = ExitCode.USAGE, ExitCode.BAD_CONFIG, ExitCode.BAD_INPUT
NO_STORE = (BAD_INPUT, f"No evidence store at {NO}/evidence.sqlite")
NO_CONFIG = (BAD_CONFIG, f"{NO}/config.php")
# A command that writes evidence creates its store, here where no directory can be made.
NOT_A_DIRECTORY = (BAD_INPUT, f"{NO}: Not a directory.")

#: Each command, a representative failure of it, its code and a part of its one line.
FAILURES: dict[tuple[str, ...], tuple[tuple[str, ...], ExitCode, str]] = {
    ("scan",): (CONFIG, *NO_CONFIG),
    ("demo",): (("--site-db", f"{NO}/site.sqlite"), BAD_INPUT, f"no directory {NO}."),
    ("changes",): ((*CONFIG, *STORE), *NO_CONFIG),
    ("drift",): (("--from", f"{NO}/a.php", "--to", f"{NO}/b.php"), BAD_CONFIG, f"{NO}/a.php"),
    ("plugins",): (CONFIG, *NO_CONFIG),
    ("worker",): (STORE, *NOT_A_DIRECTORY),
    ("monitor",): (("--sites", f"{NO}/sites.yaml", "--once"), BAD_INPUT, f"{NO}/sites.yaml"),
    ("serve",): (STORE, *NO_STORE),
    ("checks", "list"): (("--format", "xml"), USAGE, "'xml' is not one of"),
    ("checks", "show"): (("zzz",), USAGE, "Unknown check 'zzz'"),
    ("checks", "policy"): (("--settings", f"{NO}/p.yaml"), BAD_INPUT, f"{NO}/p.yaml"),
    ("evidence", "list"): (STORE, *NO_STORE),
    ("evidence", "show"): (("1", *STORE), *NO_STORE),
    ("evidence", "diff"): (("1", "2", *STORE), *NO_STORE),
    ("evidence", "verify"): (STORE, *NO_STORE),
    ("evidence", "attach"): (
        (f"{NO}/p.pdf", "--control", "A1.3", "--effective-date", "2026-01-01", *STORE),
        *NOT_A_DIRECTORY,
    ),
    ("evidence", "keygen"): ((f"{NO}/key.pem",), *NOT_A_DIRECTORY),
    ("evidence", "export"): ((*PERIOD, "-o", f"{NO}/p.zip", *STORE), *NO_STORE),
    ("evidence", "verify-package"): ((f"{NO}/p.zip",), BAD_INPUT, f"{NO}/p.zip"),
    ("evidence", "retention"): (("--before", "2026-01-01", "--reason", "r", *STORE), *NO_STORE),
    ("evidence", "oscal"): ((*PERIOD, "-o", f"{NO}/r.json", *STORE), *NO_STORE),
    ("evidence", "populations"): ((*PERIOD, *CONFIG, *STORE), *NO_CONFIG),
    ("evidence", "sample"): (("1", "--frequency", "daily", *STORE), *NO_STORE),
    ("access", "inventory"): (CONFIG, *NO_CONFIG),
    ("period", "report"): ((*PERIOD, *STORE), *NO_STORE),
    ("review", "start"): (("--reviewer", "a@b.example", *CONFIG, *STORE), *NOT_A_DIRECTORY),
    ("review", "export"): (("RC-1", "-o", f"{NO}/r.csv", *STORE), *NO_STORE),
    ("review", "import"): (
        (f"{NO}/r.csv", "--campaign", "RC-1", "--by", "me", *STORE),
        *NO_STORE,
    ),
    ("review", "close"): (("RC-1", "--by", "a@b.example", *STORE), *NO_STORE),
    ("review", "list"): (STORE, *NO_STORE),
    ("review", "status"): (("RC-1", *STORE), *NO_STORE),
    ("review", "report"): (("RC-1", "-o", f"{NO}/r.html", *STORE), *NO_STORE),
    ("advisories", "show"): (("--format", "xml"), USAGE, "'xml' is not one of"),
    ("advisories", "update"): (("--from", f"{NO}/a.yaml"), BAD_INPUT, f"{NO}/a.yaml"),
    ("fleet", "scan"): (("--sites", f"{NO}/sites.yaml"), BAD_INPUT, f"{NO}/sites.yaml"),
    ("fleet", "report"): (("--sites", f"{NO}/sites.yaml"), BAD_INPUT, f"{NO}/sites.yaml"),
    ("fleet", "export"): (
        ("--sites", f"{NO}/sites.yaml", "--client", "c", *PERIOD, "-o", f"{NO}/c.zip"),
        BAD_INPUT,
        f"{NO}/sites.yaml",
    ),
    ("fleet", "attach"): (
        (
            f"{NO}/d.pdf",
            "--sites",
            f"{NO}/sites.yaml",
            "--host",
            "h",
            "--control",
            "A1.2",
            "--effective-date",
            "2026-01-01",
            "--by",
            "me",
        ),
        BAD_INPUT,
        f"{NO}/",
    ),
    ("frameworks", "list"): (("--format", "xml"), USAGE, "'xml' is not one of"),
    ("frameworks", "show"): (("zzz",), USAGE, "zzz"),
    ("frameworks", "validate"): ((f"{NO}/f.yaml",), BAD_INPUT, f"{NO}/f.yaml"),
    ("trust", "export"): (("--contact", "a@b.example", "-o", f"{NO}/t.html", *STORE), *NO_STORE),
    ("logs",): ((), USAGE, "Give exactly one of --db URL or --config"),
    ("logs", "review"): (
        ("--sign-off", "Reviewed.", "--reviewer", "a@b.example", *PERIOD, *CONFIG, *STORE),
        *NO_CONFIG,
    ),
    ("readiness",): (STORE, *NO_STORE),
    ("readiness", "report"): (("-o", f"{NO}/r.html", *STORE), *NO_STORE),
    ("readiness", "answers"): (("-o", f"{NO}/a.csv", *STORE), *NO_STORE),
    ("readiness", "template"): (("zzz", *CONFIG), USAGE, "zzz"),
    ("readiness", "scope"): (("--answers", f"{NO}/a.yaml", *STORE), *NOT_A_DIRECTORY),
    ("readiness", "owner"): (("CC1.1", "--owner", "client", *STORE), *NOT_A_DIRECTORY),
    ("exception", "add"): (
        (
            "--check",
            "authentication.mfa_enabled",
            "--reason",
            "r",
            "--owner",
            "o",
            "--approver",
            "a",
            "--expires",
            "2027-01-31",
            *STORE,
        ),
        *NOT_A_DIRECTORY,
    ),
    ("exception", "list"): (STORE, *NO_STORE),
    ("exception", "revoke"): (("EXC-1", "--reason", "r", *STORE), *NOT_A_DIRECTORY),
    ("remediation", "list"): (STORE, *NO_STORE),
    ("remediation", "assign"): (("REM-1", "--owner", "o", *STORE), *NOT_A_DIRECTORY),
    ("remediation", "export"): (STORE, *NO_STORE),
    ("users", "add"): (("u", "--role", "admin", "--password-stdin", *STORE), USAGE, "no password"),
    ("users", "list"): (STORE, *NO_STORE),
    ("users", "disable"): (("u", *STORE), *NO_STORE),
    ("users", "enable"): (("u", *STORE), *NO_STORE),
    ("users", "reset"): (("u", "--password-stdin", *STORE), USAGE, "read no password"),
}


def _commands() -> set[tuple[str, ...]]:
    """Every command a user can run: each leaf, and each group that runs on its own."""
    import typer.main

    found: set[tuple[str, ...]] = set()

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if not subcommands or getattr(command, "invoke_without_command", False):
            found.add(path)
        for name, sub in (subcommands or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    found.discard(())
    return found


def test_every_command_has_a_representative_failure() -> None:
    assert set(FAILURES) == _commands()


def _run(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """``moodle-soc ARGV`` through the real entry point, in-process."""
    monkeypatch.setattr(sys, "argv", ["moodle-soc", *argv])
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as ended:
        main()
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


@pytest.mark.parametrize("command", sorted(FAILURES), ids=" ".join)
def test_a_failure_is_one_line_with_a_code_from_the_table(
    command: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOODLE_SOC_STORE", raising=False)
    args, code, part = FAILURES[command]
    returned, out, err = _run((*command, *args), capsys, monkeypatch)
    assert (returned, err) == (code, err) and returned in set(ExitCode), err
    assert err.startswith("moodle-soc: error: ") and len(err.splitlines()) == 1, err
    assert part in err and "Traceback" not in err and out == ""
    assert not Path(NO).exists()


def test_terminal_escapes_in_an_error_are_shown_not_obeyed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    returned, _, err = _run(("evidence", "list", "--store", f"{NO}/\x1b[2Jx.sqlite"), capsys,
                            monkeypatch)  # fmt: skip
    assert returned == ExitCode.BAD_INPUT
    assert "\x1b" not in err and "x.sqlite" in err


def _readme_exit_codes() -> dict[int, str]:
    section = README.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {
        int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)
    }


def test_the_readme_table_of_exit_codes_is_the_enum() -> None:
    assert sorted(_readme_exit_codes()) == sorted(int(code) for code in ExitCode)


def _with_format() -> list[tuple[str, ...]]:
    """Every command that has a ``--format`` option."""
    import typer.main

    root = typer.main.get_command(app)
    found = []
    for path in sorted(_commands()):
        command: Any = root
        for name in path:
            command = command.commands[name]
        if any("--format" in getattr(param, "opts", ()) for param in command.params):
            found.append(path)
    return found


def _formats(error: str) -> list[str]:
    """The formats an error line lists: "is not one of 'a', 'b'" or "is not one of a, b"."""
    listed = re.search(r"is not one of (.+?)(?:; |\.$)", error.strip())
    assert listed is not None, error
    return [name.strip("'") for name in listed[1].split(", ")]


@pytest.mark.parametrize("command", _with_format(), ids=" ".join)
def test_every_format_is_checked_first_with_a_suggestion(
    command: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    given = FAILURES[command][0]  # the command's other arguments would fail later
    args = tuple(a for i, a in enumerate(given) if "--format" not in given[max(i - 1, 0) : i + 1])
    returned, out, err = _run((*command, "--format", "zzz", *args), capsys, monkeypatch)
    assert returned == ExitCode.USAGE and out == "", err
    assert err.startswith("moodle-soc: error: ") and len(err.splitlines()) == 1, err
    assert "'zzz' is not one of " in err and "did you mean" not in err
    formats = _formats(err)
    assert len(formats) >= 2 and "zzz" not in formats
    near_miss = formats[-1][:-1]
    returned, _, err = _run((*command, "--format", near_miss, *args), capsys, monkeypatch)
    assert returned == ExitCode.USAGE and f"; did you mean '{formats[-1]}'?" in err, err
    assert list(tmp_path.iterdir()) == []  # nothing was written before the check


@pytest.mark.parametrize(
    "args",
    [("checks", "list", "--format", "json"), ("checks", "list"), ("frameworks", "list")],
    ids=["echoed", "rich-table", "rich-framework-table"],
)
def test_a_reader_that_stops_early_ends_the_command_quietly(args: tuple[str, ...]) -> None:
    """``moodle-soc … | head``: the reader closes the pipe before the command writes. The
    command prints nothing (no "Broken pipe" error, no traceback) and exits 141, the shell's
    code for SIGPIPE, whether the output is echoed text or a Rich table (Rich would exit 1,
    which reads as "findings")."""
    process = subprocess.Popen(
        [sys.executable, "-m", "moodle_soc", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader went away before the first line
    with process.stderr:
        errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == ExitCode.BROKEN_PIPE == 141
    assert errors == ""
