"""The ``moodle-soc`` application: its command groups, registered without importing the heavy
layers, so that ``moodle-soc --help`` starts fast."""

from __future__ import annotations

import gc
import sys
from typing import Annotated

import typer
import typer.core

from moodle_soc import __version__
from moodle_soc.cli.commands import LazyGroup
from moodle_soc.cli.common import OnePathGroup, exit_with, one_line
from moodle_soc.errors import ExitCode

# Plain Click help and errors: they wrap to the terminal (readable at 80 columns, no boxes
# that cut option names and help), and importing Rich waits until a command prints a table.
typer.core.HAS_RICH = False


class RootGroup(OnePathGroup, LazyGroup):
    """``moodle-soc``: commands built on first use, and one error path for all of them."""


app = typer.Typer(
    name="moodle-soc",
    help="Read-only SOC 2 / SOC 1 readiness and evidence for Moodle sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=RootGroup,  # each command is imported and built only when it runs
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"moodle-soc {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Read-only SOC 2 / SOC 1 readiness and evidence for Moodle sites."""


#: The collector's thresholds for a CLI process: Python's own for the young generations, and a
#: full collection only after 100 collections of the middle one instead of 10. Start-up
#: creates a few hundred thousand objects that live as long as the process (modules, classes,
#: SQLAlchemy's and Pydantic's tables) and almost no cyclic garbage; with the default, a small
#: site's scan ran two full collections over all of them during its imports, about 50 ms of
#: its 0.8 s of CPU (issue 9). Young cyclic garbage is collected as often as before.
COLLECTOR_THRESHOLDS = (700, 10, 100)


def _click_error(name: str) -> type[Exception]:
    """Click's exception class ``name`` (Typer vendors Click; ``BadParameter`` is public)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


def main() -> None:
    """Run the CLI: every error, a mistyped command or option included, is one line on
    stderr with its code from ``ExitCode`` (see README, "Exit codes")."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    usage_error, click_error = _click_error("UsageError"), _click_error("ClickException")
    try:
        code = app(standalone_mode=False)
    except usage_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group without a command: its help
            typer.echo(_message(exc), err=True)
            sys.exit(int(ExitCode.USAGE))
        sys.exit(_usage_error(exc))
    except click_error as exc:
        # Click's other errors: a file argument it could not open, else a usage mistake.
        file_error = type(exc).__name__ == "FileError"
        sys.exit(_exit(_message(exc), ExitCode.BAD_INPUT if file_error else ExitCode.USAGE))
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(_exit("interrupted.", ExitCode.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else 0)


def _exit(message: str, code: ExitCode) -> int:
    """``exit_with``'s line and code, outside a command (Click raised before or after it)."""
    try:
        exit_with(message, code)
    except typer.Exit as done:
        return int(done.exit_code)


def _message(exc: Exception) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message() if callable(format_message) else exc)


def _usage_error(exc: Exception) -> int:
    """``moodle-soc: error: No such option: --sotre (Possible options: --store); see
    'moodle-soc scan --help'.``: Click's own did-you-mean, on one line, exit code 2."""
    message = one_line(_message(exc)).replace("Value error, ", "").rstrip(".")
    message += _suggest_choice(message)
    context = getattr(exc, "ctx", None)
    where = getattr(context, "command_path", None) or "moodle-soc"
    joined = f"{message} See" if message.endswith("?") else f"{message}; see"
    return _exit(f"{joined} '{where} --help'.", ExitCode.USAGE)


def _suggest_choice(message: str) -> str:
    """``; did you mean 'json'?`` after Click's "'jsn' is not one of 'terminal', 'json'"."""
    import re

    from moodle_soc.cli.common import did_you_mean

    found = re.search(r"'([^']*)' is not one of ((?:'[^']*'(?:, )?)+)$", message)
    if found is None:
        return ""
    suggestion = did_you_mean(found[1], re.findall(r"'([^']*)'", found[2]))
    return f"; {suggestion}" if suggestion else ""
