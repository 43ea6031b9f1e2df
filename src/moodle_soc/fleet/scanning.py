"""Scan one fleet site through the core API and say how it went, whatever happens.

``scan_fleet_site`` is what a local worker process and a Celery task both run: it opens the
store, calls ``moodle_soc.api.scan_site`` with the site's policy, checks and statement
timeout, stores the run tagged with its fleet site (once per request), and turns every
failure into a ``SiteOutcome`` with a one-sentence reason, so one bad site never stops the
others.
"""

from __future__ import annotations

import os
import resource
import socket
import time
from datetime import datetime

from moodle_soc.errors import (
    BadInputError,
    CannotConnectError,
    ConfigPhpError,
    MoodleSocError,
    NotMoodleError,
    UnsupportedVersionError,
    UsageError,
)
from moodle_soc.fleet.inventory import FleetSite
from moodle_soc.fleet.outcome import ErrorKind, SiteOutcome, error_outcome
from moodle_soc.fleet.runs import StoredFleetRun, idempotency_key, store_fleet_run
from moodle_soc.results import Status
from moodle_soc.site.db import QueryFailedError

_KINDS: tuple[tuple[type[MoodleSocError], ErrorKind], ...] = (
    (CannotConnectError, "connect"),
    (QueryFailedError, "query"),  # e.g. the statement timeout, before the checks could run
    (NotMoodleError, "not_moodle"),
    (UnsupportedVersionError, "unsupported"),
    (ConfigPhpError, "config"),
    (BadInputError, "input"),
    (UsageError, "usage"),
)


def error_kind(error: MoodleSocError) -> ErrorKind:
    for cls, kind in _KINDS:
        if isinstance(error, cls):
            return kind
    return "crash"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def peak_rss_kb() -> int:
    """This process's peak resident memory so far, in KiB (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def scan_fleet_site(
    site: FleetSite,
    *,
    store: str | None,
    as_of: datetime,
    reraise: tuple[type[BaseException], ...] = (),
) -> SiteOutcome:
    """Scan ``site`` as of ``as_of`` into the store at ``store``; never raises for the site's
    own problems (exceptions in ``reraise``, such as a Celery time limit, pass through)."""
    from moodle_soc.api import open_evidence_store, scan_site

    began = time.monotonic()
    key = idempotency_key(site, as_of)
    kept = StoredFleetRun()

    def failed(kind: ErrorKind, reason: str) -> SiteOutcome:
        return error_outcome(
            site.name,
            site.client,
            as_of,
            kind,
            reason,
            duration_s=time.monotonic() - began,
            worker=worker_name(),
        )

    try:
        password = site.password()
        with open_evidence_store(store, create=True) as evidence:
            run = scan_site(
                config=None if site.config is None else _path(site.config),
                db=site.db,
                prefix=site.prefix,
                wwwroot=site.wwwroot,
                password=password,
                as_of=as_of,
                checks=site.checks,
                policy=site.resolved_policy(),
                store=evidence,
                statement_timeout=site.statement_timeout,
                store_with=lambda s, r: store_fleet_run(s, r, site=site, key=key, result=kept),
            )
    except reraise:
        raise
    except MoodleSocError as error:
        return failed(error_kind(error), " ".join(error.message.split()))
    except Exception as exc:  # one site's bug must not stop the fleet; say what it was
        return failed("crash", f"internal error: {type(exc).__name__}: {str(exc)[:200]}")
    failed_findings = run.summary.by_status.get(Status.FAIL.value, 0)
    errors = run.summary.by_status.get(Status.ERROR.value, 0)
    worst = run.worst_failed_severity()
    if failed_findings:
        reason = f"{failed_findings} failed findings (worst {worst.value if worst else '?'})"
    else:
        reason = "no failed findings"
    if errors:
        reason += f", {errors} checks could not decide"
    record = kept.record
    return SiteOutcome(
        site=site.name,
        client=site.client,
        status="findings" if failed_findings else "ok",
        reason=reason,
        audit_time=run.audit_time,
        site_key=None if record is None else record.site_key,
        record_seq=None if record is None else record.seq,
        record_hash=None if record is None else record.record_hash,
        stored=kept.appended,
        failed=failed_findings,
        errors=errors,
        worst=worst.value if worst else None,
        moodle_label=run.site.moodle_label,
        duration_s=time.monotonic() - began,
        peak_rss_kb=peak_rss_kb(),
        worker=worker_name(),
    )


def _path(text: str) -> os.PathLike[str]:
    from pathlib import Path

    return Path(text)
