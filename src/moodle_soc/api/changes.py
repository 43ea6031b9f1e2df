"""Change management workflows: the change population of a period (matched to approvals and
stored as evidence), drift between two environments, the plugin inventory with its risks,
support status and advisories, and installing a newer advisories file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moodle_soc.changes.drift import Drift, DriftSide
    from moodle_soc.changes.plugin_risk import PluginInventory
    from moodle_soc.data.advisories import LoadedAdvisories
    from moodle_soc.evidence.periods.populations import Population
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.changes import Approvals, Change, ChangeSet
    from moodle_soc.models.records import StoredRecord
    from moodle_soc.site.moodle import MoodleSite


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class ChangeReport:
    """A period's change population, as evidence and as rows."""

    changes: ChangeSet
    population: Population
    record: StoredRecord | None = None  # None when it was not stored


def change_population(
    site: MoodleSite,
    start: date,
    end: date,
    *,
    approvals: Path | Approvals | None = None,
    store: EvidenceStore | None = None,
    keep: bool = True,
) -> ChangeReport:
    """Every change of ``site`` in the UTC days ``start``..``end``.

    With a ``store``, the states of the runs stored for the period (and the one before it) add
    the changes Moodle does not record, and (unless ``keep`` is false) the population is
    appended as a ``change_population`` record. ``approvals`` (a file or a parsed one) matches
    each change to its ticket.
    """
    from moodle_soc.api.evidence import _check_period
    from moodle_soc.changes.population import build_changes
    from moodle_soc.evidence.periods.change_population import (
        change_population as as_population,
    )
    from moodle_soc.evidence.periods.change_population import store_change_population
    from moodle_soc.evidence.store.runs import site_ref_for_site
    from moodle_soc.evidence.store.states import recorded_states
    from moodle_soc.models.state import RecordedState
    from moodle_soc.site.state import build_site_state

    _check_period(start, end)
    if isinstance(approvals, Path):
        from moodle_soc.changes.approvals import load_approvals

        approvals = load_approvals(approvals)
    ref = site_ref_for_site(site)
    states: list[RecordedState] = []
    if store is not None:
        begin = datetime.combine(start, time.min, UTC)
        until = datetime.combine(end + timedelta(days=1), time.min, UTC)
        states = recorded_states(store, ref.key, begin, min(until, site.audit_time))
    first_query = len(site.db.records)
    if states:  # and what changed since the last stored scan
        now = build_site_state(site)
        states.append(RecordedState(seq=None, record_hash=None, at=site.audit_time, state=now))
    changes = build_changes(site, start, end, states=states, approvals=approvals)
    population = as_population(changes, site.db.records[first_query:])
    record = None
    if store is not None and keep:
        record = store_change_population(store, ref, population)
    return ChangeReport(changes, population, record)


@dataclass
class StoredChanges:
    """The changes seen between the site states of a site's stored runs over a period."""

    start: date
    end: date
    runs_compared: int  # stored states compared (the baseline run before the period included)
    changes: list[Change]


def stored_changes(
    store: EvidenceStore, site_key: str, start: date, end: date, *, baseline: bool = True
) -> StoredChanges:
    """From the evidence store alone: the config.php, database setting, plugin and core
    version changes between consecutive stored runs of the UTC days ``start``..``end`` (with,
    when ``baseline``, the last run before the period). Moodle's own change records need the
    site itself: :func:`change_population`."""
    from moodle_soc.api.evidence import _check_period
    from moodle_soc.changes.runs import state_changes
    from moodle_soc.evidence.store.states import recorded_states

    _check_period(start, end)
    begin = datetime.combine(start, time.min, UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, UTC)
    states = [s for s in recorded_states(store, site_key, begin, until) if s.at < until]
    if not baseline:
        states = [s for s in states if s.at >= begin]
    return StoredChanges(start, end, len(states), state_changes(states))


def environment_of(site: MoodleSite, *, label: str | None = None) -> DriftSide:
    """One environment for a drift comparison, read from an open site."""
    from moodle_soc.changes.drift import DriftSide
    from moodle_soc.site.state import build_site_state, effective_settings

    name = label or site.identity.wwwroot or site.identity.name
    return DriftSide(name, build_site_state(site), effective_settings(site))


def read_environment(
    *,
    config: Path | None = None,
    db: str | None = None,
    prefix: str | None = None,
    password: str | None = None,
    label: str | None = None,
    store: EvidenceStore | None = None,
) -> DriftSide:
    """Open a site read-only (one of ``config``, ``db``), read it, close it. With a ``store``,
    the versions of its stored runs count as versions it ran."""
    from moodle_soc.api.sites import open_moodle_site
    from moodle_soc.evidence.store.runs import site_ref_for_site
    from moodle_soc.evidence.store.states import recorded_states

    with open_moodle_site(config=config, db=db, prefix=prefix, password=password) as site:
        side = environment_of(site, label=label)
        if store is None:
            return side
        key = site_ref_for_site(site).key
        history = recorded_states(store, key, EPOCH, site.audit_time)
    return type(side)(side.label, side.state, side.settings, tuple(s.state for s in history))


def drift(source: DriftSide, target: DriftSide) -> Drift:
    """What differs from ``source`` (staging) to ``target`` (production)."""
    from moodle_soc.changes.drift import compare

    return compare(source, target)


def plugin_inventory(
    site: MoodleSite, *, advisories: Path | LoadedAdvisories | None = None
) -> PluginInventory:
    """Every installed plugin with origin and risk flags, the branch's support status and the
    advisories that apply (from ``advisories``, else the installed or shipped file)."""
    from moodle_soc.changes.advisories import matching_advisories, support_status
    from moodle_soc.changes.plugin_risk import PluginInventory, plugin_rows
    from moodle_soc.data.advisories import load_advisories
    from moodle_soc.site.state import build_site_state

    loaded = advisories if not (advisories is None or isinstance(advisories, Path)) else None
    loaded = loaded or load_advisories(advisories if isinstance(advisories, Path) else None)
    state = build_site_state(site)
    matches = matching_advisories(state, loaded.file)
    version = site.version
    rows = plugin_rows(site.plugins.inventory(), version.label, version.release, matches)
    return PluginInventory(
        site=site.identity.name,
        release=version.release,
        support=support_status(state, site.audit_time.date()),
        advisories_origin=loaded.origin,
        rows=rows,
        matches=matches,
    )


def current_advisories(location: Path | None = None) -> LoadedAdvisories:
    """The advisories in force: the installed file, else those shipped with moodle-soc."""
    from moodle_soc.data.advisories import load_advisories

    return load_advisories(location)


def update_advisories(source: Path, destination: Path | None = None) -> LoadedAdvisories:
    """Validate ``source`` as a whole and install it (all or nothing); an older file than the
    one in force is refused."""
    from moodle_soc.data.advisories import install_advisories

    return install_advisories(source, destination)
