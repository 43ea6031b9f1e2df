"""The queries behind an audit-log review: aggregates pushed down to the database.

A real standard log holds tens to hundreds of millions of rows, so nothing here loads it. The
period's counts come from one ``GROUP BY`` pass over its ``timecreated`` range (the column
Moodle indexes); the failed logins' counts, bursts and spraying candidates from one statement
that reads them once (``failure_analysis``, where the engine computes a shared part once); the
rows a review reads one by one (administrative events, and the failed logins a detector still
needs, or all of them where the engine would read the log again per part) stream in keyset
pages by ``id``; gaps in the ``id`` sequence come from counts over the primary key. Every
query is portable SQLAlchemy Core (PostgreSQL, MySQL and MariaDB, and SQLite for the synthetic
site) and recorded as provenance by ``Database``.

Only this module knows the event names and the ``other`` column's keys: rows leave as plain
values keyed by the review's own names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
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
BLOCKS_PER_QUERY = 256  # block counts per statement


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


Thresholds = tuple[int, int, int, int]  # burst failures, window (s), spraying names, window (s)
#: Which failed logins to read: those with one of these ``other`` values, IPs or accounts.
FailureFilter = tuple[set[str | None], set[str], set[int]]


@dataclass(frozen=True)
class FailureGroup:
    """The failed logins of one UTC day with one ``other`` value (decoded once for all)."""

    day: int
    other: str | None
    rows: int
    first_id: int
    last_id: int


@dataclass(frozen=True)
class Run:
    """A brute-force burst of one key: its first and last attempt and how many it holds."""

    key: str
    first: int
    last: int
    failures: int


@dataclass
class FailureAnalysis:
    groups: list[FailureGroup]
    bursts: dict[str, list[Run]]  # "ip" / "account" -> bursts of keys in time order
    #: "ip" / "account" -> keys whose times go back somewhere: their failures' id range
    disordered: dict[str, dict[str, tuple[int, int]]]
    spraying_ips: dict[str, tuple[int, int]]  # IPs that could be spraying: their id range


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
    def pushes_down_failures(self) -> bool:
        """Whether ``failure_analysis`` reads the failed logins once: PostgreSQL and SQLite
        compute a query's common table once for all its parts; MySQL and MariaDB read the
        log again for each, so there the review streams the failures instead."""
        return self.db.backend in ("postgresql", "sqlite")

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
        midnight = log.c.timecreated - log.c.timecreated % DAY
        source: sa.FromClause = log
        if self.db.backend == "postgresql":
            # PostgreSQL cannot estimate how many days an expression groups into (it guesses
            # a group per row), so it sorts the whole range on one core. Joined to the
            # period's days, the groups are known to be few: a parallel hashed pass.
            days = self._days(window)
            source, day = log.join(days, days.c.day == midnight), days.c.day.label("day")
        else:
            day = midnight.label("day")
        acting = sa.func.count(log.c.realuserid)  # rows with it set
        statement = (
            sa.select(
                day,
                log.c.eventname,
                sa.func.count().label("n"),
                acting.label("acting"),
                sa.func.min(log.c.id).label("first_id"),
                sa.func.max(log.c.id).label("last_id"),
            )
            .select_from(source)
            .where(window.holds(log.c.timecreated), newer)
            .group_by(day, log.c.eventname)
            .order_by(day, log.c.eventname)
        )
        with self._without_jit():
            rows = self.db.fetch_all(statement, "logs: rows per day and event in the period")
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

    @staticmethod
    def _days(window: Window) -> sa.TableValuedAlias:
        """The midnights of ``window``'s days as a PostgreSQL series (column ``day``)."""
        first, last = window.start - window.start % DAY, window.end - 1 - (window.end - 1) % DAY
        bounds = (sa.cast(n, sa.BigInteger) for n in (first, last, DAY))
        return sa.func.generate_series(*bounds).table_valued("day").render_derived().alias("days")

    @contextmanager
    def _without_jit(self) -> Iterator[None]:
        """PostgreSQL compiles a costly plan to machine code first (JIT), which takes seconds
        for a pass of a few simple aggregates; switched off for it (this transaction only)."""
        if self.db.backend != "postgresql":
            yield
            return
        was = self.db.scalar(
            sa.select(sa.func.current_setting("jit", True)), "logs: the JIT setting"
        )
        if was is None:  # before PostgreSQL 11: no JIT
            yield
            return
        self.db.scalar(sa.select(sa.func.set_config("jit", "off", True)), "logs: JIT off")
        try:
            yield
        finally:
            self.db.scalar(
                sa.select(sa.func.set_config("jit", was, True)), "logs: the JIT setting restored"
            )

    def id_gaps(self, first_id: int, last_id: int) -> tuple[int, list[IdGap]]:
        """Ids missing between ``first_id`` and ``last_id`` (rows deleted from the log): their
        exact total, and the first ``MAX_GAPS`` gaps. The ids present are counted per block of
        ``GAP_BLOCK`` ids over the primary key (one range count each, ``BLOCKS_PER_QUERY`` to a
        statement; a grouped pass on an expression of the id took twice as long on MariaDB).
        PostgreSQL first counts the whole range (on parallel workers: half the time of the
        block counts at 10 million rows) and counts blocks only when ids are missing; MySQL and
        MariaDB count a range by reading it, so there the block counts are the only count (one
        pass instead of two when ids are missing: 7-9 s instead of 20 s). Only the blocks short
        of ids are read again, with one ``LEAD(id)`` window per run of them (a window over the
        whole range is several times slower on MariaDB)."""
        if not self._binary:
            present_ids, _ = self.ids_in_range(first_id, last_id, "the period's id range")
            if present_ids >= last_id - first_id + 1:
                return 0, []
        log = self._log()
        last_block = (last_id - first_id) // GAP_BLOCK
        present: dict[int, int] = {}
        for first_block in range(0, last_block + 1, BLOCKS_PER_QUERY):
            counts = [
                sa.select(sa.literal(n).label("block"), sa.func.count().label("n"))
                .select_from(log)
                .where(log.c.id.between(first_id + n * GAP_BLOCK,
                                        min(first_id + (n + 1) * GAP_BLOCK - 1, last_id)))
                for n in range(first_block, min(first_block + BLOCKS_PER_QUERY, last_block + 1))
            ]  # fmt: skip
            rows = self.db.fetch_all(
                sa.union_all(*counts), "logs: ids present per block of the period's id range"
            )
            present.update({int(r["block"]): int(r["n"]) for r in rows})
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

    def failure_analysis(
        self, window: Window, ids: tuple[int, int], thresholds: Thresholds
    ) -> FailureAnalysis:
        """What a review needs of every failed login in ``window`` (id range ``ids``), pushed
        down into one statement that reads them once:

        - per UTC day and distinct ``other`` value, how many (decoded once per value, so
          reasons and malformed values are counted exactly as row by row);
        - the brute-force bursts per IP and per account (``Run``), for the keys whose attempts
          come in time order (their ``id`` order): a burst detector fed in id order opens at
          most one incident per chain of attempts less than a window apart, at the first
          attempt with ``burst_failures`` within a window, holding every later attempt of the
          chain; keys whose times go back somewhere are returned as disordered, for the
          detector to be fed;
        - the IPs that could be spraying: ``spraying_usernames`` distinct names within a
          window span at most two buckets of its width, so one holds half of them. The names
          a bucket's attempts tried are at most its distinct ``other`` values plus its
          distinct accounts among attempts that name no username."""
        b_failures, b_width, s_names, s_width = thresholds
        log = self._log()
        t = log.c.timecreated
        failed = (
            sa.select(
                log.c.id.label("id"), t.label("t"), log.c.userid.label("userid"),
                log.c.ip.label("ip"), log.c.other.label("other"),
            )
            .where(log.c.eventname == LOGIN_FAILED, window.holds(t), log.c.id.between(*ids))
            .cte("failed")
        )  # fmt: skip
        f = failed.c
        text = sa.String(255)
        value = self._exact(f.other)
        day = f.t - f.t % DAY
        groups = sa.select(
            sa.literal("g").label("part"), sa.null().label("k"), day.label("day"),
            sa.func.count().label("a"), sa.func.min(f.id).label("b"), sa.func.max(f.id).label("c"),
            sa.null().label("d"), value.label("other"), sa.null().label("lo"),
            sa.null().label("hi"),
        ).group_by(day, value)  # fmt: skip
        parts: list[sa.Select[Any]] = [groups]
        ip = f.ip.collate("C") if self.db.backend == "postgresql" else f.ip  # bytewise: faster
        for part, key, valid in (
            ("i", ip, sa.and_(f.ip.is_not(None), f.ip != "")),
            ("u", f.userid, f.userid > 0),
        ):
            run = self._runs(failed, part, key, valid, b_failures, b_width).subquery(part)
            parts.append(sa.select(*(sa.cast(col, text) if n == 1 else col
                                     for n, col in enumerate(run.c))))  # fmt: skip
        bucket = f.t - f.t % s_width
        named = sa.type_coerce(value, sa.Text).like("%username%")
        unnamed = sa.case((named, None), else_=f.userid)
        names = sa.func.count(sa.distinct(value)) + sa.func.count(sa.distinct(unnamed))
        buckets = (
            sa.select(
                f.ip.label("ip"), (names >= -(-s_names // 2)).label("many"),
                sa.func.min(f.id).label("lo"), sa.func.max(f.id).label("hi"),
            )
            .where(f.ip.is_not(None), f.ip != "")
            .group_by(f.ip, bucket)
            .subquery("buckets")
        )  # fmt: skip
        many = sa.func.max(sa.case((buckets.c.many, 1), else_=0))
        parts.append(
            sa.select(
                sa.literal("s"), buckets.c.ip, sa.null(), sa.null(), sa.null(), sa.null(),
                sa.null(), sa.null(), sa.func.min(buckets.c.lo), sa.func.max(buckets.c.hi),
            )
            .group_by(buckets.c.ip)
            .having(many == 1)
        )  # fmt: skip
        with self._without_jit():
            rows = self.db.fetch_all(
                sa.union_all(*parts), "logs: failed logins of the period, grouped and their bursts"
            )
        return _analysis(rows)

    @property
    def _binary(self) -> bool:
        """MySQL or MariaDB: text compares by collation (case and trailing spaces folded), a
        count over a key range reads the range."""
        return self.db.backend in ("mysql", "mariadb")

    def _exact(self, column: Any) -> Any:
        """``column`` compared byte for byte (MySQL's collations fold case and spaces)."""
        return sa.cast(column, sa.LargeBinary) if self._binary else column

    @staticmethod
    def _runs(
        failed: sa.CTE, part: str, key: Any, valid: Any, threshold: int, width: int
    ) -> sa.Select[Any]:
        """Per key and chain of its attempts less than ``width`` apart, the burst the chain
        holds, if any. With a key's attempts in time order (and ``id`` order), the detector
        opens it at the chain's first attempt with ``threshold`` attempts in the window ending
        there (``start``), from the first attempt of that window, and adds every later one of
        the chain: its failures are the key's attempts up to the chain's end less those up to
        ``start - width``. All of it is read from one ordering of the key's attempts (counts
        over time ranges, each monotonic in time, so their values at ``start`` are the least
        among the attempts past the threshold). Keys whose ids go back in time are marked."""
        f = failed.c
        ordered = {"partition_by": key, "order_by": (f.t, f.id)}
        recent = {"partition_by": key, "order_by": f.t, "range_": (-(width - 1), 0)}
        l1 = (
            sa.select(
                key.label("k"), f.id.label("id"), f.t.label("t"),
                (f.t - sa.func.lag(f.t).over(**ordered)).label("gap"),
                (f.id - sa.func.lag(f.id).over(**ordered)).label("back"),
                sa.func.count().over(**recent).label("n"),
                sa.func.first_value(f.t).over(**recent).label("first"),
                sa.func.count().over(partition_by=key, order_by=f.t).label("upto"),
                sa.func.min(f.id).over(partition_by=key).label("lo"),
                sa.func.max(f.id).over(partition_by=key).label("hi"),
            )
            .where(valid)
            .subquery(f"{part}1")
        )  # fmt: skip
        c = l1.c
        broken = sa.case((sa.or_(c.gap.is_(None), c.gap >= width), 1), else_=0)
        chain = sa.func.sum(broken).over(partition_by=c.k, order_by=(c.t, c.id), rows=(None, 0))
        l2 = sa.select(
            c.k, c.t, c.back, c.n, c.first, c.upto, c.lo, c.hi, chain.label("chain")
        ).subquery(f"{part}2")
        c = l2.c
        past = c.n >= threshold
        return (
            sa.select(
                sa.literal(part), c.k, sa.func.min(sa.case((past, c.t))),
                sa.func.max(c.upto) - sa.func.min(sa.case((past, c.upto - c.n))),
                sa.func.min(sa.case((past, c.first))), sa.func.max(c.t),
                sa.func.min(c.back), sa.null(), sa.func.min(c.lo), sa.func.max(c.hi),
            )
            .group_by(c.k, c.chain)
            .having(sa.or_(sa.func.min(sa.case((past, c.t))).is_not(None),
                           sa.func.min(c.back) < 0))
        )  # fmt: skip

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
        wanted = DETAIL_EVENTS | ROLE_DEFINITION_EVENTS | {LOGIN_FAILED}
        statement = sa.select(*(log.c[n] for n in _DETAIL_COLUMNS)).where(
            log.c.eventname.in_(sorted(wanted)),
            window.holds(log.c.timecreated),
            log.c.id.between(*ids),
        )
        purpose = "logs: failed logins, administrative and role events in the period"
        for row in self.db.stream(statement, log.c.id, purpose, self.chunk_size):
            yield _detail_row(row)

    def rows_in_ranges(
        self,
        window: Window,
        ranges: Iterable[tuple[int, int]],
        events: Iterable[str],
        failures: FailureFilter,
    ) -> Iterator[FailedLogin | AdminEvent | RoleEventRow]:
        """The rows of ``events`` and the failed logins ``failures`` selects, in ``window``,
        in id order: each id range (merged, ascending) streamed in keyset pages, so only the
        ranges the period's groups located are read, not the whole period."""
        log = self._log()
        values, ips, userids = failures
        chosen = [log.c.other.in_(sorted(v for v in values if v is not None))]
        if None in values:
            chosen.append(log.c.other.is_(None))
        if ips:
            chosen.append(log.c.ip.in_(sorted(ips)))
        if userids:
            chosen.append(log.c.userid.in_(sorted(userids)))
        wanted = sa.or_(
            log.c.eventname.in_(sorted(events)),
            sa.and_(log.c.eventname == LOGIN_FAILED, sa.or_(*chosen)),
        )
        purpose = "logs: administrative and role events, and the failed logins still read"
        for low, high in merged(ranges):
            statement = sa.select(*(log.c[n] for n in _DETAIL_COLUMNS)).where(
                wanted, window.holds(log.c.timecreated), log.c.id.between(low, high)
            )
            for row in self.db.stream(statement, log.c.id, purpose, self.chunk_size):
                yield _detail_row(row)

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


def decode_failure(raw: Any) -> tuple[str | None, int | None, bool]:
    """A failed login's ``other``: the username tried, the reason code, and whether the value
    was malformed (the one decoder, for a row or for every row sharing the value; the same
    value, an account's repeated attempts, is decoded once)."""
    return _failure_value(None if raw is None else str(raw))


@lru_cache(maxsize=4096)
def _failure_value(raw: str | None) -> tuple[str | None, int | None, bool]:
    other, malformed = _decoded(raw)
    username = other.get("username")
    return None if username is None else str(username), login_failure_reason(other), malformed


def _failed_login(row: Any) -> FailedLogin:
    username, reason, malformed = decode_failure(row["other"])
    return FailedLogin(
        id=int(row["id"]),
        time=int(row["timecreated"]),
        userid=int(row["userid"] or 0),
        ip=str(row["ip"] or ""),
        username=username,
        reason=reason,
        malformed=malformed,
    )


def merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Id ranges sorted and joined where they overlap or touch."""
    out: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


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


def _analysis(rows: Iterable[Any]) -> FailureAnalysis:
    found = FailureAnalysis([], {"ip": [], "account": []}, {"ip": {}, "account": {}}, {})
    for r in rows:
        part, key = r["part"], None if r["k"] is None else str(r["k"])
        if part == "g":
            other = r["other"]
            if isinstance(other, bytes | bytearray | memoryview):
                other = bytes(other).decode("utf-8")
            found.groups.append(
                FailureGroup(int(r["day"]), None if other is None else str(other), int(r["a"]),
                             int(r["b"]), int(r["c"]))
            )  # fmt: skip
        elif part == "s" and key is not None:
            found.spraying_ips[key] = (int(r["lo"]), int(r["hi"]))
        elif key is not None:
            by = "ip" if part == "i" else "account"
            if r["d"] is not None and int(r["d"]) < 0:
                found.disordered[by][key] = (int(r["lo"]), int(r["hi"]))
            elif r["day"] is not None:
                found.bursts[by].append(Run(key, int(r["b"]), int(r["c"]), int(r["a"])))
    for by, keys in found.disordered.items():
        found.bursts[by] = [b for b in found.bursts[by] if b.key not in keys]
    return found


#: The columns the detail stream reads of a log row.
_DETAIL_COLUMNS = ("id", "timecreated", "eventname", "userid", "relateduserid", "realuserid",
                   "contextlevel", "contextinstanceid", "objectid", "ip", "other")  # fmt: skip


def _detail_row(row: Any) -> FailedLogin | AdminEvent | RoleEventRow:
    """One row of the detail stream as what the review makes of it."""
    if row["eventname"] == LOGIN_FAILED:
        return _failed_login(row)
    if row["eventname"] in ROLE_DEFINITION_EVENTS:
        return RoleEventRow(dict(row))
    return _admin_event(row)
