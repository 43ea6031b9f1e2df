"""The queries behind an audit-log review: aggregates pushed down to the database.

A real standard log holds tens to hundreds of millions of rows, so nothing here loads it. The
period's counts come from one ``GROUP BY`` pass over its ``timecreated`` range (the column
Moodle indexes); the few event kinds a review reads row by row (failed logins, administrative
events) stream in keyset pages by ``id``; gaps in the ``id`` sequence come from one window
function over the primary key. Every query is portable SQLAlchemy Core (PostgreSQL, MySQL and
MariaDB, and SQLite for the synthetic site) and recorded as provenance by ``Database``.

Only this module knows the event names and the ``other`` column's keys: rows leave as plain
values keyed by the review's own names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from moodle_soc.site.logother import decode_other, login_failure_reason
from moodle_soc.site.moodle import SYSTEM_CONTEXT_LEVEL

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.site.populations import Window

STANDARD_LOG = "logstore_standard_log"
DAY = 86400
_E = "\\core\\event\\"
LOGGED_IN = _E + "user_loggedin"
LOGIN_FAILED = _E + "user_login_failed"
LOGGED_IN_AS = _E + "user_loggedinas"
CONFIG_CHANGED = _E + "config_log_created"
PASSWORD_UPDATED = _E + "user_password_updated"
USER_CREATED = _E + "user_created"
USER_DELETED = _E + "user_deleted"
ROLE_ASSIGNED = _E + "role_assigned"
ROLE_UNASSIGNED = _E + "role_unassigned"
TOKEN_CREATED = _E + "webservice_token_created"
WS_LOGIN_FAILED = _E + "webservice_login_failed"
#: Changes to role definitions and capabilities (moodle-facts §4.2).
ROLE_DEFINITION_EVENTS = frozenset(
    _E + name
    for name in (
        "role_created", "role_updated", "role_deleted", "role_capabilities_updated",
        "capability_assigned", "capability_unassigned", "role_allow_assign_updated",
        "role_allow_override_updated", "role_allow_switch_updated", "role_allow_view_updated",
    )
)  # fmt: skip
#: The review's daily counters and the event names each one counts.
COUNTERS: dict[str, frozenset[str]] = {
    "successful_logins": frozenset({LOGGED_IN}),
    "failed_logins": frozenset({LOGIN_FAILED}),
    "config_changes": frozenset({CONFIG_CHANGED}),
    "role_changes": ROLE_DEFINITION_EVENTS,
    "role_assignments": frozenset({ROLE_ASSIGNED, ROLE_UNASSIGNED}),
    "users_created": frozenset({USER_CREATED}),
    "users_deleted": frozenset({USER_DELETED}),
    "password_changes": frozenset({PASSWORD_UPDATED}),
    "loginas_sessions": frozenset({LOGGED_IN_AS}),
    "tokens_created": frozenset({TOKEN_CREATED}),
    "ws_login_failures": frozenset({WS_LOGIN_FAILED}),
}
#: Administrative events a review reads one by one (their actor, target and context matter).
DETAIL_EVENTS = frozenset(
    {LOGGED_IN_AS, PASSWORD_UPDATED, ROLE_ASSIGNED, ROLE_UNASSIGNED, TOKEN_CREATED, USER_DELETED}
)
MAX_GAPS = 1000  # gap ranges listed; the total of missing ids is always exact
GAP_BLOCK = 65536  # ids per block when counting the ids present


@dataclass(frozen=True)
class DayCount:
    """One (day, event) group of the period: how many rows, and their id range."""

    day: int  # Unix time of 00:00 UTC
    eventname: str
    rows: int
    acting_as: int  # rows written while "logged in as" someone (realuserid set)
    first_id: int
    last_id: int


@dataclass(frozen=True)
class FailedLogin:
    id: int
    time: int
    userid: int
    ip: str
    username: str | None
    reason: int | None
    malformed: bool  # ``other`` could not be decoded


@dataclass(frozen=True)
class AdminEvent:
    id: int
    time: int
    eventname: str
    userid: int
    relateduserid: int | None
    realuserid: int | None
    contextlevel: int
    objectid: int | None
    ip: str
    other: dict[str, Any]
    malformed: bool


@dataclass(frozen=True)
class RoleEventRow:
    """A role definition event's log row, for ``role_history.role_change``."""

    row: dict[str, Any]


@dataclass(frozen=True)
class IdGap:
    after: int  # the last id present before the gap
    before: int  # the first id present after it

    @property
    def missing(self) -> int:
        return self.before - self.after - 1


@dataclass(frozen=True)
class LoginSource:
    """A user's successful logins from one IP: the first ever, and how many in the period."""

    userid: int
    ip: str
    first: int
    in_period: int


def _decoded(raw: Any) -> tuple[dict[str, Any], bool]:
    """``other`` as a dict, and whether it was malformed (never fatal: the row still counts)."""
    try:
        value = decode_other(None if raw is None else str(raw))
    except ValueError:
        return {}, True
    return (value if isinstance(value, dict) else {}), False


class LogReviewQueries:
    def __init__(self, site: MoodleSite, *, chunk_size: int = 5000) -> None:
        self.site = site
        self.db = site.db
        self.chunk_size = chunk_size  # rows per keyset page of a stream

    @property
    def has_standard_log(self) -> bool:
        return self.db.has_table(STANDARD_LOG)

    def _log(self) -> sa.TableClause:
        return self.db.table(STANDARD_LOG)

    def day_counts(self, window: Window, after_id: int | None = None) -> list[DayCount]:
        """Rows per UTC day and event name in ``window``: one pass over the time index (only
        the rows with an id above ``after_id`` when given: an incremental re-run)."""
        log = self._log()
        newer = sa.true() if after_id is None else log.c.id > after_id
        day = (log.c.timecreated - log.c.timecreated % DAY).label("day")
        acting = sa.func.sum(sa.case((log.c.realuserid.is_not(None), 1), else_=0))
        rows = self.db.fetch_all(
            sa.select(
                day,
                log.c.eventname,
                sa.func.count().label("n"),
                acting.label("acting"),
                sa.func.min(log.c.id).label("first_id"),
                sa.func.max(log.c.id).label("last_id"),
            )
            .where(window.holds(log.c.timecreated), newer)
            .group_by(day, log.c.eventname)
            .order_by(day, log.c.eventname),
            "logs: rows per day and event in the period",
        )
        return [
            DayCount(
                int(r["day"]),
                str(r["eventname"]),
                int(r["n"]),
                int(r["acting"] or 0),
                int(r["first_id"]),
                int(r["last_id"]),
            )
            for r in rows
        ]

    def id_gaps(self, first_id: int, last_id: int) -> tuple[int, list[IdGap]]:
        """Ids missing between ``first_id`` and ``last_id`` (rows deleted from the log): their
        exact total, and the first ``MAX_GAPS`` gaps. One count over the primary key gives the
        total; when ids are missing, one grouped pass counts them per block of ``GAP_BLOCK``
        ids and only the blocks short of ids are read again, with one ``LEAD(id)`` window per
        run of them (a window over the whole range is several times slower on MariaDB)."""
        present_ids, _ = self.ids_in_range(first_id, last_id, "the period's id range")
        if present_ids >= last_id - first_id + 1:
            return 0, []
        log = self._log()
        block = ((log.c.id - first_id) // GAP_BLOCK).label("block")
        rows = self.db.fetch_all(
            sa.select(block, sa.func.count().label("n"))
            .where(log.c.id.between(first_id, last_id))
            .group_by(block)
            .order_by(block),
            "logs: ids present per block of the period's id range",
        )
        present = {int(r["block"]): int(r["n"]) for r in rows}
        missing = (last_id - first_id + 1) - sum(present.values())
        if missing <= 0:
            return 0, []
        gaps: list[IdGap] = []
        for low, high in _short_runs(present, first_id, last_id):
            if len(gaps) >= MAX_GAPS:
                break
            gaps += self._gaps_between(low, high, last_id, MAX_GAPS - len(gaps))
        return missing, gaps

    def _gaps_between(self, low: int, high: int, last_id: int, limit: int) -> list[IdGap]:
        """Gaps among the ids ``low``..``high`` and up to the next id present after ``high``
        (``last_id`` at most: it is present)."""
        log = self._log()
        top = high
        if high < last_id:
            after = self.db.scalar(
                sa.select(sa.func.min(log.c.id)).where(log.c.id > high, log.c.id <= last_id),
                "logs: the first id present after a block short of ids",
            )
            top = high if after is None else int(after)
        following = sa.func.lead(log.c.id).over(order_by=log.c.id).label("next_id")
        ranked = (
            sa.select(log.c.id.label("id"), following)
            .where(log.c.id.between(low, top))
            .subquery("ranked")
        )
        rows = self.db.fetch_all(
            sa.select(ranked.c.id, ranked.c.next_id)
            .where(ranked.c.next_id > ranked.c.id + 1)
            .order_by(ranked.c.id)
            .limit(limit),
            "logs: gaps in the id sequence of the period",
        )
        return [IdGap(int(r["id"]), int(r["next_id"])) for r in rows]

    def ids_in_range(
        self, first_id: int, last_id: int, what: str = "the cursor's id range"
    ) -> tuple[int, int | None]:
        """How many ids are present in ``first_id``..``last_id``, and the highest: one
        aggregate over the primary key."""
        log = self._log()
        [row] = self.db.fetch_all(
            sa.select(sa.func.count().label("n"), sa.func.max(log.c.id).label("top"))
            .select_from(log)
            .where(log.c.id.between(first_id, last_id)),
            f"logs: ids present in {what}",
        )
        return int(row["n"] or 0), None if row["top"] is None else int(row["top"])

    def rows_up_to(self, last_id: int, window: Window) -> int:
        """How many rows with an id at or below ``last_id`` fall in ``window``: one count over
        the time index (the days a moved cursor adds must hold none of the rows it covered)."""
        log = self._log()
        return int(
            self.db.scalar(
                sa.select(sa.func.count())
                .select_from(log)
                .where(window.holds(log.c.timecreated), log.c.id <= last_id),
                "logs: rows the cursor covered in the days added to its period",
            )
            or 0
        )

    def failure_candidates(
        self, window: Window, by: str, width: int, at_least: int, *, distinct: bool = False
    ) -> set[str]:
        """Values of ``by`` (``ip`` or ``userid``) with at least ``at_least`` failed logins in
        one ``width``-second bucket of ``window`` (distinct ``other`` values when ``distinct``:
        usernames tried, for spraying). A pattern of n attempts within ``width`` spans at most
        two buckets, so one holds at least half of them: with ``at_least`` = ceil(n / 2) no
        pattern is missed, and only its keys' rows need reading. One grouped query."""
        log = self._log()
        column = log.c[by]
        bucket = (log.c.timecreated - log.c.timecreated % width).label("bucket")
        counted = sa.func.count(sa.distinct(log.c.other)) if distinct else sa.func.count()
        statement = (
            sa.select(column.label("key"), bucket)
            .where(log.c.eventname == LOGIN_FAILED, window.holds(log.c.timecreated))
            .group_by(column, bucket)
            .having(counted >= at_least)
        )
        if by == "userid":
            statement = statement.where(column > 0)
        else:
            statement = statement.where(column.is_not(None), column != "")
        what = "usernames tried" if distinct else "failed logins"
        rows = self.db.fetch_all(statement, f"logs: {by}s with many {what} in one window")
        return {str(r["key"]) for r in rows}

    def failed_logins(
        self,
        window: Window,
        ids: tuple[int, int],
        *,
        ips: Iterable[str] | None = None,
        userids: Iterable[int] | None = None,
    ) -> Iterator[FailedLogin]:
        """Failed logins in ``window``, in id order, streamed in keyset pages; ``ids`` is the
        window's id range (from ``day_counts``), so every page is bounded on the key. With
        ``ips``/``userids``, only the rows of those IPs or accounts (candidates of a pattern)."""
        log = self._log()
        statement = sa.select(
            log.c.id, log.c.timecreated, log.c.userid, log.c.ip, log.c.other
        ).where(
            log.c.eventname == LOGIN_FAILED,
            window.holds(log.c.timecreated),
            log.c.id.between(*ids),
        )
        purpose = "logs: failed logins in the period"
        if ips is not None or userids is not None:
            statement = statement.where(
                sa.or_(
                    log.c.ip.in_(sorted(set(ips or ()))),
                    log.c.userid.in_(sorted(set(userids or ()))),
                )
            )
            purpose = "logs: failed logins of the IPs and accounts with many failures"
        for row in self.db.stream(statement, log.c.id, purpose, self.chunk_size):
            yield _failed_login(row)

    def detail_rows(
        self, window: Window, ids: tuple[int, int]
    ) -> Iterator[FailedLogin | AdminEvent | RoleEventRow]:
        """Failed logins, administrative events (``DETAIL_EVENTS``) and role definition events
        in ``window``, in id order: one keyset-paged stream, so the period's range is read
        once for all three (Moodle has no index on ``eventname``)."""
        log = self._log()
        names = ("id", "timecreated", "eventname", "userid", "relateduserid", "realuserid",
                 "contextlevel", "contextinstanceid", "objectid", "ip", "other")  # fmt: skip
        wanted = DETAIL_EVENTS | ROLE_DEFINITION_EVENTS | {LOGIN_FAILED}
        statement = sa.select(*(log.c[n] for n in names)).where(
            log.c.eventname.in_(sorted(wanted)),
            window.holds(log.c.timecreated),
            log.c.id.between(*ids),
        )
        purpose = "logs: failed logins, administrative and role events in the period"
        for row in self.db.stream(statement, log.c.id, purpose, self.chunk_size):
            if row["eventname"] == LOGIN_FAILED:
                yield _failed_login(row)
            elif row["eventname"] in ROLE_DEFINITION_EVENTS:
                yield RoleEventRow(dict(row))
            else:
                yield _admin_event(row)

    def admin_events(self, window: Window, ids: tuple[int, int]) -> Iterator[AdminEvent]:
        """Administrative events in ``window`` (``DETAIL_EVENTS``), streamed by id within the
        window's id range ``ids``."""
        log = self._log()
        names = ("id", "timecreated", "eventname", "userid", "relateduserid", "realuserid",
                 "contextlevel", "objectid", "ip", "other")  # fmt: skip
        statement = sa.select(*(log.c[n] for n in names)).where(
            log.c.eventname.in_(sorted(DETAIL_EVENTS)),
            window.holds(log.c.timecreated),
            log.c.id.between(*ids),
        )
        purpose = "logs: administrative events in the period"
        for row in self.db.stream(statement, log.c.id, purpose, self.chunk_size):
            yield _admin_event(row)

    def login_sources(self, window: Window, userids: Iterable[int]) -> list[LoginSource]:
        """For each (user, IP) pair of ``userids``' successful logins up to the period's end:
        the first login from it ever, and the logins from it in the period (one GROUP BY)."""
        ids = sorted(set(userids))
        if not ids:
            return []
        log = self._log()
        in_period = sa.func.sum(sa.case((log.c.timecreated >= window.start, 1), else_=0))
        rows = self.db.fetch_all(
            sa.select(
                log.c.userid,
                log.c.ip,
                sa.func.min(log.c.timecreated).label("first"),
                in_period.label("in_period"),
            )
            .where(
                log.c.eventname == LOGGED_IN,
                log.c.userid.in_(ids),
                log.c.timecreated < window.end,
            )
            .group_by(log.c.userid, log.c.ip)
            .order_by(log.c.userid, log.c.ip),
            "logs: login sources of privileged users",
        )
        return [
            LoginSource(int(r["userid"]), str(r["ip"] or ""), int(r["first"]), int(r["in_period"]))
            for r in rows
        ]

    def inactive_account_logins(self, window: Window) -> list[dict[str, Any]]:
        """Successful logins in ``window`` of accounts now deleted or suspended, per account."""
        log, user = self._log(), self.db.table("user")
        rows = self.db.fetch_all(
            sa.select(
                user.c.id,
                user.c.username,
                user.c.deleted,
                user.c.suspended,
                sa.func.count().label("logins"),
                sa.func.max(log.c.timecreated).label("last"),
            )
            .select_from(log.join(user, user.c.id == log.c.userid))
            .where(
                log.c.eventname == LOGGED_IN,
                window.holds(log.c.timecreated),
                sa.or_(user.c.deleted != 0, user.c.suspended != 0),
            )
            .group_by(user.c.id, user.c.username, user.c.deleted, user.c.suspended)
            .order_by(user.c.id),
            "logs: logins of accounts now deleted or suspended",
        )
        return [
            {
                "userid": int(r["id"]),
                "username": str(r["username"]),
                "state": "deleted" if r["deleted"] else "suspended",
                "logins": int(r["logins"]),
                "last": int(r["last"]),
            }
            for r in rows
        ]

    def oldest_row(self) -> int | None:
        return self.site.logs.standard_log_bounds().oldest

    def usernames(self, ids: Iterable[int]) -> dict[int, str]:
        return self.site.populations.usernames(ids)

    def role_names(self) -> dict[int, str]:
        """Role shortnames by id (a small table)."""
        role = self.db.table("role")
        rows = self.db.fetch_all(sa.select(role.c.id, role.c.shortname), "logs: role shortnames")
        return {int(r["id"]): str(r["shortname"]) for r in rows}

    def store_history(self) -> list[tuple[int, str | None, int]]:
        """Every recorded value of ``tool_log/enabled_stores``: (time, value, userid)."""
        if not self.db.has_table("config_log"):
            return []
        config = self.db.table("config_log")
        rows = self.db.fetch_all(
            sa.select(config.c.timemodified, config.c.value, config.c.userid)
            .where(config.c.plugin == "tool_log", config.c.name == "enabled_stores")
            .order_by(config.c.id),
            "logs: history of the enabled log stores",
        )
        return [
            (int(r["timemodified"]), None if r["value"] is None else str(r["value"]),
             int(r["userid"] or 0))
            for r in rows
        ]  # fmt: skip


def _short_runs(present: dict[int, int], first_id: int, last_id: int) -> Iterator[tuple[int, int]]:
    """Id ranges of consecutive blocks short of ids, each from the id before its first block
    (present: ``first_id``, or the last id of a full block) to its last block's end."""
    last_block = (last_id - first_id) // GAP_BLOCK
    run: int | None = None
    for index in range(last_block + 1):
        low = first_id + index * GAP_BLOCK
        size = min(low + GAP_BLOCK - 1, last_id) - low + 1
        short = present.get(index, 0) < size
        if short and run is None:
            run = index
        if not short and run is not None:
            yield max(first_id, first_id + run * GAP_BLOCK - 1), low - 1
            run = None
    if run is not None:
        yield max(first_id, first_id + run * GAP_BLOCK - 1), last_id


def _failed_login(row: Any) -> FailedLogin:
    other, malformed = _decoded(row["other"])
    username = other.get("username")
    return FailedLogin(
        id=int(row["id"]),
        time=int(row["timecreated"]),
        userid=int(row["userid"] or 0),
        ip=str(row["ip"] or ""),
        username=None if username is None else str(username),
        reason=login_failure_reason(other),
        malformed=malformed,
    )


def _admin_event(row: Any) -> AdminEvent:
    other, malformed = _decoded(row["other"])
    return AdminEvent(
        id=int(row["id"]),
        time=int(row["timecreated"]),
        eventname=str(row["eventname"]),
        userid=int(row["userid"] or 0),
        relateduserid=_int_or_none(row["relateduserid"]),
        realuserid=_int_or_none(row["realuserid"]),
        contextlevel=int(row["contextlevel"] or 0),
        objectid=_int_or_none(row["objectid"]),
        ip=str(row["ip"] or ""),
        other=other,
        malformed=malformed,
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def is_system_level(contextlevel: int) -> bool:
    return contextlevel == SYSTEM_CONTEXT_LEVEL
