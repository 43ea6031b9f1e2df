"""What every command shares: one error path, the audit-time and date parsers, stderr, writing
an output file, and opening the site and the evidence store from the shared options."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import typer.core

from moodle_soc.errors import BadInputError, ExitCode, MoodleSocError, UsageError
from moodle_soc.safety import terminal_safe

if TYPE_CHECKING:
    from rich.console import Console
    from typer._click.core import Context as ClickContext  # Typer vendors Click

    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.site.moodle import MoodleSite


def fail(error: MoodleSocError, details: Sequence[str] = ()) -> NoReturn:
    """The one way a command fails: ``moodle-soc: error: …`` on one line of stderr (escaped
    for the terminal), then any ``details`` indented below it, and exit with the error's code
    from the one table, ``ExitCode``. Errors a command does not catch itself come here too,
    from the application's root (``OnePathGroup``), and so do Click's usage errors
    (``cli.main``)."""
    exit_with(error.message, error.exit_code, details)


def exit_with(message: str, code: ExitCode, details: Sequence[str] = ()) -> NoReturn:
    typer.echo(f"moodle-soc: error: {one_line(message)}", err=True)
    for detail in details:
        typer.echo(f"  {one_line(detail)}", err=True)
    raise typer.Exit(int(code))


def one_line(text: str) -> str:
    """``text`` as one line a terminal shows as it is (no escapes, no control characters)."""
    return terminal_safe(" ".join(text.split()))


def file_error(error: OSError) -> BadInputError:
    """A file a command could not read or write, named, with the system's reason."""
    where = f"{error.filename}: " if error.filename else ""
    return BadInputError(f"{where}{error.strerror or error}.")


class OnePathGroup(typer.core.TyperGroup):
    """The application's root: an error no command caught (a ``MoodleSocError``, or a file
    that could not be read or written) still ends through ``fail``, never as a traceback."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except MoodleSocError as error:
            fail(error)
        except BrokenPipeError:
            reader_went_away()
        except SystemExit as done:
            # Rich handles a broken pipe itself: it points stdout at /dev/null and exits 1,
            # which would read as "findings"; give it the same code as every other command.
            if _raised_by_rich_broken_pipe(done):
                raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
            raise
        except OSError as error:
            fail(file_error(error))


def reader_went_away() -> NoReturn:
    """The program reading our output stopped early (``moodle-soc … | head``): not an error
    to report, so end quietly with the shell's code for SIGPIPE. Standard output is pointed at
    /dev/null first, or Python's final flush would raise again at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise typer.Exit(int(ExitCode.BROKEN_PIPE))


def _raised_by_rich_broken_pipe(done: SystemExit) -> bool:
    """Whether ``done`` is Rich's ``Console.on_broken_pipe`` exit (its innermost frame)."""
    frame = done.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and frame.tb_frame.f_code.co_name == "on_broken_pipe"


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def parse_as_of(value: str | None) -> datetime | None:
    """ISO 8601 audit time; a time without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"--as-of {value!r} is not an ISO 8601 time such as 2026-11-29T12:00:00Z."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date such as 2026-01-31.") from None


def check_format(value: str, allowed: tuple[str, ...], option: str = "--format") -> str:
    """``--format`` (or ``option``) must name one of ``allowed``: checked first thing, before
    anything is opened, with a suggestion for a near miss."""
    if value not in allowed:
        problem = f"{option} {value!r} is not one of {', '.join(allowed)}"
        suggestion = did_you_mean(value, allowed)
        raise UsageError(f"{problem}; {suggestion}" if suggestion else f"{problem}.")
    return value


def did_you_mean(wanted: str, known: Sequence[str]) -> str:
    """``did you mean 'json'?`` for a near miss of one of ``known`` (else "")."""
    import difflib

    close = difflib.get_close_matches(wanted.lower(), list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def period_days(
    period: str | None, from_: str | None, to: str | None, *, required: bool = True
) -> tuple[date | None, date | None]:
    """``--period FROM..TO``, or the older hidden ``--from``/``--to`` (either may be left open
    when the period is not ``required``)."""
    from moodle_soc.api.evidence import parse_period

    if period is not None:
        if from_ is not None or to is not None:
            raise UsageError("Give the period once: --period FROM..TO (not with --from/--to).")
        return parse_period(period)
    if required and (from_ is None or to is None):
        raise UsageError("Give the period: --period FROM..TO, such as 2026-11-01..2026-11-30.")
    start = parse_day(from_, "--from") if from_ is not None else None
    end = parse_day(to, "--to") if to is not None else None
    if start is not None and end is not None and end < start:
        raise UsageError(f"The period {start}..{end} ends before it starts.")
    return start, end


def required_period(period: str | None, from_: str | None, to: str | None) -> tuple[date, date]:
    start, end = period_days(period, from_, to)
    assert start is not None and end is not None
    return start, end


def max_recording_delay(settings: Path | None) -> int:
    """The policy's tolerance between a record's audit time and its recording."""
    from moodle_soc.settings_file import find_settings_file

    return find_settings_file(settings).policy.max_recording_delay_hours


def write_text(output: Path, text: str) -> None:
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None


def open_site(
    db: str | None,
    config: Path | None,
    prefix: str | None,
    ask_password: bool,
    as_of: datetime | None,
    wwwroot: str | None,
) -> MoodleSite:
    """The site the shared connection options name (prompting for the password if asked)."""
    from moodle_soc.api.sites import open_moodle_site

    if (db is None) == (config is None):
        raise UsageError("Give exactly one of --db URL or --config /path/to/config.php.")
    password = typer.prompt("Database password", hide_input=True) if ask_password else None
    return open_moodle_site(
        config=config, db=db, prefix=prefix, wwwroot=wwwroot, password=password, as_of=as_of
    )


def open_store(
    location: str | None,
    sign_key: Path | None = None,
    *,
    create: bool = False,
    settings: Path | None = None,
    configured: str | None = None,
) -> EvidenceStore:
    """The store named by --store, else $MOODLE_SOC_STORE, else moodle-soc.yaml's ``store:``
    (``configured``, or the settings file's), else the user data directory's. Only commands
    that write evidence pass ``create``."""
    from moodle_soc.api.stores import open_evidence_store, store_location
    from moodle_soc.settings_file import find_settings_file

    if location is None:
        location = store_location(configured or find_settings_file(settings).store)
    return open_evidence_store(location, create=create, sign_key=sign_key)
