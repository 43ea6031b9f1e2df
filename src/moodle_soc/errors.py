"""Errors that end a command with one clear sentence and a documented exit code.

Every error a user can cause (bad input, unreachable database, not a Moodle site) is a
``MoodleSocError`` subclass; the CLI prints its message on one line and exits with its code.
Messages never contain secrets (passwords, tokens): callers build them from safe values only.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The one table of process exit codes, stable and documented (README, "Exit codes"; a
    test keeps the two equal). ``--nagios`` alone uses Nagios's own 0-3 instead."""

    OK = 0
    FINDINGS = 1  # findings at or above --fail-on
    USAGE = 2  # bad command-line usage (Typer uses 2 as well)
    CANNOT_CONNECT = 3  # database unreachable, wrong credentials, timeout, query refused
    NOT_MOODLE = 4  # the database is not a Moodle site, or the table prefix is wrong
    UNSUPPORTED_VERSION = 5  # Moodle older than 3.9
    BAD_CONFIG = 6  # config.php malformed, incomplete, or names an unknown dbtype
    BAD_INPUT = 7  # another input file (moodle-soc.yaml, a roster, a review file) is invalid
    EVIDENCE_INVALID = 8  # evidence verification found a changed, missing or unsigned record
    INTERRUPTED = 130  # stopped with Ctrl-C (128 + SIGINT, as shells report it)
    BROKEN_PIPE = 141  # the reader of the output stopped early (128 + SIGPIPE); nothing printed


class MoodleSocError(Exception):
    """Base class: an error with a user-facing one-line message and an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(MoodleSocError):
    exit_code = ExitCode.USAGE


class CannotConnectError(MoodleSocError):
    exit_code = ExitCode.CANNOT_CONNECT


class NotMoodleError(MoodleSocError):
    exit_code = ExitCode.NOT_MOODLE


class UnsupportedVersionError(MoodleSocError):
    exit_code = ExitCode.UNSUPPORTED_VERSION


class ConfigPhpError(MoodleSocError):
    exit_code = ExitCode.BAD_CONFIG


class BadInputError(MoodleSocError):
    exit_code = ExitCode.BAD_INPUT


#: At most this many problems of a bad file are spelled out; the rest are counted.
MAX_PROBLEMS_SHOWN = 20


class InvalidFileError(BadInputError):
    """A whole input file refused for row-level problems (nothing of it was used)."""

    def __init__(self, what: str, problems: list[str]) -> None:
        shown = "; ".join(problem.rstrip(".") for problem in problems[:MAX_PROBLEMS_SHOWN])
        rest = len(problems) - MAX_PROBLEMS_SHOWN
        more = f"; and {rest} more problem(s)" if rest > 0 else ""
        super().__init__(f"{what} has {len(problems)} problem(s), nothing was used: {shown}{more}.")
        self.problems = problems
