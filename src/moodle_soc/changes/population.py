"""The change population of a period, from what the site recorded and what earlier scans saw.

Sources, each row saying which: ``config_log`` (settings, with old and new values and the user),
``upgrade_log`` (core and plugin installs and upgrades), the standard log and
``role_capabilities`` (role definitions), and ``runs`` (differences between stored scans:
config.php, removed plugins, anything Moodle did not log). A change seen both in Moodle's own
record and between two scans is listed once, from Moodle's record (it has the time and user).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from moodle_soc.changes.matching import match_changes
from moodle_soc.changes.runs import state_changes
from moodle_soc.data.releases import release_name
from moodle_soc.models.changes import Approvals, Change, ChangeSet
from moodle_soc.site.populations import Window

if TYPE_CHECKING:
    from moodle_soc.models.state import RecordedState
    from moodle_soc.site.moodle import MoodleSite


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _when(timestamp: int) -> str:
    return f"{_at(timestamp):%Y-%m-%d %H:%M:%S} UTC"


def _who(userid: int, username: str | None) -> dict[str, object]:
    return {"by_id": userid, "by_username": username if userid else None}


def _named(version: str | None) -> str:
    name = release_name(version) if version else None
    return f"{version} ({name})" if name else str(version)


def moodle_changes(site: MoodleSite, window: Window) -> tuple[list[Change], list[str]]:
    """Changes Moodle itself recorded in ``window``, and notes on what was set apart."""
    history = site.history
    changes: list[Change] = []
    notes: list[str] = []
    install = history.installation
    if install is not None and window.start <= install.at < window.end:
        defaults = history.install_defaults
        rows = defaults.rows if defaults is not None else 0
        changes.append(
            Change(
                id="upgrade_log:install",
                kind="core",
                component="core",
                name="version",
                old=None,
                new=install.version,
                at=_at(install.at),
                source="upgrade_log",
                detail=f"Moodle {_named(install.version)} installed with {install.plugins}"
                f" plugins and {rows} default settings",
                **_who(0, None),
            )
        )
        if defaults is not None:
            notes.append(
                f"The installation wrote config_log rows {defaults.first_id} to"
                f" {defaults.last_id} ({defaults.rows} installer defaults,"
                f" {_when(defaults.first_at)} to {_when(defaults.last_at)}); they are the"
                " installation change, not listed one by one."
            )
    for s in history.setting_changes(window):
        changes.append(
            Change(
                id=f"config_log:{s.id}",
                kind="setting",
                component=s.plugin,
                name=s.name,
                old=s.old,
                new=s.new,
                at=_at(s.time),
                source="config_log",
                masked=s.masked,
                detail="setting saved",
                **_who(s.userid, s.username),
            )
        )
    for u in history.upgrades.events(window):
        core = u.component == "core"
        what = f"Moodle {_named(u.new_version)}" if core else f"plugin {u.component}"
        changes.append(
            Change(
                id=f"upgrade_log:{u.id}",
                kind="core" if core else "plugin",
                component=u.component,
                name="version",
                old=u.old_version,
                new=u.new_version,
                at=_at(u.time),
                source="upgrade_log",
                detail=f"{what} {u.action}",
                **_who(u.userid, u.username),
            )
        )
    errors = history.upgrades.error_count(window)
    if errors:
        notes.append(f"upgrade_log holds {errors} upgrade error(s) in the period.")
    roles = history.roles
    for r in [*roles.events(window), *roles.capability_rows(window)]:
        capability = f" {r.capability}" if r.capability else ""
        changes.append(
            Change(
                id=f"{r.source}:{r.id}",
                kind="role",
                component="role",
                name=r.role,
                old=r.old,
                new=r.new,
                at=_at(r.time),
                source=r.source,
                detail=f"{r.what}{capability} ({r.context})",
                **_who(r.userid, r.username),
            )
        )
    if not site.has_table("logstore_standard_log"):
        notes.append("The standard log does not exist: role definition events are missing.")
    return changes, notes


def _recorded_elsewhere(change: Change, recorded: Sequence[Change]) -> bool:
    """Whether Moodle's own records already show a change seen between two scans."""
    low = change.at_from or change.at
    for other in recorded:
        if other.source == "runs" or not (low <= other.at <= change.at):
            continue
        same_kind = other.kind == change.kind or {other.kind, change.kind} == {"plugin", "core"}
        if same_kind and other.component == change.component and other.new == change.new:
            return True
        if change.kind == "setting" and other.scope_key == change.scope_key:
            return True
    return False


def build_changes(
    site: MoodleSite,
    start: date,
    end: date,
    *,
    states: Iterable[RecordedState] = (),
    approvals: Approvals | None = None,
) -> ChangeSet:
    """Every change of ``site`` in the UTC days ``start``..``end``; ``states`` are the states
    of stored scans (with the one before the period, if any), matched to ``approvals``."""
    window = Window.for_days(start, end)
    recorded, notes = moodle_changes(site, window)
    known = sorted(states, key=lambda s: s.at)
    in_period = [s for s in known if window.start <= s.at.timestamp() < window.end]
    earlier = [s for s in known if s.at.timestamp() < window.start]
    compared = earlier[-1:] + in_period
    seen = [c for c in state_changes(compared) if not _recorded_elsewhere(c, recorded)]
    if len(compared) < 2:
        notes.append(
            "Fewer than two stored scans cover the period, so changes Moodle does not record"
            " (config.php edits, removed plugins) cannot be shown; scan regularly with an"
            " evidence store."
        )
    changes = sorted([*recorded, *seen], key=lambda c: (c.at, c.id))
    if approvals is not None:
        actors = site.history.actors(c.by_id or 0 for c in changes)
        identities = {i: (a.username, a.email) for i, a in actors.items()}
        changes = match_changes(changes, approvals, identities)
    return ChangeSet(
        site=site.identity.name,
        audit_time=site.audit_time,
        start=start,
        end=end,
        changes=tuple(changes),
        notes=tuple(notes),
        approvals_source=approvals.source if approvals else None,
        approvals_sha256=approvals.sha256 if approvals else None,
    )
