"""The queries behind the complete populations auditors test for a period (SOC 2 Type II).

Every query is bounded by the period on an indexed time column (``config_log.timemodified``,
``logstore_standard_log.timecreated``) or reads a small table, and is streamed in keyset pages
by id, so memory stays bounded on a site with millions of log rows. Secrets never leave this
module: config_log values of secret settings are masked here (real sites keep old salts and
private keys in config_log), and web-service token values are never selected. Rows leave as
plain dicts keyed by the populations' own column names (``userid``, ``deleted`` as a bool), so
the population builders above the site layer know no Moodle table, column or event name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from moodle_soc.site.logother import decode_other, login_failure_reason
from moodle_soc.site.moodle import SYSTEM_CONTEXT_LEVEL
from moodle_soc.site.privileges import LEVEL_NAMES, SITE_LEVELS
from moodle_soc.site.roles import CAP_ALLOW, RISK_CONFIG, RISK_MANAGETRUST
from moodle_soc.site.secrets import is_secret_setting, mask, reveals

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

Row = dict[str, Any]
STANDARD_LOG = "logstore_standard_log"
USER_CREATED = "\\core\\event\\user_created"
USER_DELETED = "\\core\\event\\user_deleted"
ROLE_ASSIGNED = "\\core\\event\\role_assigned"
ROLE_UNASSIGNED = "\\core\\event\\role_unassigned"
LOGIN_FAILED = "\\core\\event\\user_login_failed"
#: A role change is privileged when it is made at system or category level (SITE_LEVELS: it
#: reaches beyond one course), or when the role's definition allows a capability that changes
#: the site's configuration or other users' trust (RISK_CONFIG, RISK_MANAGETRUST), as managers'
#: does.
ADMIN_RISKS = RISK_CONFIG | RISK_MANAGETRUST
REASONS = {1: "no such user", 2: "suspended", 3: "wrong password", 4: "locked out",
           5: "not authorised", 6: "reCAPTCHA failed"}  # fmt: skip
_ID_CHUNK = 1000
ACCOUNT_EVENTS = {"created": USER_CREATED, "deleted": USER_DELETED}
#: Notes a population carries when its source is missing from the site.
NO_STANDARD_LOG = f"The {STANDARD_LOG} table does not exist: log events are missing."
NO_TOKENS = "This site has no external_tokens table."


@dataclass(frozen=True)
class Window:
    """A period as Unix times: ``start`` inclusive, ``end`` exclusive (UTC calendar days)."""

    start: int
    end: int

    @classmethod
    def for_days(cls, first: date, last: date) -> Window:
        begin = datetime.combine(first, time.min, UTC)
        after = datetime.combine(last + timedelta(days=1), time.min, UTC)
        return cls(int(begin.timestamp()), int(after.timestamp()))

    def holds(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        return sa.and_(column >= self.start, column < self.end)


def iso(timestamp: Any) -> str | None:
    """A Unix time as ``2026-11-29T07:16:40Z``; None for Moodle's "never" (0 or NULL)."""
    if not timestamp:
        return None
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def context_label(level: Any, instance: Any) -> str:
    name = LEVEL_NAMES.get(int(level or 0), "context")
    return "system" if name == "system" else f"{name}:{int(instance or 0)}"


def _other(raw: str | None) -> dict[str, Any]:
    try:
        value = decode_other(raw)
    except ValueError:  # one undecodable row keeps its other columns
        return {}
    return value if isinstance(value, dict) else {}


def masked(name: str, value: Any) -> Any:
    """A config_log value, or the mask for a secret setting's value (``secrets.mask``)."""
    return mask(name, value)


def _admin_ids(value: Any) -> set[int]:
    """``siteadmins`` is a comma-separated list of user ids."""
    return {int(part) for part in str(value or "").split(",") if part.strip().isdigit()}


def _user_row(row: RowMapping) -> Row:
    values: Row = {"userid": int(row["id"])}
    values.update({key: row[key] for key in ("username", "firstname", "lastname", "auth")})
    values.update(deleted=bool(row["deleted"]), suspended=bool(row["suspended"]))
    return values | {"timecreated": row["timecreated"], "timemodified": row["timemodified"]}


class PopulationQueries:
    """One method per population source; each yields plain rows in a stable order."""

    def __init__(self, site: MoodleSite) -> None:
        self.db = site.db

    @property
    def has_standard_log(self) -> bool:
        return self.db.has_table(STANDARD_LOG)

    @property
    def has_tokens(self) -> bool:
        return self.db.has_table("external_tokens")

    def _stream(self, statement: sa.Select[Any], key: Any, purpose: str) -> Iterator[RowMapping]:
        return self.db.stream(statement, key, purpose)

    def _events(self, names: Iterable[str], window: Window, *columns: Any) -> sa.Select[Any]:
        log = self.db.table(STANDARD_LOG)
        base = [log.c.id, log.c.timecreated, log.c.userid, log.c.relateduserid, log.c.other]
        return sa.select(*base, *columns).where(
            log.c.eventname.in_(sorted(names)), window.holds(log.c.timecreated)
        )

    # --- accounts -----------------------------------------------------------------------------

    def _user_columns(self) -> list[Any]:
        user = self.db.table("user")
        names = ("id", "username", "firstname", "lastname", "auth", "deleted", "suspended")
        return [*(user.c[n] for n in names), user.c.timecreated, user.c.timemodified]

    def users_created(self, window: Window) -> Iterator[Row]:
        """``user`` rows whose ``timecreated`` is in the period (deleted users included)."""
        user = self.db.table("user")
        statement = sa.select(*self._user_columns()).where(window.holds(user.c.timecreated))
        purpose = "populations: users created in the period"
        return map(_user_row, self._stream(statement, user.c.id, purpose))

    def users_deleted_or_suspended(self, window: Window) -> Iterator[Row]:
        """Users now deleted or suspended whose row was last modified in the period."""
        user = self.db.table("user")
        statement = sa.select(*self._user_columns()).where(
            sa.or_(user.c.deleted == 1, user.c.suspended == 1), window.holds(user.c.timemodified)
        )
        purpose = "populations: deleted or suspended users modified in the period"
        return map(_user_row, self._stream(statement, user.c.id, purpose))

    def account_events(
        self, change: Literal["created", "deleted"], window: Window
    ) -> Iterator[Row]:
        """user_created / user_deleted events: the account, who acted, and from where."""
        eventname = ACCOUNT_EVENTS[change]
        log = self.db.table(STANDARD_LOG)
        actor = self.db.table("user").alias("actor")
        statement = self._events(
            [eventname], window, log.c.objectid, log.c.origin, actor.c.username.label("actor")
        ).select_from(log.outerjoin(actor, actor.c.id == log.c.userid))
        purpose = f"populations: {eventname} events in the period"
        for row in self._stream(statement, log.c.id, purpose):
            other = _other(row["other"])
            yield {
                "event_id": int(row["id"]),
                "time": int(row["timecreated"]),
                "userid": int(row["objectid"] or row["relateduserid"] or 0),
                "logged_username": other.get("username"),
                "actor_id": int(row["userid"] or 0),
                "actor": row["actor"],
                "origin": row["origin"],
            }

    def usernames(self, ids: Iterable[int]) -> dict[int, str]:
        user = self.db.table("user")
        wanted, found = sorted(set(ids)), {}
        for at in range(0, len(wanted), _ID_CHUNK):
            rows = self.db.fetch_all(
                sa.select(user.c.id, user.c.username).where(
                    user.c.id.in_(wanted[at : at + _ID_CHUNK])
                ),
                "populations: usernames of the users a population names",
            )
            found.update({int(r["id"]): str(r["username"]) for r in rows})
        return found

    # --- privileged access --------------------------------------------------------------------

    def admin_role_ids(self) -> sa.Select[Any]:
        """Roles whose system-level definition allows a RISK_CONFIG or RISK_MANAGETRUST cap."""
        rc, cap = self.db.table("role_capabilities"), self.db.table("capabilities")
        context = self.db.table("context")
        return (
            sa.select(rc.c.roleid)
            .select_from(
                rc.join(cap, cap.c.name == rc.c.capability).join(
                    context, context.c.id == rc.c.contextid
                )
            )
            .where(
                rc.c.permission == CAP_ALLOW,
                cap.c.riskbitmask.bitwise_and(ADMIN_RISKS) != 0,
                context.c.contextlevel == SYSTEM_CONTEXT_LEVEL,
            )
            .distinct()
        )

    def role_changes(self, window: Window) -> Iterator[Row]:
        """Privileged role_assigned / role_unassigned events in the period."""
        log, role = self.db.table(STANDARD_LOG), self.db.table("role")
        target, actor = self.db.table("user").alias("target"), self.db.table("user").alias("actor")
        statement = (
            self._events(
                [ROLE_ASSIGNED, ROLE_UNASSIGNED],
                window,
                log.c.eventname,
                log.c.objectid,
                log.c.contextid,
                log.c.contextlevel,
                log.c.contextinstanceid,
                role.c.shortname,
                target.c.username.label("target"),
                actor.c.username.label("actor"),
            )
            .select_from(
                log.outerjoin(role, role.c.id == log.c.objectid)
                .outerjoin(target, target.c.id == log.c.relateduserid)
                .outerjoin(actor, actor.c.id == log.c.userid)
            )
            .where(
                sa.or_(
                    log.c.contextlevel.in_(SITE_LEVELS),
                    log.c.objectid.in_(self.admin_role_ids()),
                )
            )
        )
        purpose = "populations: privileged role assignments and removals in the period"
        for row in self._stream(statement, log.c.id, purpose):
            yield {
                "source": STANDARD_LOG,
                "source_id": int(row["id"]),
                "time": int(row["timecreated"]),
                "change": "assigned" if row["eventname"] == ROLE_ASSIGNED else "unassigned",
                "role": row["shortname"],
                "roleid": row["objectid"],
                "userid": row["relateduserid"],
                "username": row["target"],
                "context": context_label(row["contextlevel"], row["contextinstanceid"]),
                "contextlevel": row["contextlevel"],
                "component": str(_other(row["other"]).get("component") or ""),
                "actor_id": int(row["userid"] or 0),
                "actor": row["actor"],
            }

    def siteadmin_changes(self, window: Window) -> Iterator[Row]:
        """Additions to and removals from ``siteadmins`` recorded in config_log, one row per user
        shaped like a ``role_changes`` row: site administration is a setting, not a role."""
        for change in self.config_log(window, name="siteadmins"):
            before, after = _admin_ids(change["oldvalue"]), _admin_ids(change["value"])
            moves = [(u, "assigned") for u in after - before]
            moves += [(u, "unassigned") for u in before - after]
            for userid, what in sorted(moves):
                yield {
                    "source": "config_log",
                    "source_id": change["id"],
                    "time": change["time"],
                    "change": what,
                    "role": "siteadmin",
                    "roleid": None,
                    "userid": userid,
                    "username": None,
                    "context": "system",
                    "contextlevel": SYSTEM_CONTEXT_LEVEL,
                    "component": "siteadmins",
                    "actor_id": change["actor_id"],
                    "actor": change["actor"],
                }

    # --- configuration ------------------------------------------------------------------------

    def config_log(self, window: Window, *, name: str | None = None) -> Iterator[Row]:
        """config_log rows in the period (secret values masked), optionally of one setting."""
        log, actor = self.db.table("config_log"), self.db.table("user").alias("actor")
        statement = (
            sa.select(*log.c, actor.c.username.label("actor"))
            .select_from(log.outerjoin(actor, actor.c.id == log.c.userid))
            .where(window.holds(log.c.timemodified))
        )
        if name is not None:  # core settings are stored with plugin NULL (or 'core')
            statement = statement.where(
                log.c.name == name, sa.or_(log.c.plugin.is_(None), log.c.plugin == "core")
            )
        purpose = f"populations: config_log rows{f' of {name}' if name else ''} in the period"
        for row in self._stream(statement, log.c.id, purpose):
            setting = str(row["name"])
            yield {
                "id": int(row["id"]),
                "time": int(row["timemodified"]),
                "plugin": row["plugin"] or "core",
                "name": setting,
                "oldvalue": masked(setting, row["oldvalue"]),
                "value": masked(setting, row["value"]),
                "masked": is_secret_setting(setting)
                and (reveals(row["value"]) or reveals(row["oldvalue"])),
                "actor_id": int(row["userid"] or 0),
                "actor": row["actor"],
            }

    # --- web services -------------------------------------------------------------------------

    def tokens(self, window: Window) -> Iterator[Row]:
        """Tokens that existed by the period's end: properties only, never ``token`` or
        ``privatetoken`` (deleted tokens are gone from the table)."""
        tokens, service = self.db.table("external_tokens"), self.db.table("external_services")
        owner = self.db.table("user").alias("owner")
        names = ["id", "userid", "tokentype", "creatorid", "iprestriction", "validuntil"]
        names += ["timecreated", "lastaccess"]
        columns = [tokens.c[n] for n in names]
        has_name = self.db.has_column("external_tokens", "name")  # 4.3+
        name = tokens.c.name if has_name else sa.null().label("name")
        statement = (
            sa.select(*columns, name, service.c.shortname.label("service"), owner.c.username)
            .select_from(
                tokens.outerjoin(service, service.c.id == tokens.c.externalserviceid).outerjoin(
                    owner, owner.c.id == tokens.c.userid
                )
            )
            .where(tokens.c.timecreated < window.end)
        )
        return map(dict, self._stream(statement, tokens.c.id, "populations: web-service tokens"))

    # --- authentication -----------------------------------------------------------------------

    def login_failures(self, window: Window) -> Iterator[Row]:
        """Failed logins in the period: time, IP, the username tried and the reason code."""
        log = self.db.table(STANDARD_LOG)
        statement = self._events([LOGIN_FAILED], window, log.c.ip)
        for row in self._stream(statement, log.c.id, "populations: failed logins in the period"):
            other = _other(row["other"])
            yield {
                "time": int(row["timecreated"]),
                "ip": str(row["ip"] or ""),
                "username": str(other.get("username") or ""),
                "userid": int(row["userid"] or 0),
                "reason": login_failure_reason(other),
            }
