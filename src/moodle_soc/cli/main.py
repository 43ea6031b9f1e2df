"""The ``moodle-soc`` application: its command groups, registered without importing the heavy
layers, so that ``moodle-soc --help`` starts fast."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
import typer.core

from moodle_soc import __version__
from moodle_soc.cli.commands import LazyGroup

# Plain Click help and errors: they wrap to the terminal (readable at 80 columns, no boxes
# that cut option names and help), and importing Rich waits until a command prints a table.
typer.core.HAS_RICH = False

app = typer.Typer(
    name="moodle-soc",
    help="Read-only SOC 2 / SOC 1 readiness and evidence for Moodle sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,  # each command is imported and built only when it runs
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


def _click_error(name: str) -> type[Exception]:
    """Click's exception class ``name`` (Typer vendors Click; ``BadParameter`` is public)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


def main() -> None:
    """Run the CLI: every error, a mistyped command or option included, is one line on
    stderr with its documented exit code (see README, "Exit codes")."""
    usage_error, click_error = _click_error("UsageError"), _click_error("ClickException")
    try:
        code = app(standalone_mode=False)
    except usage_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group without a command: its help
            typer.echo(_message(exc), err=True)
            sys.exit(2)
        sys.exit(_usage_error(exc))
    except click_error as exc:
        typer.echo(f"moodle-soc: error: {_one_line(_message(exc))}", err=True)
        sys.exit(int(getattr(exc, "exit_code", 1)))
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("moodle-soc: interrupted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _message(exc: Exception) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message() if callable(format_message) else exc)


def _one_line(text: str) -> str:
    from moodle_soc.safety import terminal_safe

    return terminal_safe(" ".join(text.split()))


def _usage_error(exc: Exception) -> int:
    """``moodle-soc: error: No such option: --sotre (Possible options: --store); see
    'moodle-soc scan --help'.``: Click's own did-you-mean, on one line, exit code 2."""
    message = _one_line(_message(exc)).replace("Value error, ", "").rstrip(".")
    context = getattr(exc, "ctx", None)
    where = getattr(context, "command_path", None) or "moodle-soc"
    joined = f"{message} See" if message.endswith("?") else f"{message}; see"
    typer.echo(f"moodle-soc: error: {joined} '{where} --help'.", err=True)
    return int(getattr(exc, "exit_code", 2))
