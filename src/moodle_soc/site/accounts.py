"""User accounts: typed user records, the active-account population and its activity.

Population-wide questions are answered by one aggregate query plus a bounded sample; per-user
records are only loaded for bounded sets (site administrators, privileged role holders).
Secret columns (``password``, ``secret``) are never selected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from moodle_soc.site.cache import ById
from moodle_soc.site.logother import decode_other, login_failure_reason

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

SAMPLE_SIZE = 20
DECODE_LIMIT = 500
LOGIN_FAILED = "\\core\\event\\user_login_failed"
REASON_SUSPENDED = 2
_ID_CHUNK = 1000


def _failure_reason(raw: str | None) -> int | None:
    try:
        return login_failure_reason(decode_other(raw))
    except ValueError:  # one undecodable row leaves its reason unknown, not the whole check
        return None


@dataclass(frozen=True)
class UserRecord:
    """One ``user`` row without its secrets."""

    id: int
    username: str
    auth: str
    suspended: bool
    deleted: bool
    confirmed: bool
    firstaccess: int
    lastaccess: int
    lastlogin: int
    currentlogin: int
    timecreated: int
    lastip: str
    mnethostid: int

    @property
    def never_logged_in(self) -> bool:
        return self.lastaccess == 0

    @classmethod
    def from_row(cls, row: RowMapping) -> UserRecord:
        return cls(
            id=int(row["id"]),
            username=str(row["username"]),
            auth=str(row["auth"]),
            suspended=bool(int(row["suspended"] or 0)),
            deleted=bool(int(row["deleted"] or 0)),
            confirmed=bool(int(row["confirmed"] or 0)),
            firstaccess=int(row["firstaccess"] or 0),
            lastaccess=int(row["lastaccess"] or 0),
            lastlogin=int(row["lastlogin"] or 0),
            currentlogin=int(row["currentlogin"] or 0),
            timecreated=int(row["timecreated"] or 0),
            lastip=str(row["lastip"] or ""),
            mnethostid=int(row["mnethostid"] or 0),
        )


_USER_COLUMNS = [f.name for f in fields(UserRecord)]


@dataclass(frozen=True)
class SiteAdmin:
    """An id listed in ``siteadmins`` and its user row (None when the row does not exist)."""

    id: int
    user: UserRecord | None


@dataclass(frozen=True)
class UserRef:
    id: int
    username: str


@dataclass(frozen=True)
class ActivitySummary:
    """Counts over active accounts, with at most ``SAMPLE_SIZE`` examples of each finding."""

    active: int
    dormant: int
    never_logged_in: int
    dormant_sample: tuple[UserRef, ...]
    never_logged_in_sample: tuple[UserRef, ...]


@dataclass(frozen=True)
class LoginAttempts:
    """Failed logins of one currently suspended user since the window start."""

    userid: int
    username: str
    attempts: int
    last_attempt: int


@dataclass(frozen=True)
class SuspendedLoginAttempts:
    """The top users by attempts, population totals, and reasons decoded from recent rows."""

    users: tuple[LoginAttempts, ...]
    total_users: int
    total_attempts: int
    decoded_rows: int
    reason_suspended: int


class Accounts:
    def __init__(self, site: MoodleSite) -> None:
        self.site = site
        self.db = site.db
        self._summaries: dict[tuple[int, int], ActivitySummary] = {}
        self._users = ById[UserRecord]()

    def _user_columns(self, user: sa.TableClause) -> list[sa.ColumnClause[Any]]:
        return [user.c[name] for name in _USER_COLUMNS]

    def users_by_id(self, ids: Iterable[int]) -> dict[int, UserRecord]:
        """User records for ``ids`` (a bounded set); ids without a row are absent."""
        return self._users.get(ids, self._read_users)

    def _read_users(self, wanted: list[int]) -> dict[int, UserRecord]:
        user = self.db.table("user")
        found: dict[int, UserRecord] = {}
        for start in range(0, len(wanted), _ID_CHUNK):
            chunk = wanted[start : start + _ID_CHUNK]
            rows = self.db.fetch_all(
                sa.select(*self._user_columns(user)).where(user.c.id.in_(chunk)),
                "accounts: user records by id (no secret columns)",
            )
            found.update((int(row["id"]), UserRecord.from_row(row)) for row in rows)
        return found

    def site_admins(self) -> tuple[SiteAdmin, ...]:
        """Every id in ``siteadmins``, in the setting's order, with its user row if any."""
        ids = self.site.site_admin_ids
        records = self.users_by_id(ids)
        return tuple(SiteAdmin(id=i, user=records.get(i)) for i in ids)

    @cached_property
    def live_accounts_by_auth(self) -> dict[str, int]:
        """How many accounts (not deleted, not suspended) use each authentication method."""
        user = self.db.table("user")
        rows = self.db.fetch_all(
            sa.select(user.c.auth, sa.func.count().label("n"))
            .where(user.c.deleted == 0, user.c.suspended == 0)
            .group_by(user.c.auth),
            "accounts: live accounts per authentication method",
        )
        return {str(row["auth"]): int(row["n"]) for row in rows}

    def _active(self, user: sa.TableClause) -> sa.ColumnElement[bool]:
        settings = self.site.settings
        return sa.and_(
            user.c.deleted == 0,
            user.c.suspended == 0,
            user.c.confirmed == 1,
            user.c.auth != "nologin",
            user.c.id != settings.int("siteguest", default=1),
            user.c.mnethostid == settings.int("mnet_localhost_id", default=1),
        )

    def activity_summary(self, dormant_before: int, created_before: int) -> ActivitySummary:
        """Active accounts, dormant ones (last access before ``dormant_before``) and ones
        never used although created before ``created_before``."""
        key = (dormant_before, created_before)
        if key not in self._summaries:
            self._summaries[key] = self._activity_summary(dormant_before, created_before)
        return self._summaries[key]

    def _activity_summary(self, dormant_before: int, created_before: int) -> ActivitySummary:
        user = self.db.table("user")
        dormant = sa.and_(user.c.lastaccess > 0, user.c.lastaccess < dormant_before)
        # Moodle's installer leaves timecreated 0 (admin): such accounts are as old as the site.
        created = sa.and_(user.c.timecreated > 0, user.c.timecreated < created_before)
        if 0 < self.site.install_time < created_before:
            created = sa.or_(created, user.c.timecreated == 0)
        never = sa.and_(user.c.lastaccess == 0, created)

        def tally(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
            return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

        totals = self.db.fetch_one(
            sa.select(
                sa.func.count().label("active"),
                tally(dormant).label("dormant"),
                tally(never).label("never_logged_in"),
            ).where(self._active(user)),
            "accounts: active, dormant and never-logged-in account counts",
        )

        def sample(kind: str, condition: sa.ColumnElement[bool], order: Any) -> sa.Subquery:
            return (
                sa.select(sa.literal_column(f"'{kind}'").label("kind"), user.c.id, user.c.username)
                .where(self._active(user), condition)
                .order_by(order, user.c.id)
                .limit(SAMPLE_SIZE)
                .subquery()
            )

        parts = [
            sample("dormant", dormant, user.c.lastaccess),
            sample("never", never, user.c.timecreated),
        ]
        rows = self.db.fetch_all(
            sa.union_all(*(sa.select(part) for part in parts)),
            f"accounts: sample (at most {SAMPLE_SIZE} each) of dormant and unused accounts",
        )

        def refs(kind: str) -> tuple[UserRef, ...]:
            return tuple(
                UserRef(int(row["id"]), str(row["username"])) for row in rows if row["kind"] == kind
            )

        return ActivitySummary(
            active=int(totals["active"]) if totals else 0,
            dormant=int(totals["dormant"]) if totals else 0,
            never_logged_in=int(totals["never_logged_in"]) if totals else 0,
            dormant_sample=refs("dormant"),
            never_logged_in_sample=refs("never"),
        )

    def suspended_login_attempts(self, since: int, limit: int = 50) -> SuspendedLoginAttempts:
        """Failed logins since ``since`` by users who are suspended now (top ``limit`` users)."""
        log = self.db.table("logstore_standard_log")
        user = self.db.table("user")
        source = log.join(user, user.c.id == log.c.userid)
        where = (
            log.c.eventname == LOGIN_FAILED,
            log.c.timecreated >= since,
            user.c.suspended == 1,
            user.c.deleted == 0,
        )
        attempts = sa.func.count().label("attempts")
        # The totals ride on every row as window aggregates over all the groups, computed
        # before the LIMIT: one pass over the join instead of a second one for them (each
        # pass drives from the user table, which has no index on suspended).
        top = self.db.fetch_all(
            sa.select(
                log.c.userid,
                user.c.username,
                attempts,
                sa.func.max(log.c.timecreated).label("last"),
                sa.func.count().over().label("total_users"),
                sa.func.sum(sa.func.count()).over().label("total_attempts"),
            )
            .select_from(source)
            .where(*where)
            .group_by(log.c.userid, user.c.username)
            .order_by(attempts.desc(), log.c.userid)
            .limit(limit),
            f"accounts: failed logins of suspended users, top {limit} by attempts, with totals",
        )
        totals = top[0] if top else None
        recent = self.db.fetch_all(
            sa.select(log.c.other)
            .select_from(source)
            .where(*where)
            .order_by(log.c.timecreated.desc(), log.c.id.desc())
            .limit(DECODE_LIMIT),
            f"accounts: 'other' of the {DECODE_LIMIT} latest failed logins of suspended users",
        )
        reasons = [_failure_reason(row["other"]) for row in recent]
        return SuspendedLoginAttempts(
            users=tuple(
                LoginAttempts(
                    userid=int(row["userid"]),
                    username=str(row["username"]),
                    attempts=int(row["attempts"]),
                    last_attempt=int(row["last"]),
                )
                for row in top
            ),
            total_users=int(totals["total_users"]) if totals else 0,
            total_attempts=int(totals["total_attempts"]) if totals else 0,
            decoded_rows=len(recent),
            reason_suspended=sum(1 for reason in reasons if reason == REASON_SUSPENDED),
        )
