"""What grants privilege on a Moodle site: roles with risky capabilities assigned in any
context, overrides that widen a role, "log in as", and web-service tokens with the functions
they open. The access inventory (``moodle_soc.access``) turns these into per-user grants.

Aggregates run in SQL; every list is bounded (``limit``) and says when it was cut. Token values
(``external_tokens.token``/``privatetoken``) are never selected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from moodle_soc.site.cache import once_per_site
from moodle_soc.site.moodle import SYSTEM_CONTEXT_LEVEL
from moodle_soc.site.roles import (
    CAP_ALLOW,
    PRIVILEGED_MASK,
    RISK_CONFIG,
    RISK_DATALOSS,
    RISK_MANAGETRUST,
)

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

T = TypeVar("T")
CAP_PROHIBIT = -1000
LOGIN_AS = "moodle/user:loginas"
# Below category level every teacher needs RISK_XSS and RISK_PERSONAL capabilities by design, and
# plugins flag student capabilities with them; config, trust and data loss reach beyond teaching.
LOCAL_PRIVILEGED_MASK = RISK_CONFIG | RISK_MANAGETRUST | RISK_DATALOSS
SITE_LEVELS = (SYSTEM_CONTEXT_LEVEL, 40)  # system, course category
LEVEL_NAMES = {10: "system", 30: "user", 40: "category", 50: "course", 70: "module", 80: "block"}
MAX_ROWS = 50_000
FUNCTION_SAMPLE = 25


@dataclass(frozen=True)
class Bounded(Generic[T]):
    """At most ``limit`` rows of a query, and whether more existed."""

    rows: tuple[T, ...]
    truncated: bool


@dataclass(frozen=True)
class Place:
    """A context: ``system``, ``category:3``, ``course:12``, ``module:40``, ``context:77``."""

    contextid: int
    contextlevel: int
    instanceid: int

    @property
    def label(self) -> str:
        name = LEVEL_NAMES.get(self.contextlevel)
        if name == "system":
            return "system"
        return f"{name}:{self.instanceid}" if name else f"context:{self.contextid}"


@dataclass(frozen=True)
class Assignment:
    """A role assignment of a role whose definition allows risky capabilities."""

    userid: int
    roleid: int
    shortname: str
    risk_mask: int
    place: Place
    component: str


@dataclass(frozen=True)
class OverrideGrant:
    """An override allowing a risky capability the role's definition does not, and one user
    assigned that role in a context where it applies."""

    override_id: int
    userid: int
    roleid: int
    shortname: str
    capability: str
    riskbitmask: int
    place: Place


@dataclass(frozen=True)
class LoginAsHolder:
    """A user whose role allows ``moodle/user:loginas`` at ``place`` (not prohibited above)."""

    userid: int
    roleid: int
    shortname: str
    place: Place


@dataclass(frozen=True)
class TokenService:
    tokenid: int
    serviceid: int
    custom: bool  # external_services.component is NULL: an administrator-made service
    functions: int
    sample: tuple[str, ...]


def _place(row: RowMapping, prefix: str = "") -> Place:
    return Place(*(int(row[prefix + k]) for k in ("contextid", "contextlevel", "instanceid")))


class Privileges:
    """Each answer is read once per site (``site.privileges``): the inventory of each scope and
    the checks share it."""

    #: The most rows any one list holds; a longer list is cut and says so (``truncated``).
    max_rows: int = MAX_ROWS

    def __init__(self, site: MoodleSite) -> None:
        self.site = site
        self.db = site.db
        self._names: dict[tuple[int, int], str] = {}
        self._asked: dict[int, set[int]] = {}

    def _bounded(
        self, statement: sa.Select[Any], limit: int | None, purpose: str
    ) -> Bounded[RowMapping]:
        limit = self.max_rows if limit is None else limit
        rows = self.db.fetch_all(statement.limit(limit + 1), f"{purpose} (at most {limit})")
        return Bounded(tuple(rows[:limit]), len(rows) > limit)

    @once_per_site
    def risky_assignments(
        self,
        site_mask: int = PRIVILEGED_MASK,
        local_mask: int = LOCAL_PRIVILEGED_MASK,
        limit: int | None = None,
    ) -> Bounded[Assignment]:
        """Assignments at system or category level of roles allowing a ``site_mask`` risk, and
        in any other context of roles allowing a ``local_mask`` risk."""
        site_roles = self.site.roles.role_risk_masks(site_mask)
        statement = self._risky_statement(site_mask, local_mask)
        if statement is None:
            return Bounded((), False)
        found = self._bounded(
            statement,
            limit,
            "privileges: assignments of roles with risky capabilities, any context",
        )
        rows = tuple(
            Assignment(
                userid=int(r["userid"]),
                roleid=int(r["roleid"]),
                shortname=self._shortname(int(r["roleid"])),
                risk_mask=site_roles[int(r["roleid"])],
                place=_place(r),
                component=str(r["component"] or ""),
            )
            for r in found.rows
        )
        return Bounded(rows, found.truncated)

    def _risky_statement(self, site_mask: int, local_mask: int) -> sa.Select[Any] | None:
        risks = self.site.roles.role_risk_masks
        site_roles, local_roles = risks(site_mask), risks(local_mask)
        if not site_roles:
            return None
        ra, context = self.db.table("role_assignments"), self.db.table("context")
        wanted = sa.and_(
            context.c.contextlevel.in_(SITE_LEVELS), ra.c.roleid.in_(sorted(site_roles))
        )
        if local_roles:  # without them the few system and category contexts lead (their index)
            wanted = sa.or_(wanted, ra.c.roleid.in_(sorted(local_roles)))
        return (
            sa.select(ra.c.userid, ra.c.roleid, ra.c.component, ra.c.contextid)
            .add_columns(context.c.contextlevel, context.c.instanceid)
            .select_from(ra.join(context, context.c.id == ra.c.contextid))
            .where(wanted)
            .order_by(ra.c.id)
        )

    def holder_ids(self, local_mask: int = LOCAL_PRIVILEGED_MASK) -> sa.Select[Any]:
        """One SQL set of every user id that may hold a grant: assignments of risky roles (in
        other than system and category contexts only for a ``local_mask`` risk, as
        ``risky_assignments``), users reached by risky overrides, "log in as" holders, token
        owners and site administrators. The inventory reads its users and their MFA factors
        joined against this set, in one query each, whatever the number of privileged users;
        it is a superset (every token owner), never a subset, of the users with a grant."""
        parts: list[sa.Select[Any]] = []
        risky = self._risky_statement(PRIVILEGED_MASK, local_mask)
        statements = [risky] if risky is not None else []
        statements += [self._override_statement(PRIVILEGED_MASK), self._login_as_statement()]
        for statement in statements:
            inner = statement.order_by(None).subquery()
            parts.append(sa.select(inner.c.userid.label("userid")))
        if self.db.has_table("external_tokens"):
            tokens = self.db.table("external_tokens")
            parts.append(sa.select(tokens.c.userid.label("userid")))
        admins = sorted(self.site.site_admin_ids) or [0]
        user = self.db.table("user")
        parts.append(sa.select(user.c.id.label("userid")).where(user.c.id.in_(admins)))
        union = sa.union(*parts).subquery("holders")
        return sa.select(union.c.userid)

    def place_names(self, places: Iterable[Place]) -> dict[int, str]:
        """Each context as a person names it, by context id: ``System``, ``Category: Science``,
        ``Course: PHYS101``; other levels by their level and instance id."""
        places = set(places)
        ids = {
            level: {p.instanceid for p in places if p.contextlevel == level} for level in (40, 50)
        }
        known = self._names  # read once per site: each context's name is asked for once
        for level, table, column in (
            (40, "course_categories", "name"),
            (50, "course", "shortname"),
        ):
            asked = self._asked.get(level)
            wanted = ids[level] - (asked or set())
            if asked is not None and not wanted:
                continue
            self._asked[level] = (asked or set()) | wanted
            t = self.db.table(table)
            rows = self.db.fetch_all(
                sa.select(t.c.id, t.c[column].label("name")).where(
                    t.c.id.in_(sorted(wanted) or [0])
                ),
                f"privileges: names of the {table} rows grants are in",
            )
            known |= {(level, int(r["id"])): str(r["name"]) for r in rows}
        names: dict[int, str] = {}
        for p in places:
            kind = LEVEL_NAMES.get(p.contextlevel, "").capitalize()
            name = known.get((p.contextlevel, p.instanceid))
            if kind == "System":
                names[p.contextid] = "System"
            elif not kind:
                names[p.contextid] = f"Context {p.contextid}"
            else:
                names[p.contextid] = f"{kind}: {name}" if name else f"{kind} {p.instanceid}"
        return names

    def _shortname(self, roleid: int) -> str:
        role = self.site.roles.role(roleid)
        return role.shortname if role else f"role{roleid}"

    def _overlap(self, a: Any, b: Any) -> sa.ColumnElement[bool]:
        """Two contexts on one branch: the same, or either below the other."""
        below = a.c.path.like(b.c.path.concat("/%"))
        return sa.or_(a.c.path == b.c.path, below, b.c.path.like(a.c.path.concat("/%")))

    def _override_statement(self, mask: int) -> sa.Select[Any]:
        rc, cap = self.db.table("role_capabilities"), self.db.table("capabilities")
        ra, context = self.db.table("role_assignments"), self.db.table("context")
        defined = rc.alias("definition")
        c, sc = context.alias("c"), context.alias("sc")
        in_definition = sa.exists().where(
            defined.c.roleid == rc.c.roleid,
            defined.c.capability == rc.c.capability,
            defined.c.contextid == self.site.system_context_id,
            defined.c.permission == CAP_ALLOW,
        )
        return (
            sa.select(rc.c.id, rc.c.roleid, rc.c.capability, cap.c.riskbitmask, ra.c.userid)
            .add_columns(c.c.id.label("contextid"), c.c.contextlevel, c.c.instanceid)
            .distinct()
            .select_from(rc.join(cap, cap.c.name == rc.c.capability))
            .join(c, c.c.id == rc.c.contextid)
            .join(sc, self._overlap(c, sc))
            .join(ra, sa.and_(ra.c.contextid == sc.c.id, ra.c.roleid == rc.c.roleid))
            .where(rc.c.permission == CAP_ALLOW, rc.c.contextid != self.site.system_context_id)
            .where(cap.c.riskbitmask.bitwise_and(mask) != 0, ~in_definition)
            .order_by(rc.c.id, ra.c.userid)
        )

    @once_per_site
    def override_grants(
        self, mask: int = PRIVILEGED_MASK, limit: int | None = None
    ) -> Bounded[OverrideGrant]:
        """Overrides allowing a ``mask`` risk the role's definition does not allow, with each
        user assigned that role in an overlapping context (where the override takes effect)."""
        found = self._bounded(
            self._override_statement(mask),
            limit,
            f"privileges: users reached by overrides allowing risk {mask} beyond the role",
        )
        rows = tuple(
            OverrideGrant(
                override_id=int(r["id"]),
                userid=int(r["userid"]),
                roleid=int(r["roleid"]),
                shortname=self._shortname(int(r["roleid"])),
                capability=str(r["capability"]),
                riskbitmask=int(r["riskbitmask"]),
                place=_place(r),
            )
            for r in found.rows
        )
        return Bounded(rows, found.truncated)

    @once_per_site
    def _login_as_roles(self) -> tuple[int, ...]:
        """Roles allowing ``moodle/user:loginas`` in some context (by definition or override)."""
        rc = self.db.table("role_capabilities")
        rows = self.db.fetch_all(
            sa.select(rc.c.roleid)
            .where(rc.c.capability == LOGIN_AS, rc.c.permission == CAP_ALLOW)
            .distinct()
            .order_by(rc.c.roleid),
            "privileges: roles allowing moodle/user:loginas in some context",
        )
        return tuple(int(r["roleid"]) for r in rows)

    def _login_as_statement(self) -> sa.Select[Any]:
        """The assignments of the roles allowing "log in as" (their ids written in, so the
        planner reads them through the role index, not every assignment of every context)."""
        rc, ra = self.db.table("role_capabilities"), self.db.table("role_assignments")
        context = self.db.table("context")
        a, c, pc = context.alias("a"), context.alias("c"), context.alias("pc")
        prohibit = rc.alias("prohibit")
        prohibited = sa.exists().select_from(prohibit.join(pc, pc.c.id == prohibit.c.contextid))
        prohibited = prohibited.where(
            prohibit.c.roleid == ra.c.roleid,
            prohibit.c.capability == LOGIN_AS,
            prohibit.c.permission == CAP_PROHIBIT,
            sa.or_(a.c.path == pc.c.path, a.c.path.like(pc.c.path.concat("/%"))),
        )
        return (
            sa.select(ra.c.userid, ra.c.roleid)
            .add_columns(*(a.c[k].label(f"a_{k}") for k in ("contextlevel", "instanceid", "depth")))
            .add_columns(*(c.c[k].label(f"c_{k}") for k in ("contextlevel", "instanceid", "depth")))
            .add_columns(a.c.id.label("a_contextid"), c.c.id.label("c_contextid"))
            .distinct()
            .select_from(ra.join(a, a.c.id == ra.c.contextid))
            .join(rc, sa.and_(rc.c.roleid == ra.c.roleid, rc.c.capability == LOGIN_AS))
            .join(c, sa.and_(c.c.id == rc.c.contextid, self._overlap(a, c)))
            .where(ra.c.roleid.in_(self._login_as_roles() or (0,)))
            .where(rc.c.permission == CAP_ALLOW, ~prohibited)
            .order_by(ra.c.userid, ra.c.roleid, a.c.id, c.c.id)
        )

    @once_per_site
    def login_as_holders(self, limit: int | None = None) -> Bounded[LoginAsHolder]:
        """Users whose role allows "log in as" in a context overlapping the assignment's,
        unless the capability is prohibited for that role at the assignment's context or above.
        The place is the narrower of the two contexts: where the ability applies."""
        found = self._bounded(
            self._login_as_statement(),
            limit,
            "privileges: users whose role allows moodle/user:loginas",
        )
        holders = {}
        for r in found.rows:
            deeper = "a_" if int(r["a_depth"]) >= int(r["c_depth"]) else "c_"
            roleid, place = int(r["roleid"]), _place(r, deeper)
            holder = LoginAsHolder(int(r["userid"]), roleid, self._shortname(roleid), place)
            holders[(holder.userid, holder.roleid, holder.place)] = holder
        return Bounded(tuple(holders.values()), found.truncated)

    @once_per_site
    def token_services(self, sample: int = FUNCTION_SAMPLE) -> Mapping[int, TokenService]:
        """Per token id, its service and the functions it opens (count and first ``sample``)."""
        tokens, services = self.db.table("external_tokens"), self.db.table("external_services")
        functions = self.db.table("external_services_functions")
        rows = self.db.fetch_all(
            sa.select(tokens.c.id, tokens.c.externalserviceid, services.c.component)
            .select_from(tokens.join(services, services.c.id == tokens.c.externalserviceid))
            .order_by(tokens.c.id),
            "privileges: the service of each token (no token values)",
        )
        serviceids = sorted({int(r["externalserviceid"]) for r in rows})
        counts = {
            int(r["externalserviceid"]): int(r["n"])
            for r in self.db.fetch_all(
                sa.select(functions.c.externalserviceid, sa.func.count().label("n"))
                .where(functions.c.externalserviceid.in_(serviceids or [0]))
                .group_by(functions.c.externalserviceid),
                "privileges: functions per service of a token",
            )
        }
        names = {
            sid: tuple(
                str(r["functionname"])
                for r in self.db.fetch_all(
                    sa.select(functions.c.functionname)
                    .where(functions.c.externalserviceid == sid)
                    .order_by(functions.c.functionname)
                    .limit(sample),
                    f"privileges: first {sample} functions of service {sid}",
                )
            )
            for sid in serviceids
        }
        return MappingProxyType(
            {
                int(r["id"]): TokenService(
                    int(r["id"]), sid, r["component"] in (None, ""), counts.get(sid, 0), names[sid]
                )
                for r in rows
                for sid in [int(r["externalserviceid"])]
            }
        )
