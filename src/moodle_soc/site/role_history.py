"""Changes to role definitions: the log's role and capability events, and ``role_capabilities``
rows modified in the period (their ``timemodified`` and ``modifierid`` survive even when the
log does not). Role *assignments* are access changes, kept in the privileged-role population.

Moodle has no index on the log's ``eventname``, so filtering on the event names reads every
row of the period: about 2 s per million rows on MariaDB, for the handful of role events
among them. The events are read instead through the ``userid`` index, for the users who can
write one (``possible_actors``): a site's few role managers and administrators, whose own rows
are all that is read, however big the log is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from moodle_soc.site.logother import decode_other
from moodle_soc.site.populations import STANDARD_LOG, context_label
from moodle_soc.site.roles import CAP_ALLOW

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.site.populations import Window

ROLE_EVENTS = {
    "\\core\\event\\role_created": "role created",
    "\\core\\event\\role_updated": "role updated",
    "\\core\\event\\role_deleted": "role deleted",
    "\\core\\event\\role_capabilities_updated": "role capabilities updated",
    "\\core\\event\\capability_assigned": "capability assigned",
    "\\core\\event\\capability_unassigned": "capability unassigned",
    "\\core\\event\\role_allow_assign_updated": "allowed role assignments updated",
    "\\core\\event\\role_allow_override_updated": "allowed role overrides updated",
    "\\core\\event\\role_allow_switch_updated": "allowed role switches updated",
    "\\core\\event\\role_allow_view_updated": "allowed role views updated",
}
PERMISSIONS = {0: "inherit", 1: "allow", -1: "prevent", -1000: "prohibit"}
#: What lets a user define roles, change the allow matrices or override any capability.
#: ``moodle/role:safeoverride`` (editing teachers, by default) is left out on purpose: it
#: overrides only capabilities without risks in the user's own courses, and every override it
#: sets is a ``role_capabilities`` row with its ``modifierid`` (so that user is an actor below).
ROLE_EDITING_CAPABILITIES = ("moodle/role:manage", "moodle/role:override")
#: Beyond this many possible actors the id list would be no bound: the whole period is read.
MAX_ACTORS = 2000


@dataclass(frozen=True)
class RoleChange:
    source: Literal["logstore_standard_log", "role_capabilities"]
    id: int
    time: int
    roleid: int
    role: str  # shortname ("role <id>" when the role is gone)
    what: str  # "capability assigned", "role deleted", ...
    capability: str | None
    context: str
    old: str | None  # permission name, when known
    new: str | None
    userid: int
    username: str | None


def permission_name(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value)
    return PERMISSIONS.get(number, str(number))


def _other(raw: Any) -> dict[str, Any]:
    try:
        value = decode_other(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def role_change(row: Any, shortname: str | None, actor: str | None) -> RoleChange:
    """A role definition event from its log row (``id``, ``timecreated``, ``eventname``,
    ``objectid``, ``userid``, ``contextlevel``, ``contextinstanceid``, ``other``), the role's
    shortname now and the actor's username (None when the role or user is gone)."""
    other = _other(row["other"])
    roleid = int(row["objectid"] or 0)
    name = shortname or other.get("shortname") or f"role {roleid}"
    return RoleChange(
        source="logstore_standard_log",
        id=int(row["id"]),
        time=int(row["timecreated"]),
        roleid=roleid,
        role=str(name),
        what=ROLE_EVENTS[str(row["eventname"])],
        capability=other.get("capability"),
        context=context_label(row["contextlevel"], row["contextinstanceid"]),
        old=permission_name(other.get("oldpermission")),
        new=permission_name(other.get("permission")),
        userid=int(row["userid"] or 0),
        username=actor,
    )


class RoleHistory:
    def __init__(self, site: MoodleSite) -> None:
        self.site = site
        self.db = site.db
        self._events: dict[tuple[int, int], list[RoleChange]] = {}

    def possible_actors(self) -> list[int] | None:
        """Every user who can have written a role definition event: the system (0, CLI scripts
        and upgrades), the site administrators now and every id ``config_log`` shows was ever
        one, the holders of a role allowing ``ROLE_EDITING_CAPABILITIES`` in any context, and
        every user ``role_capabilities`` names as the last modifier of a permission. None when
        there are more than ``MAX_ACTORS`` (the events are then read for everyone)."""
        rc, ra = self.db.table("role_capabilities"), self.db.table("role_assignments")
        editing_roles = sa.select(rc.c.roleid).where(
            rc.c.capability.in_(ROLE_EDITING_CAPABILITIES), rc.c.permission == CAP_ALLOW
        )
        holders = sa.union(
            sa.select(ra.c.userid.label("id")).where(ra.c.roleid.in_(editing_roles)),
            sa.select(rc.c.modifierid.label("id")).where(rc.c.modifierid != 0),
        )
        purpose = "changes: users who can write role definition events"
        actors = {0, *self.site.site_admin_ids}
        actors.update(int(row["id"]) for row in self.db.fetch_all(holders, purpose))
        if self.db.has_table("config_log"):  # every id that was ever a site administrator
            log = self.db.table("config_log")
            admins = sa.select(log.c.value, log.c.oldvalue).where(
                log.c.name == "siteadmins", sa.or_(log.c.plugin.is_(None), log.c.plugin == "core")
            )
            for row in self.db.fetch_all(admins, "changes: every value siteadmins ever had"):
                for value in (row["value"], row["oldvalue"]):
                    actors.update(
                        int(p) for p in str(value or "").split(",") if p.strip().isdigit()
                    )
        return sorted(actors) if len(actors) <= MAX_ACTORS else None

    def events(self, window: Window) -> Iterator[RoleChange]:
        """Role definition events in ``window`` from the standard log, read through the
        ``userid`` index for ``possible_actors``; read once for a scan's checks, its change
        population and its log review (a window read before that covers this one is reused)."""
        if not self.db.has_table(STANDARD_LOG):
            return
        for (start, end), read in self._events.items():
            if start <= window.start and window.end <= end:
                yield from (e for e in read if window.start <= e.time < window.end)
                return
        read = list(self._read_events(window))
        self._events[(window.start, window.end)] = read
        yield from read

    def _read_events(self, window: Window) -> Iterator[RoleChange]:
        log, role = self.db.table(STANDARD_LOG), self.db.table("role")
        actor = self.db.table("user").alias("actor")
        statement = (
            sa.select(
                log.c.id,
                log.c.timecreated,
                log.c.eventname,
                log.c.objectid,
                log.c.userid,
                log.c.contextlevel,
                log.c.contextinstanceid,
                log.c.other,
                role.c.shortname,
                actor.c.username.label("actor"),
            )
            .select_from(
                log.outerjoin(role, role.c.id == log.c.objectid).outerjoin(
                    actor, actor.c.id == log.c.userid
                )
            )
            .where(log.c.eventname.in_(sorted(ROLE_EVENTS)), window.holds(log.c.timecreated))
        )
        actors = self.possible_actors()
        purpose = "changes: role definition events in the period"
        if actors is not None:
            statement = statement.where(log.c.userid.in_(actors))
            purpose = (
                "changes: role definition events in the period, by the users who can write one"
            )
        for row in self.db.stream(statement, log.c.id, purpose):
            yield role_change(row, row["shortname"], row["actor"])

    def capability_rows(self, window: Window) -> Iterator[RoleChange]:
        """``role_capabilities`` rows a user set in ``window``: the permission a role has now
        (Moodle keeps no previous value). Rows Moodle itself wrote (``modifierid`` 0: default
        permissions written by an installation or upgrade) belong to that install or upgrade."""
        rc, role = self.db.table("role_capabilities"), self.db.table("role")
        context, actor = self.db.table("context"), self.db.table("user").alias("actor")
        statement = (
            sa.select(
                rc.c.id,
                rc.c.timemodified,
                rc.c.roleid,
                rc.c.capability,
                rc.c.permission,
                rc.c.modifierid,
                role.c.shortname,
                context.c.contextlevel,
                context.c.instanceid,
                actor.c.username.label("actor"),
            )
            .select_from(
                rc.outerjoin(role, role.c.id == rc.c.roleid)
                .outerjoin(context, context.c.id == rc.c.contextid)
                .outerjoin(actor, actor.c.id == rc.c.modifierid)
            )
            .where(window.holds(rc.c.timemodified), rc.c.modifierid != 0)
        )
        purpose = "changes: role_capabilities rows users modified in the period"
        for row in self.db.stream(statement, rc.c.id, purpose):
            roleid = int(row["roleid"] or 0)
            yield RoleChange(
                source="role_capabilities",
                id=int(row["id"]),
                time=int(row["timemodified"]),
                roleid=roleid,
                role=str(row["shortname"] or f"role {roleid}"),
                what="permission set",
                capability=str(row["capability"]),
                context=context_label(row["contextlevel"], row["instanceid"]),
                old=None,
                new=permission_name(row["permission"]),
                userid=int(row["modifierid"] or 0),
                username=row["actor"],
            )
