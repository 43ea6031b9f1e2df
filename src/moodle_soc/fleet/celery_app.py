"""Scale out on Celery: one task per site, run by ``moodle-soc worker`` processes anywhere.

The task runs the same ``scan_fleet_site`` as a local worker, into the worker's evidence store
(``--store``; a shared PostgreSQL store when workers run on several machines). Delivery is
at least once, and the rest follows from it:

- ``acks_late`` + ``reject_on_worker_lost``: a task is acknowledged only when it finished, so a
  worker killed mid-scan (OOM killer, reboot) leaves it queued and another worker redoes it;
- the run is stored once per request (the idempotency key, ``fleet.runs``), so a redelivery
  or two workers racing store nothing twice;
- a site that cannot be reached (``CannotConnectError``) is retried with exponential backoff
  (``retries`` times, ``retry_delay`` × 2ⁿ seconds, capped at an hour);
- a soft time limit (the site's ``timeout``) ends a hung scan with a timeout outcome, and a
  hard limit 30 s later kills the process running it.

Celery is imported only here, so the rest of moodle-soc starts without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from moodle_soc.errors import UsageError
from moodle_soc.fleet.inventory import FleetSite
from moodle_soc.fleet.outcome import SiteOutcome, error_outcome

TASK_NAME = "moodle_soc.fleet.scan_site"
QUEUE = "moodle-soc-fleet"
HARD_LIMIT_MARGIN = 30.0
MAX_BACKOFF = 3600.0
#: Redis redelivers a task not acknowledged within this many seconds (its worker died).
DEFAULT_VISIBILITY_TIMEOUT = 3 * 3600


def result_backend_for(broker: str) -> str:
    """Results travel back on the broker: Redis stores them; RabbitMQ replies by RPC."""
    if broker.startswith(("redis://", "rediss://", "redis+socket://")):
        return broker
    if broker.startswith(("amqp://", "amqps://", "pyamqp://")):
        return "rpc://"
    raise UsageError(f"--broker must be a redis:// or amqp:// URL, not {broker.split(':')[0]!r}.")


def backoff(attempt: int, base: float) -> float:
    return float(min(MAX_BACKOFF, base * (2**attempt)))


def make_app(
    broker: str,
    *,
    store: str | None = None,
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
) -> Any:
    """A Celery app for ``broker`` with the fleet task registered (``store``: the worker's)."""
    from celery import Celery
    from celery.exceptions import SoftTimeLimitExceeded

    app = Celery("moodle_soc_fleet", broker=broker, backend=result_backend_for(broker))
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        task_track_started=True,
        result_expires=7 * 86400,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout},
        result_backend_transport_options={"visibility_timeout": visibility_timeout},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        moodle_soc_store=store,
    )

    @app.task(name=TASK_NAME, bind=True, max_retries=None)  # type: ignore[untyped-decorator]
    def scan_site_task(
        task: Any, site: dict[str, Any], as_of: str, retries: int = 3, retry_delay: float = 30.0
    ) -> dict[str, Any]:
        from moodle_soc.fleet.scanning import scan_fleet_site, worker_name

        fleet_site = FleetSite.model_validate(site)
        moment = datetime.fromisoformat(as_of)
        location = task.app.conf.moodle_soc_store
        try:
            outcome = scan_fleet_site(
                fleet_site, store=location, as_of=moment, reraise=(SoftTimeLimitExceeded,)
            )
        except SoftTimeLimitExceeded:
            outcome = error_outcome(
                fleet_site.name,
                fleet_site.client,
                moment,
                "timeout",
                f"timed out after {fleet_site.timeout:g} s on a Celery worker",
                worker=worker_name(),
            )
        attempt = int(task.request.retries or 0)
        if outcome.error_kind == "connect" and attempt < retries:
            raise task.retry(countdown=backoff(attempt, retry_delay))
        return outcome.model_dump(mode="json")

    return app


def enqueue(
    app: Any,
    sites: Sequence[FleetSite],
    as_of: datetime,
    *,
    retries: int = 3,
    retry_delay: float = 30.0,
) -> list[Any]:
    """Send one task per site; returns their AsyncResults in the order of ``sites``."""
    return [
        app.send_task(
            TASK_NAME,
            kwargs={
                "site": site.model_dump(mode="json"),
                "as_of": as_of.isoformat(),
                "retries": retries,
                "retry_delay": retry_delay,
            },
            queue=QUEUE,
            soft_time_limit=site.timeout,
            time_limit=site.timeout + HARD_LIMIT_MARGIN,
        )
        for site in sites
    ]


def collect(
    results: Sequence[Any],
    sites: Sequence[FleetSite],
    as_of: datetime,
    *,
    timeout: float,
    events: Callable[[FleetSite, SiteOutcome | None], None] | None = None,
    poll: float = 0.5,
) -> list[SiteOutcome]:
    """Wait (at most ``timeout`` seconds in all) for every task's outcome."""
    outcomes: dict[int, SiteOutcome] = {}
    deadline = time.monotonic() + timeout
    while len(outcomes) < len(results) and time.monotonic() < deadline:
        for index, result in enumerate(results):
            if index in outcomes or not result.ready():
                continue
            outcomes[index] = _outcome_of(result, sites[index], as_of)
            if events is not None:
                events(sites[index], outcomes[index])
        if len(outcomes) < len(results):
            time.sleep(poll)
    for index, site in enumerate(sites):
        if index not in outcomes:
            outcomes[index] = error_outcome(
                site.name,
                site.client,
                as_of,
                "timeout",
                f"no result from a Celery worker within {timeout:g} s (task {results[index].id}"
                " is still queued or running; its run is stored when it finishes)",
            )
            if events is not None:
                events(site, outcomes[index])
    return [outcomes[index] for index in range(len(sites))]


def _outcome_of(result: Any, site: FleetSite, as_of: datetime) -> SiteOutcome:
    if result.successful():
        return SiteOutcome.model_validate(result.result)
    problem = result.result
    return error_outcome(
        site.name,
        site.client,
        as_of,
        "crash",
        f"the Celery task failed: {type(problem).__name__}: {str(problem)[:200]}",
    )


def run_worker(
    broker: str,
    *,
    store: str | None,
    concurrency: int | None = None,
    loglevel: str = "INFO",
    hostname: str | None = None,
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
) -> None:
    """Run a Celery worker consuming the fleet queue until it is stopped (SIGTERM)."""
    app = make_app(broker, store=store, visibility_timeout=visibility_timeout)
    argv = ["worker", f"--loglevel={loglevel}", "-Q", QUEUE, "--without-gossip", "--without-mingle"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
