"""``scan_site``: open a site read-only, judge it with every check, keep the run as evidence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from moodle_soc.errors import UsageError

if TYPE_CHECKING:
    from moodle_soc.changes.drift import DriftSide
    from moodle_soc.checks.context import OnRecord
    from moodle_soc.checks.registry import CheckSpec
    from moodle_soc.data.advisories import LoadedAdvisories
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.changes import Approvals
    from moodle_soc.models.records import StoredRecord
    from moodle_soc.models.roster import Roster
    from moodle_soc.models.run import AuditRun
    from moodle_soc.policy import Policy
    from moodle_soc.site.moodle import MoodleSite

#: Called before each check runs: (checks done so far, checks in all, the next check's id).
ScanProgress = Callable[[int, int, str], None]
#: Appends a finished run to the store (default ``evidence.store.runs.store_run``); the fleet
#: passes one that tags the run with its fleet site and stores a redelivered scan only once.
StoreRun = Callable[["EvidenceStore", "AuditRun"], "StoredRecord"]


def select_checks(only: Sequence[str] = ()) -> list[CheckSpec]:
    """Every check, or only those whose id or area is in ``only`` (unknown names refused)."""
    from moodle_soc.checks.registry import all_checks

    specs = list(all_checks())
    if not only:
        return specs
    names = {spec.id for spec in specs} | {spec.area for spec in specs}
    unknown = [item for item in only if item not in names]
    if unknown:
        raise UsageError(f"Unknown check or area {unknown[0]!r}; see 'moodle-soc checks list'.")
    return [spec for spec in specs if spec.id in only or spec.area in only]


def evidence_on_record(
    store: EvidenceStore, site: MoodleSite, policy: Policy | None = None
) -> OnRecord:
    """What the store holds for ``site`` that checks may judge: review campaigns, the observed
    states of the runs of the change-review window (and the one before it), and the latest
    manual evidence per control (vendor reviews), the risk exceptions and the signed-off log
    reviews on record."""
    from moodle_soc.checks.context import OnRecord
    from moodle_soc.evidence.periods.log_reviews import log_reviews_in_period
    from moodle_soc.evidence.store.runs import site_ref_for_site
    from moodle_soc.evidence.store.states import latest_attachments, recorded_states
    from moodle_soc.policy import Policy
    from moodle_soc.programme.exceptions import exceptions_on_record
    from moodle_soc.programme.scope import categories_out_of_scope, scope_in_force
    from moodle_soc.reviews.campaigns import load_campaigns

    key = site_ref_for_site(site).key
    days = (policy or Policy()).change_review_days
    start = site.audit_time - timedelta(days=days + 1)
    return OnRecord(
        store=store.display,
        campaigns=tuple(load_campaigns(store, key)),
        site_states=tuple(recorded_states(store, key, start, site.audit_time)),
        attachments=latest_attachments(store, key, site.audit_time.date()),
        exceptions=tuple(exceptions_on_record(store, key)),
        out_of_scope=categories_out_of_scope(scope_in_force(store, key)),
        log_reviews=tuple(log_reviews_in_period(store, key, date.min, date.max)),
    )


def load_scan_inputs(
    approvals: Path | Approvals | None, advisories: Path | LoadedAdvisories | None
) -> tuple[Approvals | None, LoadedAdvisories]:
    """The approvals file and the advisories in force, validated before anything connects."""
    from moodle_soc.data.advisories import load_advisories

    if isinstance(approvals, Path):
        from moodle_soc.changes.approvals import load_approvals

        approvals = load_approvals(approvals)
    if advisories is None or isinstance(advisories, Path):
        advisories = load_advisories(advisories)
    return approvals, advisories


def judge_site(
    site: MoodleSite,
    *,
    policy: Policy | None = None,
    checks: Sequence[str] = (),
    roster: Path | Roster | None = None,
    store: EvidenceStore | None = None,
    progress: ScanProgress | None = None,
    on_stored: Callable[[StoredRecord], None] | None = None,
    approvals: Path | Approvals | None = None,
    staging: DriftSide | None = None,
    advisories: Path | LoadedAdvisories | None = None,
    store_with: StoreRun | None = None,
    probe: bool = False,
) -> AuditRun:
    """Run the checks against an open site (which the caller closes); store the run when a
    store is given. ``scan_site`` is this plus opening and closing the site.

    ``approvals`` (a change tracker's export) decides ``changes.changes_approved``; ``staging``
    (``api.changes.read_environment``) decides ``changes.staging_matches_production``;
    ``advisories`` defaults to the installed or shipped advisories file; ``probe`` lets the
    ``web.*`` checks make read-only GET/HEAD requests to the site's wwwroot (only there)."""
    from moodle_soc.checks.context import ScanContext
    from moodle_soc.checks.runner import run_scan
    from moodle_soc.policy import Policy

    specs = select_checks(checks)
    if isinstance(roster, Path):
        from moodle_soc.inventory.roster import load_roster

        roster = load_roster(roster)
    policy = policy or Policy()
    loaded_approvals, loaded_advisories = load_scan_inputs(approvals, advisories)
    scan = ScanContext(
        site=site,
        policy=policy,
        roster=roster,
        on_record=evidence_on_record(store, site, policy) if store is not None else None,
        approvals=loaded_approvals,
        staging=staging,
        advisories=loaded_advisories,
        probe=probe,
    )
    done = 0

    def advance(spec: CheckSpec) -> None:
        nonlocal done
        if progress is not None:
            progress(done, len(specs), spec.id)
        done += 1

    run = run_scan(scan, checks=specs, progress=advance)
    if store is not None:
        from moodle_soc.evidence.store.runs import store_run

        record = (store_with or store_run)(store, run)
        if on_stored is not None:
            on_stored(record)
    return run


def scan_site(
    *,
    config: Path | None = None,
    db: str | None = None,
    prefix: str | None = None,
    wwwroot: str | None = None,
    password: str | None = None,
    as_of: datetime | None = None,
    checks: Sequence[str] = (),
    roster: Path | Roster | None = None,
    policy: Policy | None = None,
    store: EvidenceStore | None = None,
    progress: ScanProgress | None = None,
    on_stored: Callable[[StoredRecord], None] | None = None,
    approvals: Path | Approvals | None = None,
    staging: DriftSide | None = None,
    advisories: Path | LoadedAdvisories | None = None,
    statement_timeout: float | None = None,
    store_with: StoreRun | None = None,
    probe: bool = False,
) -> AuditRun:
    """Scan one Moodle site read-only and return the run.

    Give exactly one of ``config`` (the site's config.php) or ``db`` (a database URL). With a
    ``store`` the run is appended to the evidence store (``on_stored`` receives the record) and
    the review campaigns on record there are judged. Whatever this opens it closes; errors are
    the project's typed errors (``moodle_soc.errors``), never prompts or exits.
    ``statement_timeout`` (seconds) bounds every query; ``store_with`` replaces how the run is
    appended (see ``StoreRun``); ``probe`` as in ``judge_site``.
    """
    from moodle_soc.api.sites import open_moodle_site

    if isinstance(roster, Path):  # a bad roster is refused before connecting
        from moodle_soc.inventory.roster import load_roster

        roster = load_roster(roster)
    approvals, advisories = load_scan_inputs(approvals, advisories)
    select_checks(checks)
    with open_moodle_site(
        config=config,
        db=db,
        prefix=prefix,
        wwwroot=wwwroot,
        password=password,
        as_of=as_of,
        statement_timeout=statement_timeout,
    ) as site:
        return judge_site(
            site,
            policy=policy,
            checks=checks,
            roster=roster,
            store=store,
            progress=progress,
            on_stored=on_stored,
            approvals=approvals,
            staging=staging,
            advisories=advisories,
            store_with=store_with,
            probe=probe,
        )
