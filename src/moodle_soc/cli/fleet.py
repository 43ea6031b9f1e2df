"""``moodle-soc fleet scan|report|export|attach``: many sites from one sites.yaml.

Parsing and rendering only: the work is in ``moodle_soc.fleet`` (over the core API). Celery
is imported only by ``--celery``. Exit codes: 0 every site scanned; 1 every site scanned and
a failed finding at or above ``--fail-on``; 3 at least one site could not be scanned (it
wins over 1); 2 usage; 7 a bad sites.yaml or store.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.common import fail, parse_as_of, stderr, write_text
from moodle_soc.cli.options import AsOfOption, StoreOption
from moodle_soc.errors import ExitCode, MoodleSocError, UsageError
from moodle_soc.safety import terminal_markup, terminal_safe

if TYPE_CHECKING:
    from moodle_soc.fleet.inventory import Fleet, FleetSite
    from moodle_soc.fleet.outcome import SiteOutcome

fleet_app = typer.Typer(help="Scan and report on many sites from one sites.yaml.")

BROKER_ENV = "MOODLE_SOC_BROKER"
SitesOption = Annotated[
    Path, typer.Option("--sites", help="The fleet's sites.yaml (see docs/fleet.md).")
]
OnlyOption = Annotated[
    list[str] | None,
    typer.Option("--only", help="Only this site, client, host or tag (repeatable)."),
]
BrokerOption = Annotated[
    str | None,
    typer.Option(
        "--broker",
        help=f"Celery broker: redis://host:6379/0 or amqp://user@host// (default ${BROKER_ENV}).",
    ),
]


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"
    none = "none"


class SummaryFormat(StrEnum):
    text = "text"
    json = "json"


def load(sites: Path) -> Fleet:
    from moodle_soc.fleet.inventory import load_fleet

    return load_fleet(sites)


def resolve_store(explicit: str | None, fleet: Fleet) -> str:
    """--store, else $MOODLE_SOC_STORE, else sites.yaml's ``store:``, else the default."""
    from moodle_soc.api import store_location

    return explicit or store_location(fleet.store)


def broker_url(explicit: str | None) -> str:
    url = explicit or os.environ.get(BROKER_ENV)
    if not url:
        raise UsageError(f"--celery needs --broker URL (or ${BROKER_ENV}).")
    return url


Runner = Callable[["list[FleetSite]", datetime], "list[SiteOutcome]"]


def make_runner(
    *,
    store: str,
    workers: int | None,
    celery: bool,
    broker: str | None,
    retries: int,
    retry_delay: float,
    wait_timeout: float,
    quiet: bool,
) -> Runner:
    """Scans sites locally (N processes) or on Celery, with a progress display on stderr."""

    def run(sites: list[FleetSite], as_of: datetime) -> list[SiteOutcome]:
        with _progress(len(sites), quiet) as events:
            if not celery:
                from moodle_soc.fleet.local import run_local

                return run_local(sites, store=store, as_of=as_of, workers=workers, events=events)
            from moodle_soc.fleet.celery_app import collect, enqueue, make_app

            url = broker_url(broker)
            app = make_app(url)
            try:
                results = enqueue(app, sites, as_of, retries=retries, retry_delay=retry_delay)
            except Exception as exc:  # kombu's OperationalError and friends: broker down
                raise _broker_error(exc, url) from None
            return collect(results, sites, as_of, timeout=wait_timeout, events=events)

    return run


def _broker_error(exc: Exception, broker: str) -> MoodleSocError:
    from urllib.parse import urlsplit

    from moodle_soc.errors import CannotConnectError
    from moodle_soc.safety import display_url, scrub_secret

    text = scrub_secret(" ".join(str(exc).split())[:200], urlsplit(broker).password)
    return CannotConnectError(
        f"Cannot send tasks to the Celery broker {display_url(broker)}: {text.rstrip('.')}."
    )


@contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[FleetSite, SiteOutcome | None], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]Scanning sites[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=stderr(),
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("", total=total)
        running: set[str] = set()

        def event(site: FleetSite, outcome: SiteOutcome | None) -> None:
            if outcome is None:
                running.add(site.name)
            else:
                running.discard(site.name)
                bar.advance(task)
            shown = ", ".join(sorted(running)[:4]) + (" …" if len(running) > 4 else "")
            bar.update(task, description=terminal_markup(shown))

        yield event


def print_summary(outcomes: list[SiteOutcome], fmt: SummaryFormat) -> None:
    if fmt is SummaryFormat.json:
        data = [outcome.model_dump(mode="json") for outcome in outcomes]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    width = max((len(o.site) for o in outcomes), default=0)
    for outcome in outcomes:
        line = f"{outcome.site:<{width}}  {outcome.status:<8}  {outcome.detail()}"
        typer.echo(terminal_safe(line))
    errors = sum(1 for o in outcomes if not o.scanned)
    stderr().print(
        f"{len(outcomes)} sites: {len(outcomes) - errors} scanned, {errors} could not be scanned."
    )


def exit_code(outcomes: list[SiteOutcome], fail_on: FailOn) -> int:
    from moodle_soc.results import Severity

    if any(not o.scanned for o in outcomes):
        return int(ExitCode.CANNOT_CONNECT)
    if fail_on is not FailOn.none:
        threshold = Severity(fail_on.value).rank
        if any(o.worst and Severity(o.worst).rank >= threshold for o in outcomes):
            return int(ExitCode.FINDINGS)
    return int(ExitCode.OK)


@fleet_app.command("scan")
def scan_command(
    sites: SitesOption,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Local worker processes (default CPUs).")
    ] = None,
    only: OnlyOption = None,
    store: StoreOption = None,
    as_of: AsOfOption = None,
    celery: Annotated[
        bool, typer.Option("--celery", help="Enqueue one Celery task per site instead.")
    ] = False,
    broker: BrokerOption = None,
    retries: Annotated[
        int, typer.Option(min=0, help="Celery: retries of a site that cannot be reached.")
    ] = 3,
    retry_delay: Annotated[
        float, typer.Option(min=0, help="Celery: first retry after this many seconds (doubling).")
    ] = 30.0,
    wait: Annotated[
        bool, typer.Option(help="Celery: wait for the outcomes (--no-wait: enqueue and exit).")
    ] = True,
    wait_timeout: Annotated[
        float, typer.Option(min=1, help="Celery: give up waiting after this many seconds.")
    ] = 6 * 3600.0,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a failed finding is at least this severe.")
    ] = FailOn.none,
    fmt: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="Summary format.")
    ] = SummaryFormat.text,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Scan every site of sites.yaml (local worker processes, or Celery workers)."""
    try:
        fleet = load(sites)
        chosen = fleet.select(only or ())
        moment = parse_as_of(as_of) or datetime.now(UTC)
        location = resolve_store(store, fleet)
        if not celery:
            from moodle_soc.api import open_evidence_store

            with open_evidence_store(location, create=True):
                pass  # created once here, not by N workers at once
        elif not wait:
            from moodle_soc.fleet.celery_app import enqueue, make_app

            url = broker_url(broker)
            try:
                results = enqueue(make_app(url), chosen, moment, retries=retries)
            except Exception as exc:  # the broker is down or refuses us
                raise _broker_error(exc, url) from None
            for site, result in zip(chosen, results, strict=True):
                typer.echo(f"{site.name}  queued  task {result.id}")
            raise typer.Exit(0)
        runner = make_runner(
            store=location,
            workers=workers,
            celery=celery,
            broker=broker,
            retries=retries,
            retry_delay=retry_delay,
            wait_timeout=wait_timeout,
            quiet=quiet,
        )
        outcomes = runner(chosen, moment)
    except MoodleSocError as error:
        fail(error)
    print_summary(outcomes, fmt)
    raise typer.Exit(exit_code(outcomes, fail_on))


class ReportFormat(StrEnum):
    html = "html"
    json = "json"


@fleet_app.command("report")
def report_command(
    sites: SitesOption,
    store: StoreOption = None,
    client: Annotated[
        str | None, typer.Option(help="Only this client's sites (and baseline).")
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.html,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default stdout.")] = None,
) -> None:
    """Sites × control areas, branch support, drift and last scans (HTML or JSON)."""
    from moodle_soc.api import open_evidence_store
    from moodle_soc.fleet.report import build_report, render_html, render_json

    try:
        fleet = load(sites)
        if client is not None and client not in {s.client for s in fleet.sites}:
            raise UsageError(f"{sites} has no site of client {client!r}.")
        with open_evidence_store(resolve_store(store, fleet)) as evidence:
            report = build_report(evidence, fleet, client=client)
        document = render_html(report) if fmt is ReportFormat.html else render_json(report)
        if output is None:
            sys.stdout.write(document)
            return
        write_text(output, document)
    except MoodleSocError as error:
        fail(error)
    stderr().print(f"Wrote the fleet report to [bold]{terminal_markup(output)}[/].")


@fleet_app.command("export")
def export_command(
    sites: SitesOption,
    client: Annotated[str, typer.Option(help="The client whose evidence to export.")],
    period: Annotated[str, typer.Option(help="FROM..TO, e.g. 2026-01-01..2026-12-31.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The ZIP to write.")],
    store: StoreOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """One client's evidence packages (and their hosts'), never another client's."""
    from moodle_soc.api import open_evidence_store, parse_period
    from moodle_soc.fleet.tenancy import export_client

    try:
        fleet = load(sites)
        start, end = parse_period(period)
        with open_evidence_store(resolve_store(store, fleet)) as evidence:
            done = export_client(
                evidence, fleet, client, start=start, end=end, output=output, replace=force
            )
    except MoodleSocError as error:
        fail(error)
    stderr().print(
        f"Wrote {len(done.sites)} site and {len(done.hosts)} host packages of client"
        f" {terminal_markup(client)} to [bold]{terminal_markup(output)}[/]."
    )


@fleet_app.command("attach")
def attach_command(
    file: Annotated[Path, typer.Argument(help="The evidence file (a policy, a DR test record).")],
    sites: SitesOption,
    host: Annotated[str, typer.Option(help="The hosting platform (sites.yaml host:).")],
    control: Annotated[str, typer.Option(help="Criterion or evidence id, e.g. A1.2.")],
    effective_date: Annotated[str, typer.Option(help="The date it is effective for.")],
    by: Annotated[str, typer.Option(help="Who collected it.")],
    note: Annotated[str, typer.Option(help="A note kept with it.")] = "",
    store: StoreOption = None,
) -> None:
    """Attach hosting evidence once; every site on that host inherits it."""
    from moodle_soc.api import open_evidence_store
    from moodle_soc.cli.common import parse_day
    from moodle_soc.fleet.tenancy import attach_host_evidence

    try:
        fleet = load(sites)
        day = parse_day(effective_date, "--effective-date")
        with open_evidence_store(resolve_store(store, fleet), create=True) as evidence:
            record = attach_host_evidence(
                evidence, fleet, host, file, control=control, effective_date=day,
                collected_by=by, note=note,
            )  # fmt: skip
    except MoodleSocError as error:
        fail(error)
    stderr().print(f"Attached {terminal_markup(file.name)} for host {terminal_markup(host)}"
                   f" as evidence record {record.seq} ({record.short}).")  # fmt: skip
