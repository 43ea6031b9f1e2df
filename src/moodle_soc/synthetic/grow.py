"""Grow a Moodle database to a large site's size in seconds, for benchmarks and scale tests.

Rows are made by the database itself in set-based ``INSERT ... SELECT`` statements over a
number series (PostgreSQL ``generate_series``, MariaDB's ``seq_1_to_N`` sequence tables), never
sent row by row from Python, so 200,000 users and 10 million log rows take minutes, not hours.
It adds, to any Moodle 4.x/5.x schema (a restored fixture or the synthetic site):

- courses with their contexts, in the first course category;
- users (external ``ldap`` accounts, none a site administrator), a share of them recently used,
  some dormant, some never used; a share with a TOTP factor when ``tool_mfa`` exists;
- role assignments: every user a student in ``courses_per_user`` courses and one in
  ``1/extra_course`` in one more, one in ``1/teachers`` an editing teacher in one course, one in
  ``1/managers`` a manager at category level (200,000 users: 525,100 assignments);
- standard-log rows spread evenly over the last ``log_days`` days: course views, logins and
  failed logins by the new users, and a few "log in as" sessions by the first administrator.

Only a test or benchmark database may be grown: the statements write, and nothing in ``site/``
(which reads real sites) calls this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

DAY = 86400
MARK = "grown"  # usernames, course short names and emails of grown rows start with it
_CHUNK = 1_000_000  # log rows per statement: bounded undo on MariaDB, progress on both


@dataclass(frozen=True)
class Growth:
    """How much to add. The defaults are the large site of issue 9."""

    users: int = 200_000
    courses: int = 2_000
    log_rows: int = 10_000_000
    courses_per_user: int = 2
    extra_course: int = 2  # one user in 2 is a student in one more course
    teachers: int = 8  # one user in 8 is also an editing teacher in one course
    managers: int = 2_000  # one user in 2,000 is a manager at category level
    log_days: int = 365
    login_as_sessions: int = 20


@dataclass(frozen=True)
class Grown:
    """What was added, and how long each part took (seconds)."""

    users: int
    courses: int
    role_assignments: int
    log_rows: int
    mfa_factors: int
    seconds: dict[str, float]


class _Dialect:
    """The few spellings that differ between PostgreSQL and MariaDB."""

    def __init__(self, backend: str) -> None:
        if backend not in ("postgresql", "mysql", "mariadb"):
            raise ValueError(f"cannot grow a {backend} database (PostgreSQL or MariaDB only)")
        self.postgres = backend == "postgresql"

    def series(self, first: int, last: int) -> str:
        """A derived table ``s`` with one integer column ``g`` from ``first`` to ``last``."""
        if self.postgres:
            return f"(SELECT generate_series(CAST({first} AS bigint), {last}) AS g) s"
        return f"(SELECT seq AS g FROM seq_{first}_to_{last}) s"

    def cat(self, *parts: str) -> str:
        return f"CONCAT({', '.join(parts)})"

    def div(self, a: str, b: str) -> str:
        return f"({a}) / ({b})" if self.postgres else f"({a}) DIV ({b})"


def _exec(conn: sa.Connection, sql: str, **params: object) -> int:
    return int(conn.execute(sa.text(sql), params).rowcount or 0)


def _scalar(conn: sa.Connection, sql: str, **params: object) -> int:
    return int(conn.execute(sa.text(sql), params).scalar() or 0)


def _contiguous(conn: sa.Connection, table: str, where: str, count: int) -> int:
    """The first id of ``count`` rows just inserted; they must be numbered without gaps."""
    low, high = conn.execute(sa.text(f"SELECT min(id), max(id) FROM {table} WHERE {where}")).one()
    if low is None or int(high) - int(low) + 1 != count:
        raise RuntimeError(f"the {count} new rows of {table} are not numbered without gaps")
    return int(low)


def grow(
    engine: sa.Engine,
    prefix: str,
    now: int,
    growth: Growth = Growth(),
    progress: Callable[[str], None] | None = None,
) -> Grown:
    """Add ``growth`` to the Moodle database behind ``engine`` (its tables named ``prefix``*),
    as of ``now`` (a Unix time); the planner's statistics are refreshed at the end."""
    d = _Dialect(engine.url.get_backend_name())
    p = prefix
    seconds: dict[str, float] = {}
    say = progress or (lambda _message: None)

    def step(name: str) -> Callable[[], None]:
        started = time.perf_counter()

        def done() -> None:
            seconds[name] = round(time.perf_counter() - started, 2)
            say(f"{name}: {seconds[name]} s")

        return done

    u, c = growth.users, growth.courses
    with engine.begin() as conn:
        if d.postgres:
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        category = conn.execute(
            sa.text(
                f"SELECT id, instanceid, path FROM {p}context WHERE contextlevel = 40"
                " ORDER BY id LIMIT 1"
            )
        ).one()
        cat_ctx, cat_id, cat_path = int(category[0]), int(category[1]), str(category[2])

        done = step("courses")
        fullname, shortname = d.cat("'Grown course '", "g"), d.cat(f"'{MARK}c'", "g")
        _exec(
            conn,
            f"INSERT INTO {p}course (category, sortorder, fullname, shortname, summary, format,"
            " startdate, visible, timecreated, timemodified)"
            f" SELECT {cat_id}, 10000 + g, {fullname},"
            f" {shortname}, '', 'topics', {now - 200 * DAY}, 1,"
            f" {now - 400 * DAY}, {now - 400 * DAY} FROM {d.series(1, c)}",
        )
        course0 = _contiguous(conn, f"{p}course", f"shortname LIKE '{MARK}c%'", c)
        _exec(
            conn,
            f"INSERT INTO {p}context (contextlevel, instanceid, depth, path)"
            f" SELECT 50, {course0} - 1 + g, 3, NULL FROM {d.series(1, c)}",
        )
        path = d.cat(f"'{cat_path}/'", "id")
        ctx0 = _contiguous(conn, f"{p}context", f"contextlevel = 50 AND instanceid >= {course0}", c)
        _exec(
            conn,
            f"UPDATE {p}context SET path = {path} WHERE contextlevel = 50 AND id >= {ctx0}",
        )
        done()

        done = step("users")
        username, lastname = d.cat(f"'{MARK}u'", "g"), d.cat("'User '", "g")
        email = d.cat(f"'{MARK}u'", "g", "'@example.invalid'")
        # A quarter used in the last 30 days, a quarter dormant (about a year), a tenth never.
        last = (
            f"CASE WHEN g % 10 = 0 THEN 0 WHEN g % 4 = 1 THEN {now - 400 * DAY} + g % {DAY}"
            f" ELSE {now} - (g * 7919) % {30 * DAY} END"
        )
        _exec(
            conn,
            f"INSERT INTO {p}user (auth, confirmed, mnethostid, username, password, idnumber,"
            " firstname, lastname, email, timecreated, timemodified, firstaccess, lastaccess,"
            " lastlogin, currentlogin, lastip)"
            f" SELECT 'ldap', 1, 1, {username}, 'not cached', '',"
            f" 'Grown', {lastname}, {email},"
            f" {now - 500 * DAY}, {now - 500 * DAY}, {last}, {last}, {last}, {last},"
            f" '198.51.100.7' FROM {d.series(1, u)}",
        )
        user0 = _contiguous(conn, f"{p}user", f"username LIKE '{MARK}u%'", u)
        done()

        done = step("role assignments")
        roles = {
            str(name): int(rid)
            for rid, name in conn.execute(sa.text(f"SELECT id, shortname FROM {p}role"))
        }
        assigned = 0
        for k in range(growth.courses_per_user + 1):  # the last course: one user in extra_course
            some = f" WHERE g % {growth.extra_course} = 0" if k == growth.courses_per_user else ""
            assigned += _exec(
                conn,
                f"INSERT INTO {p}role_assignments (roleid, contextid, userid, timemodified,"
                f" modifierid) SELECT {roles['student']}, {ctx0} + (g * 31 + {k * 17}) % {c},"
                f" {user0} - 1 + g, {now - 300 * DAY}, 2 FROM {d.series(1, u)}{some}",
            )
        assigned += _exec(
            conn,
            f"INSERT INTO {p}role_assignments (roleid, contextid, userid, timemodified,"
            f" modifierid) SELECT {roles['editingteacher']}, {ctx0} + (g * 13) % {c},"
            f" {user0} - 1 + g, {now - 300 * DAY}, 2 FROM {d.series(1, u)}"
            f" WHERE g % {growth.teachers} = 0",
        )
        assigned += _exec(
            conn,
            f"INSERT INTO {p}role_assignments (roleid, contextid, userid, timemodified,"
            f" modifierid) SELECT {roles['manager']}, {cat_ctx}, {user0} - 1 + g,"
            f" {now - 300 * DAY}, 2 FROM {d.series(1, u)} WHERE g % {growth.managers} = 0",
        )
        done()

        factors = 0
        has_mfa = _scalar(
            conn,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = :t"
            + (" AND table_schema = current_schema()" if d.postgres else
               " AND table_schema = DATABASE()"),
            t=f"{p}tool_mfa",
        )  # fmt: skip
        if has_mfa:
            done = step("mfa factors")
            factors = _exec(
                conn,
                f"INSERT INTO {p}tool_mfa (userid, factor, secret, label, timecreated,"
                " createdfromip, timemodified, lastverified, revoked, lockcounter)"
                f" SELECT {user0} - 1 + g, 'totp', '', 'phone', {now - 90 * DAY},"
                f" '198.51.100.7', {now - 90 * DAY}, {now - DAY}, 0, 0 FROM {d.series(1, u)}"
                " WHERE g % 10 = 3",
            )
            done()

    done = step("log indexes dropped")
    rebuild = _drop_indexes(engine, d, f"{p}logstore_standard_log")
    done()
    logs = _grow_log(engine, d, p, now, growth, (user0, ctx0, course0), step)
    done = step("log indexes rebuilt")
    with engine.begin() as conn:
        if d.postgres:
            conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for statement in rebuild:
            conn.execute(sa.text(statement))
    done()
    done = step("statistics")
    with engine.begin() as conn:
        for table in ("user", "course", "context", "role_assignments", "logstore_standard_log"):
            conn.execute(sa.text(f"ANALYZE {'' if d.postgres else 'TABLE '}{p}{table}"))
    done()
    return Grown(u, c, assigned, logs, factors, seconds)


def _drop_indexes(engine: sa.Engine, d: _Dialect, table: str) -> list[str]:
    """Drop ``table``'s secondary indexes; the statements that make them again. Building an
    index once over millions of rows is far faster than updating it row by row."""
    with engine.begin() as conn:
        if d.postgres:
            rows = conn.execute(
                sa.text(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
                    " JOIN pg_class i ON i.oid = x.indexrelid"
                    " WHERE x.indrelid = CAST(:t AS regclass) AND NOT x.indisprimary"
                    " AND NOT x.indisunique ORDER BY i.relname"
                ),
                {"t": table},
            ).all()
            for name, _definition in rows:
                conn.execute(sa.text(f'DROP INDEX "{name}"'))
            return [str(definition) for _name, definition in rows]
        columns: dict[str, list[str]] = {}
        for name, column in conn.execute(
            sa.text(
                "SELECT index_name, column_name FROM information_schema.statistics"
                " WHERE table_schema = DATABASE() AND table_name = :t AND non_unique = 1"
                " ORDER BY index_name, seq_in_index"
            ),
            {"t": table},
        ):
            columns.setdefault(str(name), []).append(f"`{column}`")
        if not columns:
            return []
        conn.execute(
            sa.text(f"ALTER TABLE {table} " + ", ".join(f"DROP INDEX `{n}`" for n in columns))
        )
        adds = ", ".join(f"ADD INDEX `{n}` ({', '.join(c)})" for n, c in columns.items())
        return [f"ALTER TABLE {table} {adds}"]


def _grow_log(
    engine: sa.Engine,
    d: _Dialect,
    p: str,
    now: int,
    growth: Growth,
    firsts: tuple[int, int, int],
    step: Callable[[str], Callable[[], None]],
) -> int:
    """Log rows in chunks of ``_CHUNK`` (one transaction each), oldest first, so ids grow with
    time as on a real site: 90 % course views, 6 % logins, 4 % failed logins."""
    user0, ctx0, course0 = firsts
    u, c, total = growth.users, growth.courses, growth.log_rows
    span = growth.log_days * DAY
    start = now - span
    kind = "g % 50"  # 0-2 login, 3-4 failed login, the rest course views
    login, failed = f"{kind} < 3", f"{kind} IN (3, 4)"
    user = f"{user0} + (g * 7) % {u}"
    course = f"(g * 11) % {c}"
    when = f"{start} + {d.div(f'g * {span}', str(total))}"
    columns = (
        "eventname, component, action, target, objecttable, objectid, crud, edulevel,"
        " contextid, contextlevel, contextinstanceid, userid, courseid, relateduserid,"
        " anonymous, other, timecreated, origin, ip, realuserid"
    )
    select = (
        f"CASE WHEN {login} THEN :loggedin WHEN {failed} THEN :failed ELSE :viewed END, 'core',"
        f" CASE WHEN {login} THEN 'loggedin' WHEN {failed} THEN 'failed' ELSE 'viewed' END,"
        f" CASE WHEN {login} THEN 'user' WHEN {failed} THEN 'user_login' ELSE 'course' END,"
        f" CASE WHEN {login} THEN 'user' ELSE NULL END,"
        f" CASE WHEN {login} THEN {user} ELSE NULL END,"
        f" 'r', CASE WHEN {login} OR {failed} THEN 0 ELSE 2 END,"
        f" CASE WHEN {login} OR {failed} THEN 1 ELSE {ctx0} + {course} END,"
        f" CASE WHEN {login} OR {failed} THEN 10 ELSE 50 END,"
        f" CASE WHEN {login} OR {failed} THEN 0 ELSE {course0} + {course} END,"
        f" {user}, CASE WHEN {login} OR {failed} THEN 0 ELSE {course0} + {course} END,"
        f" NULL, 0, CASE WHEN {failed} THEN :wrong_password ELSE 'null' END,"
        f" {when}, 'web', '198.51.100.7', NULL"
    )
    names = {
        "loggedin": "\\core\\event\\user_loggedin",
        "failed": "\\core\\event\\user_login_failed",
        "viewed": "\\core\\event\\course_viewed",
        "wrong_password": f'{{"username":"{MARK}","reason":3}}',
    }
    written = 0
    done = step("log rows")
    for first in range(1, total + 1, _CHUNK):
        last = min(first + _CHUNK - 1, total)
        with engine.begin() as conn:
            if d.postgres:
                conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
            written += _exec(
                conn,
                f"INSERT INTO {p}logstore_standard_log ({columns})"
                f" SELECT {select} FROM {d.series(first, last)}",
                **names,
            )
    sessions = growth.login_as_sessions
    gap = span // (sessions + 1)
    with engine.begin() as conn:
        written += _exec(
            conn,
            f"INSERT INTO {p}logstore_standard_log ({columns})"
            " SELECT :loggedinas, 'core', 'loggedinas', 'user', 'user', 2, 'r', 0, 1, 10, 0, 2,"
            f" 0, {user0} + g, 0, 'null', {start} + g * {gap}, 'web', '198.51.100.8', 2"
            f" FROM {d.series(1, sessions)}",
            loggedinas="\\core\\event\\user_loggedinas",
        )
    done()
    return written
