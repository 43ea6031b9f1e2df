"""``moodle-soc worker`` (a Celery worker for fleet scans) and ``moodle-soc monitor`` (scan each
site on its schedule and alert on what changed; ``--once`` for cron, foreground for systemd)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moodle_soc.cli.common import fail, stderr
from moodle_soc.cli.fleet import (
    BrokerOption,
    OnlyOption,
    SitesOption,
    broker_url,
    load,
    make_runner,
    resolve_store,
)
from moodle_soc.cli.options import StoreOption
from moodle_soc.errors import ExitCode, MoodleSocError
from moodle_soc.safety import terminal_safe

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.fleet.monitor import TickReport
    from moodle_soc.models.run import AuditRun


def worker(
    broker: BrokerOption = None,
    store: StoreOption = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Scans at once (default: CPU count).")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    hostname: Annotated[str | None, typer.Option(help="Worker name (default celery@host).")] = None,
    visibility_timeout: Annotated[
        int,
        typer.Option(min=10, help="Redis: seconds before an unacknowledged task is redelivered."),
    ] = 3 * 3600,
) -> None:
    """Run a Celery worker that scans fleet sites into the evidence store (until stopped)."""
    from moodle_soc.api import open_evidence_store, store_location

    try:
        location = store or store_location()
        with open_evidence_store(location, create=True):
            pass  # fail now on a bad store, not in every task
        from moodle_soc.fleet.celery_app import run_worker

        run_worker(
            broker_url(broker),
            store=location,
            concurrency=concurrency,
            loglevel=loglevel,
            hostname=hostname,
            visibility_timeout=visibility_timeout,
        )
    except MoodleSocError as error:
        fail(error)


def monitor(
    sites: SitesOption,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit (for cron).")] = False,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Monitor state file (default: monitor-state.json in the user state dir)."
        ),
    ] = None,
    only: OnlyOption = None,
    store: StoreOption = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Local worker processes.")] = None,
    celery: Annotated[bool, typer.Option("--celery", help="Scan on Celery workers.")] = False,
    broker: BrokerOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = True,
) -> None:
    """Scan each site on its schedule (cron syntax) and alert on new failures, fixes, sites
    that could not be scanned and missed schedules."""
    from moodle_soc.api import open_evidence_store
    from moodle_soc.fleet.monitor import next_wake, tick
    from moodle_soc.fleet.state import default_state_path, locked_state

    try:
        fleet = load(sites)
        chosen = fleet.select(only or ())
        location = resolve_store(store, fleet)
        if celery:
            broker_url(broker)
        runner = make_runner(
            store=location, workers=workers, celery=celery, broker=broker, retries=3,
            retry_delay=30.0, wait_timeout=24 * 3600.0, quiet=quiet,
        )  # fmt: skip
        path = state or default_state_path()
        stop = threading.Event()
        if not once:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        failed = False
        with open_evidence_store(location, create=True) as evidence:
            while True:
                now = datetime.now(UTC)
                with locked_state(path) as current:
                    report = tick(
                        fleet, current, now=now, runner=runner, load_run=_loader(evidence),
                        sites=chosen,
                    )  # fmt: skip
                    _log(report)
                    wake = next_wake(fleet, current, datetime.now(UTC))
                failed = failed or any(not o.scanned for o in report.outcomes)
                if once or stop.wait(timeout=max(1.0, wake)):
                    break
    except MoodleSocError as error:
        fail(error)
    raise typer.Exit(int(ExitCode.CANNOT_CONNECT) if once and failed else 0)


def _loader(store: EvidenceStore) -> Any:
    def load_run(seq: int) -> AuditRun | None:
        from moodle_soc.evidence.store.runs import load_run as load_stored
        from moodle_soc.evidence.store.store import StoreError

        try:
            return load_stored(store, store.get(str(seq)))
        except StoreError:
            return None

    return load_run


def _log(report: TickReport) -> None:
    """One line per scan and per alert on stdout (the journal, under systemd)."""
    for outcome in report.outcomes:
        typer.echo(terminal_safe(f"scan: {outcome.line()}"))
    for alert in report.alerts:
        typer.echo(terminal_safe(f"alert: {alert.kind}: {alert.text}"))
    for problem in report.problems:
        stderr().print(f"[bold red]alert delivery failed:[/] {terminal_safe(problem)}")
