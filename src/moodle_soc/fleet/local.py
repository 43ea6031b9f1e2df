"""Scan sites in N local worker processes, each site in its own process with a wall-clock limit.

A pool that reuses processes cannot stop one hung scan without stopping the pool, so each site
runs in a fresh process forked from a forkserver that has already imported the scanner (cheap,
and safe while this process runs a progress thread). At most ``workers`` run at once; a site
still running at its ``timeout`` is killed (SIGKILL) and reported as timed out, a process that
dies is reported as crashed, and the other sites go on either way. A killed scan leaves
nothing half-written: the store's append is one transaction.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from typing import Any

from moodle_soc.fleet.inventory import FleetSite
from moodle_soc.fleet.outcome import SiteOutcome, error_outcome

#: Told when a site starts (outcome None) and when it ends (its outcome).
Events = Callable[[FleetSite, SiteOutcome | None], None]
_PRELOAD = ["moodle_soc.fleet.scanning", "moodle_soc.fleet.warm"]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _child(send: Connection, site_data: dict[str, Any], store: str | None, as_of: str) -> None:
    from moodle_soc.fleet.scanning import scan_fleet_site

    site = FleetSite.model_validate(site_data)
    outcome = scan_fleet_site(site, store=store, as_of=datetime.fromisoformat(as_of))
    send.send(outcome.model_dump(mode="json"))
    send.close()


@dataclass
class _Running:
    site: FleetSite
    process: multiprocessing.process.BaseProcess
    receive: Connection
    started: float
    outcome: SiteOutcome | None = None


def run_local(
    sites: Sequence[FleetSite],
    *,
    store: str | None,
    as_of: datetime,
    workers: int | None = None,
    events: Events | None = None,
) -> list[SiteOutcome]:
    """Scan every site (``workers`` at a time); outcomes in the order of ``sites``."""
    limit = max(1, workers or default_workers())
    context = _context()
    waiting = deque(sites)
    running: list[_Running] = []
    outcomes: dict[str, SiteOutcome] = {}

    def finish(job: _Running, outcome: SiteOutcome) -> None:
        running.remove(job)
        job.receive.close()
        outcomes[job.site.name] = outcome
        if events is not None:
            events(job.site, outcome)

    try:
        while waiting or running:
            while waiting and len(running) < limit:
                running.append(_start(context, waiting.popleft(), store, as_of))
                if events is not None:
                    events(running[-1].site, None)
            now = time.monotonic()
            deadline = min(job.started + job.site.timeout for job in running)
            ready = wait(
                [job.receive for job in running] + [job.process.sentinel for job in running],
                timeout=max(0.0, deadline - now),
            )
            for job in list(running):
                if job.receive in ready and job.outcome is None:
                    # EOF: it died before answering; its sentinel says how.
                    with contextlib.suppress(EOFError, OSError):
                        job.outcome = SiteOutcome.model_validate(job.receive.recv())
                if job.outcome is not None or job.process.sentinel in ready:
                    job.process.join(timeout=5)
                    finish(job, job.outcome or _died(job, as_of))
                elif time.monotonic() >= job.started + job.site.timeout:
                    job.process.kill()
                    job.process.join(timeout=5)
                    finish(job, _timed_out(job, as_of))
    finally:
        for job in running:  # interrupted: leave no scan behind
            job.process.kill()
            job.process.join(timeout=5)
    return [outcomes[site.name] for site in sites]


def _start(
    context: multiprocessing.context.BaseContext, site: FleetSite, store: str | None, at: datetime
) -> _Running:
    receive, send = context.Pipe(duplex=False)
    process = context.Process(  # type: ignore[attr-defined]
        target=_child,
        args=(send, site.model_dump(mode="json"), store, at.isoformat()),
        name=f"moodle-soc-fleet:{site.name}",
        daemon=True,
    )
    process.start()
    send.close()  # the child holds the only sending end: EOF when it dies
    return _Running(site=site, process=process, receive=receive, started=time.monotonic())


def _died(job: _Running, as_of: datetime) -> SiteOutcome:
    code = job.process.exitcode
    return error_outcome(
        job.site.name,
        job.site.client,
        as_of,
        "crash",
        f"the worker process died (exit code {code}) before finishing the scan",
        duration_s=time.monotonic() - job.started,
    )


def _timed_out(job: _Running, as_of: datetime) -> SiteOutcome:
    return error_outcome(
        job.site.name,
        job.site.client,
        as_of,
        "timeout",
        f"timed out after {job.site.timeout:g} s (wall clock); the worker process was killed",
        duration_s=time.monotonic() - job.started,
    )
