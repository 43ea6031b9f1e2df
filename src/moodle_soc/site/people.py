"""The people behind accounts, for an access review: user rows with the names and email an HR
roster matches on, and what the log says they did (interactive logins, "log in as" sessions).

Secret columns (``user.password``, ``user.secret``) are never selected. Log queries are bounded by
time and aggregated per user in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from moodle_soc.site.accounts import UserRecord
from moodle_soc.site.cache import ById, once_per_site
from moodle_soc.site.privileges import Bounded

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

LOGGED_IN = "\\core\\event\\user_loggedin"
LOGGED_IN_AS = "\\core\\event\\user_loggedinas"
STANDARD_LOG = "logstore_standard_log"
_CHUNK = 1000
_COLUMNS = ("id", "username", "auth", "suspended", "deleted", "confirmed", "firstaccess",
            "lastaccess", "lastlogin", "currentlogin", "timecreated", "lastip", "mnethostid",
            "firstname", "lastname", "email")  # fmt: skip


@dataclass(frozen=True)
class Person:
    """A user row without secrets, with the names and email a roster matches on."""

    user: UserRecord
    firstname: str
    lastname: str
    email: str

    @property
    def fullname(self) -> str:
        return " ".join(part for part in (self.firstname, self.lastname) if part.strip())


@dataclass(frozen=True)
class LoginCount:
    """Interactive (web) logins of one user in a window, and the latest one."""

    userid: int
    count: int
    last: int


@dataclass(frozen=True)
class LoginAsUse:
    """ "Log in as" sessions started by one real user, and how many distinct users it became."""

    userid: int
    sessions: int
    targets: int
    last: int


def _person(row: RowMapping) -> Person:
    names = {key: str(row[key] or "") for key in ("firstname", "lastname", "email")}
    return Person(UserRecord.from_row(row), **names)


def _statement_key(statement: sa.Select[Any]) -> str:
    """The SQL with its values written in: equal for the same question asked twice."""
    return str(statement.compile(compile_kwargs={"literal_binds": True}))


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted(set(values))
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class People:
    """Reached as ``site.people``: a user row or count asked for again is not read again."""

    def __init__(self, site: MoodleSite) -> None:
        self.site = site
        self.db = site.db
        self._logins: dict[int, ById[LoginCount]] = {}
        self._within: dict[str, Mapping[int, Person]] = {}

    def _select(self, condition: sa.ColumnElement[bool], purpose: str) -> list[Person]:
        user = self.db.table("user")
        statement = sa.select(*(user.c[key] for key in _COLUMNS)).where(condition)
        return [_person(row) for row in self.db.fetch_all(statement, purpose)]

    def within(self, population: sa.Select[Any]) -> dict[int, Person]:
        """Users whose id is in ``population`` (a one-column SELECT of user ids), read in one
        query joined against it in the database, however many there are."""
        key = _statement_key(population)
        if key not in self._within:  # the inventory of each scope asks for the same population
            user = self.db.table("user")
            purpose = "people: users of a population read in SQL (no secrets)"
            people = self._select(user.c.id.in_(population), purpose)
            self._within[key] = MappingProxyType({p.user.id: p for p in people})
        return dict(self._within[key])

    def everyone(self) -> Iterator[Person]:
        """Every user that is not deleted, streamed in id order (keyset pages)."""
        user = self.db.table("user")
        statement = sa.select(*(user.c[key] for key in _COLUMNS)).where(user.c.deleted == 0)
        for row in self.db.stream(statement, user.c.id, "people: every non-deleted user"):
            yield _person(row)

    def matching(self, usernames: Iterable[str], emails: Iterable[str]) -> list[Person]:
        """Users whose username or email equals one given, compared case-insensitively."""
        user = self.db.table("user")
        found: dict[int, Person] = {}
        for column, values in ((user.c.username, usernames), (user.c.email, emails)):
            wanted = {value.strip().lower() for value in values if value.strip()}
            purpose = f"people: users by {column.name}, case-insensitive"
            for chunk in _chunks(wanted):
                for person in self._select(sa.func.lower(column).in_(chunk), purpose):
                    found[person.user.id] = person
        return [found[key] for key in sorted(found)]

    @property
    def has_log(self) -> bool:
        return self.db.has_table(STANDARD_LOG)

    def interactive_logins(self, userids: Iterable[int], since: int) -> dict[int, LoginCount]:
        """Web logins (log origin 'web') of the given users since ``since``, per user (users
        without one are absent)."""
        known = self._logins.setdefault(since, ById[LoginCount]())
        return known.get(userids, lambda missing: self._read_logins(missing, since))

    def _read_logins(self, userids: list[int], since: int) -> dict[int, LoginCount]:
        log = self.db.table(STANDARD_LOG)
        found: dict[int, LoginCount] = {}
        for chunk in _chunks(userids):
            statement = (
                sa.select(log.c.userid, sa.func.count().label("n"))
                .add_columns(sa.func.max(log.c.timecreated).label("last"))
                .where(log.c.eventname == LOGGED_IN, log.c.origin == "web")
                .where(log.c.timecreated >= since, log.c.userid.in_(chunk))
                .group_by(log.c.userid)
            )
            purpose = "people: interactive (web) logins of the given users since a time"
            for row in self.db.fetch_all(statement, purpose):
                userid = int(row["userid"])
                found[userid] = LoginCount(userid, int(row["n"]), int(row["last"]))
        return found

    @once_per_site
    def login_as_use(self, since: int, limit: int = 500) -> Bounded[LoginAsUse]:
        """ "Log in as" events since ``since`` per real user, the top ``limit`` by sessions.

        Moodle's log writer sets ``realuserid`` on every row written while a user acts as
        another, and the ``user_loggedinas`` row is written once the switch is made, so each
        session's row has ``realuserid`` = the real user. ``realuserid IS NOT NULL`` keeps the
        query on the ``realuserid`` index (rows written while acting as someone are few), where
        a filter on ``eventname`` alone would read the whole log.
        """
        log = self.db.table(STANDARD_LOG)
        real = log.c.realuserid.label("real")
        sessions = sa.func.count().label("sessions")
        targets = sa.func.count(sa.distinct(log.c.relateduserid)).label("targets")
        statement = (
            sa.select(real, sessions, targets, sa.func.max(log.c.timecreated).label("last"))
            .where(log.c.realuserid.is_not(None), log.c.eventname == LOGGED_IN_AS)
            .where(log.c.timecreated >= since)
            .group_by(log.c.realuserid)
            .order_by(sessions.desc(), log.c.realuserid)
            .limit(limit + 1)
        )
        rows = self.db.fetch_all(
            statement, f"people: 'log in as' sessions per real user (top {limit})"
        )
        uses = tuple(
            LoginAsUse(int(r["real"]), int(r["sessions"]), int(r["targets"]), int(r["last"]))
            for r in rows[:limit]
        )
        return Bounded(uses, len(rows) > limit)
