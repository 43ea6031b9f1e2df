"""Roles, capabilities and who holds them: Moodle's own role checks as SQL, plus the
privileged-role population (system and category assignments of roles with risky capabilities).

A role's definition is its ``role_capabilities`` rows at the system context; rows at any other
context are overrides. Risk bits are tested with a portable bitwise AND.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from moodle_soc.site.accounts import UserRecord
from moodle_soc.site.cache import once_per_site

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from moodle_soc.site.moodle import MoodleSite

T = TypeVar("T", bound="DataclassInstance")

# Moodle's RISK_* bits (lib/accesslib.php).
RISK_BITS = {1: "RISK_MANAGETRUST", 2: "RISK_CONFIG", 4: "RISK_XSS", 8: "RISK_PERSONAL",
             16: "RISK_SPAM", 32: "RISK_DATALOSS"}  # fmt: skip
RISK_MANAGETRUST, RISK_CONFIG, RISK_XSS, RISK_PERSONAL, RISK_DATALOSS = 1, 2, 4, 8, 32
# The mask Moodle's defaultuserrole/guestrole/frontpagerole checks call dangerous.
MOODLE_RISKY_MASK = RISK_XSS | RISK_CONFIG | RISK_DATALOSS
PRIVILEGED_MASK = RISK_MANAGETRUST | RISK_CONFIG | RISK_XSS | RISK_PERSONAL | RISK_DATALOSS
CAP_ALLOW = 1
CONTEXT_SYSTEM = 10
CONTEXT_COURSECAT = 40
CONTEXT_COURSE = 50
BACKUP_USERINFO = "moodle/backup:userinfo"


def _record(cls: type[T], row: RowMapping, **given: Any) -> T:
    """A record from a row: int fields cast with int(), str fields with str(), NULL as ''."""
    values = {
        f.name: given[f.name]
        if f.name in given
        else int(row[f.name])
        if f.type == "int"
        else str(row[f.name] or "")
        for f in fields(cls)
    }
    return cls(**values)


def risk_names(mask: int) -> list[str]:
    """``RISK_*`` names of the bits set in ``mask``."""
    return [name for bit, name in RISK_BITS.items() if mask & bit]


@dataclass(frozen=True)
class RoleRecord:
    id: int
    shortname: str
    name: str
    archetype: str


#: lang/en/role.php's names of the roles Moodle installs (shown when ``role.name`` is empty).
STANDARD_ROLE_NAMES = {
    "manager": "Manager",
    "coursecreator": "Course creator",
    "editingteacher": "Teacher",
    "teacher": "Non-editing teacher",
    "student": "Student",
    "guest": "Guest",
    "user": "Authenticated user",
    "frontpage": "Authenticated user on site home",
}


@dataclass(frozen=True)
class RiskyCapability:
    capability: str
    riskbitmask: int


@dataclass(frozen=True)
class BackupUserinfoCounts:
    """Moodle's core_riskbackup numbers: roles, overrides and users able to back up user data."""

    roles: int
    overrides: int
    users: int


@dataclass(frozen=True)
class RoleHolder:
    """A role assignment at the system (or a category) context of a role with risky caps."""

    user: UserRecord
    role: RoleRecord
    risk_mask: int
    contextid: int
    contextlevel: int
    instanceid: int

    @property
    def at_category(self) -> bool:
        return self.contextlevel == CONTEXT_COURSECAT


@dataclass(frozen=True)
class RiskyOverride:
    """A ``role_capabilities`` row allowing a risky capability outside the system context."""

    id: int
    roleid: int
    shortname: str
    contextid: int
    contextlevel: int
    instanceid: int
    capability: str
    riskbitmask: int


@dataclass(frozen=True)
class CorePermission:
    """A system-context (definition) row of a role with an archetype, on a core capability."""

    roleid: int
    capability: str
    permission: int
    captype: str
    riskbitmask: int


class Roles:
    def __init__(self, site: MoodleSite) -> None:
        self.site = site
        self.db = site.db

    @cached_property
    def _all(self) -> dict[int, RoleRecord]:
        role = self.db.table("role")
        rows = self.db.fetch_all(
            sa.select(role.c.id, role.c.shortname, role.c.name, role.c.archetype),
            "roles: every role",
        )
        return {int(r["id"]): _record(RoleRecord, r) for r in rows}

    def role(self, roleid: int) -> RoleRecord | None:
        return self._all.get(roleid)

    def roles(self) -> tuple[RoleRecord, ...]:
        """Every role, by id."""
        return tuple(self._all[key] for key in sorted(self._all))

    def display_name(self, roleid: int, shortname: str) -> str:
        """The role as Moodle shows it: its own name, else the standard role's English name
        (Moodle leaves ``role.name`` empty for them), else its short name."""
        role = self.role(roleid)
        if role is not None and role.name.strip():
            return role.name.strip()
        return STANDARD_ROLE_NAMES.get(shortname, shortname)

    def role_by_shortname(self, shortname: str) -> RoleRecord | None:
        return next((r for r in self._all.values() if r.shortname == shortname), None)

    def _allowed_risky(
        self, mask: int
    ) -> tuple[sa.TableClause, sa.TableClause, sa.Join, sa.ColumnElement[bool]]:
        """role_capabilities joined to capabilities, and "allows a capability in ``mask``"."""
        rc = self.db.table("role_capabilities")
        cap = self.db.table("capabilities")
        joined = rc.join(cap, cap.c.name == rc.c.capability)
        condition = sa.and_(rc.c.permission == CAP_ALLOW, cap.c.riskbitmask.bitwise_and(mask) != 0)
        return rc, cap, joined, condition

    def risky_context_count(
        self, roleid: int, mask: int = MOODLE_RISKY_MASK, ignore_capabilities: Iterable[str] = ()
    ) -> int:
        """Moodle's role-check count: contexts where ``roleid`` allows a capability in ``mask``."""
        rc, _cap, joined, allowed = self._allowed_risky(mask)
        statement = (
            sa.select(sa.func.count(sa.distinct(rc.c.contextid)))
            .select_from(joined)
            .where(allowed, rc.c.roleid == roleid)
        )
        ignored = sorted(ignore_capabilities)
        if ignored:
            statement = statement.where(rc.c.capability.not_in(ignored))
        return self._count(statement, f"roles: contexts where role {roleid} allows risk {mask}")

    @once_per_site
    def role_allowed_risky_capabilities(
        self, roleid: int, mask: int
    ) -> tuple[RiskyCapability, ...]:
        """Capabilities in ``mask`` that the role's system-level definition allows."""
        rc, cap, joined, allowed = self._allowed_risky(mask)
        rows = self.db.fetch_all(
            sa.select(rc.c.capability, cap.c.riskbitmask)
            .select_from(joined)
            .where(allowed, rc.c.roleid == roleid, rc.c.contextid == self._system)
            .order_by(rc.c.capability),
            f"roles: capabilities with risk {mask} that role {roleid} allows at system level",
        )
        return tuple(RiskyCapability(str(r["capability"]), int(r["riskbitmask"])) for r in rows)

    @once_per_site
    def archetype_role_definitions(self) -> tuple[CorePermission, ...]:
        """The definitions (system-context rows) of every role with an archetype, on core
        (``moodle``) capabilities, with each capability's type and risks. A row whose capability
        no longer exists grants nothing, so the inner join drops it."""
        rc = self.db.table("role_capabilities")
        cap = self.db.table("capabilities")
        role = self.db.table("role")
        rows = self.db.fetch_all(
            sa.select(
                rc.c.roleid, rc.c.capability, rc.c.permission, cap.c.captype, cap.c.riskbitmask
            )
            .select_from(
                rc.join(cap, cap.c.name == rc.c.capability).join(role, role.c.id == rc.c.roleid)
            )
            .where(
                rc.c.contextid == self._system,
                cap.c.component == "moodle",
                sa.func.coalesce(role.c.archetype, "") != "",
            )
            .order_by(rc.c.roleid, rc.c.capability),
            "roles: core capability definitions of roles with an archetype",
        )
        return tuple(_record(CorePermission, r) for r in rows)

    @once_per_site
    def core_capability_names(self) -> frozenset[str]:
        """The core (``moodle``) capabilities the site defines."""
        cap = self.db.table("capabilities")
        rows = self.db.fetch_all(
            sa.select(cap.c.name).where(cap.c.component == "moodle"),
            "roles: core capabilities the site defines",
        )
        return frozenset(str(r["name"]) for r in rows)

    @property
    def _system(self) -> int:
        return self.site.system_context_id

    def _count(self, statement: sa.Select[Any], purpose: str) -> int:
        return int(self.db.scalar(statement, purpose) or 0)

    def _users_in_overlapping_contexts(
        self, rc: sa.Subquery, purpose: str, *, max_level: int | None = None
    ) -> sa.Select[Any]:
        """COUNT(DISTINCT user) assigned ``rc.roleid`` in a context overlapping ``rc.contextid``
        (same path, below it, or above it), as Moodle's riskxss/riskbackup checks count.

        Every context lies below the system context, so a role allowed there reaches all of
        its assignments: those are read by role id alone, and only the few other (override)
        contexts go through the path comparison, which on a large site would otherwise pair
        every context with every definition. The (context, role) pairs are read first and the
        role ids written into the count, so both planners read assignments through the role
        index, never every context's assignments."""
        context = self.db.table("context")
        c, sc = context.alias("c"), context.alias("sc")
        ra = self.db.table("role_assignments")
        user = self.db.table("user")
        overlap = sa.or_(
            sc.c.path == c.c.path,
            sc.c.path.like(c.c.path.concat("/%")),
            c.c.path.like(sc.c.path.concat("/%")),
        )
        system = self._system
        pairs = self.db.fetch_all(
            sa.select(rc.c.contextid, rc.c.roleid).distinct(),
            f"roles: the roles allowing it and where ({purpose})",
        )
        at_system = sorted({int(p["roleid"]) for p in pairs if int(p["contextid"]) == system})
        below = sorted({int(p["roleid"]) for p in pairs if int(p["contextid"]) != system})
        everywhere = (
            sa.select(ra.c.userid)
            .select_from(ra)
            .join(sc, sc.c.id == ra.c.contextid)
            .where(ra.c.roleid.in_(at_system or [0]))
        )
        narrower = (
            sa.select(ra.c.userid)
            .select_from(rc)
            .join(c, sa.and_(c.c.id == rc.c.contextid, c.c.id != system))
            .join(sc, overlap)
            .join(ra, sa.and_(ra.c.contextid == sc.c.id, ra.c.roleid == rc.c.roleid))
            .where(ra.c.roleid.in_(below or [0]))
        )
        if max_level is not None:
            everywhere = everywhere.where(sc.c.contextlevel <= max_level)
            narrower = narrower.where(sc.c.contextlevel <= max_level, c.c.contextlevel <= max_level)
        holders = sa.union(everywhere, narrower).subquery("holders")
        return (
            sa.select(sa.func.count(sa.distinct(user.c.id)))
            .select_from(holders)
            .join(user, sa.and_(user.c.id == holders.c.userid, user.c.deleted == 0))
        )

    def xss_trusted_user_count(self) -> int:
        """core_riskxss: users holding a role that allows an XSS-risk capability in an
        overlapping context (site admins are not counted: they are not a role)."""
        rc, _cap, joined, allowed = self._allowed_risky(RISK_XSS)
        pairs = sa.select(rc.c.contextid, rc.c.roleid).select_from(joined).where(allowed)
        statement = self._users_in_overlapping_contexts(
            pairs.distinct().subquery("rc"), "core_riskxss"
        )
        return self._count(statement, "roles: core_riskxss trusted user count")

    def backup_userinfo_counts(self) -> BackupUserinfoCounts:
        """core_riskbackup: who may back up user data (moodle/backup:userinfo)."""
        rc = self.db.table("role_capabilities")
        role = self.db.table("role")
        grants = sa.and_(rc.c.capability == BACKUP_USERINFO, rc.c.permission == CAP_ALLOW)

        def distinct_roles(where: sa.ColumnElement[bool], what: str) -> int:
            # Moodle keys both lists by role id, so several overrides of one role count once.
            statement = (
                sa.select(sa.func.count(sa.distinct(role.c.id)))
                .select_from(role.join(rc, rc.c.roleid == role.c.id))
                .where(grants, where)
            )
            return self._count(statement, f"roles: core_riskbackup {what}")

        pairs = sa.select(rc.c.contextid, rc.c.roleid).distinct().where(grants).subquery("rc")
        users = self._users_in_overlapping_contexts(
            pairs, "core_riskbackup", max_level=CONTEXT_COURSE
        )
        return BackupUserinfoCounts(
            roles=distinct_roles(rc.c.contextid == self._system, "roles allowing it"),
            overrides=distinct_roles(rc.c.contextid != self._system, "overrides allowing it"),
            users=self._count(users, "roles: core_riskbackup user count"),
        )

    @once_per_site
    def role_risk_masks(self, mask: int = PRIVILEGED_MASK) -> Mapping[int, int]:
        """Per role, the OR of the risk bits (within ``mask``) its system-level definition
        allows."""
        rc, cap, joined, allowed = self._allowed_risky(mask)
        bits = [bit for bit in RISK_BITS if bit & mask]
        # No portable BIT_OR aggregate: one MAX(CASE) column per bit.
        has = [sa.case((cap.c.riskbitmask.bitwise_and(bit) != 0, 1), else_=0) for bit in bits]
        columns = [sa.func.max(flag).label(f"b{bit}") for flag, bit in zip(has, bits, strict=True)]
        rows = self.db.fetch_all(
            sa.select(rc.c.roleid, *columns)
            .select_from(joined)
            .where(allowed, rc.c.contextid == self._system)
            .group_by(rc.c.roleid),
            f"roles: risk bits within {mask} each role allows at system level",
        )
        masks = {int(r["roleid"]): sum(bit for bit in bits if int(r[f"b{bit}"] or 0)) for r in rows}
        return MappingProxyType(masks)

    def system_role_holders(self, mask: int = PRIVILEGED_MASK) -> list[RoleHolder]:
        """Assignments at the system context (and, flagged, at category level) of roles whose
        definition allows a capability with a risk in ``mask``."""
        masks = self.role_risk_masks(mask)
        if not masks:
            return []
        ra = self.db.table("role_assignments")
        context = self.db.table("context")
        user = self.db.table("user")
        place = (ra.c.contextid, context.c.contextlevel, context.c.instanceid)
        # The user rows come joined in, in the same query, however many holders there are; an
        # assignment whose user row is gone grants nothing (the inner join drops it).
        rows = self.db.fetch_all(
            sa.select(
                ra.c.userid, ra.c.roleid, *place, *(user.c[f.name] for f in fields(UserRecord))
            )
            .distinct()
            .select_from(
                ra.join(context, context.c.id == ra.c.contextid).join(
                    user, user.c.id == ra.c.userid
                )
            )
            .where(
                context.c.contextlevel.in_((CONTEXT_SYSTEM, CONTEXT_COURSECAT)),
                ra.c.roleid.in_(sorted(masks)),
            )
            .order_by(context.c.contextlevel, ra.c.userid, ra.c.roleid, ra.c.contextid),
            "roles: system and category assignments of roles with risky capabilities",
        )
        holders = []
        for r in rows:
            record, role = UserRecord.from_row(r), self.role(int(r["roleid"]))
            if role:  # an assignment whose role row is gone grants nothing
                where = (int(r["contextid"]), int(r["contextlevel"]), int(r["instanceid"]))
                holders.append(RoleHolder(record, role, masks[role.id], *where))
        return holders

    def risky_overrides(self, mask: int) -> list[RiskyOverride]:
        """Overrides outside the system context that allow a capability with a risk in ``mask``."""
        rc, cap, joined, allowed = self._allowed_risky(mask)
        context = self.db.table("context")
        columns = [rc.c[name] for name in ("id", "roleid", "contextid", "capability")]
        columns += [context.c.contextlevel, context.c.instanceid, cap.c.riskbitmask]
        rows = self.db.fetch_all(
            sa.select(*columns)
            .select_from(joined.join(context, context.c.id == rc.c.contextid))
            .where(allowed, rc.c.contextid != self._system)
            .order_by(rc.c.id),
            f"roles: overrides allowing capabilities with risk {mask}",
        )
        return [
            _record(
                RiskyOverride, r, shortname=getattr(self.role(int(r["roleid"])), "shortname", "")
            )
            for r in rows
        ]
