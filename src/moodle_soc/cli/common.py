"""What every command shares: one error path, the audit-time and date parsers, stderr, writing
an output file, and opening the site and the evidence store from the shared options."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from moodle_soc.errors import BadInputError, MoodleSocError, UsageError
from moodle_soc.safety import terminal_safe

if TYPE_CHECKING:
    from rich.console import Console

    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.site.moodle import MoodleSite


def fail(error: MoodleSocError) -> NoReturn:
    """Print the error as one line on stderr and exit with its documented code."""
    typer.echo(f"moodle-soc: error: {terminal_safe(' '.join(error.message.split()))}", err=True)
    raise typer.Exit(int(error.exit_code))


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


def check_format(value: str, allowed: tuple[str, ...]) -> str:
    """``--format`` must name one of ``allowed``: checked before anything is opened."""
    if value not in allowed:
        raise UsageError(f"--format {value!r} is not one of {', '.join(allowed)}.")
    return value


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
