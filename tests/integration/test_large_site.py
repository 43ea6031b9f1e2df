"""A larger site costs the scan no more queries, findings or memory than a small one.

The synthetic site is written into a throwaway PostgreSQL and MariaDB database, scanned, grown
in place by ``synthetic.grow`` (thousands of users, role assignments and log rows, made by the
database itself) and scanned again. The full-size run (200,000 users, 10 million log rows) is
the benchmark ``benchmarks/scale.py``, never a test.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.policy import Policy
from moodle_soc.site.connect import open_site, spec_from_url
from moodle_soc.synthetic.acme import build_acme
from moodle_soc.synthetic.grow import Growth, grow

from .fixtures import Server, new_tag

pytestmark = pytest.mark.integration

GROWTH = Growth(
    users=6_000, courses=60, log_rows=60_000, teachers=5, managers=2_000, login_as_sessions=3
)
NEW_MANAGERS = GROWTH.users // GROWTH.managers


@dataclass(frozen=True)
class Scan:
    purposes: Counter[str]
    rows: Counter[str]  # rows read, per purpose
    findings: Counter[str]
    log_rows_read: int
    peak_bytes: int
    login_as: tuple[str, dict[str, object]]  # the "log in as" query and its parameters
    #: The queries on role_assignments, by purpose: their SQL and parameters.
    on_assignments: dict[str, tuple[str, dict[str, object]]]


def _rows_by_purpose(queries: list[dict[str, object]]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for q in queries:
        rows[str(q["purpose"])] = rows.get(str(q["purpose"]), 0) + int(str(q["rows"]))
    return rows


def _scan(url: str, now: int, policy: Policy | None = None) -> Scan:
    tracemalloc.start()
    site = open_site(spec_from_url(url, "mdl_", ""), audit_time=datetime.fromtimestamp(now, UTC))
    try:
        run = run_scan(ScanContext(site, policy or Policy()))
    finally:
        site.db.close()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    queries = [q for q in run.queries if q["purpose"] != "schema: tables and columns"]
    return Scan(
        purposes=Counter(q["purpose"] for q in queries),
        rows=Counter(_rows_by_purpose(queries)),
        findings=Counter(f.check_id for f in run.findings),
        log_rows_read=sum(q["rows"] for q in queries if "logstore_standard_log" in q["sql"]),
        peak_bytes=peak,
        login_as=next((q["sql"], q["params"]) for q in queries if "'log in as'" in q["purpose"]),
        on_assignments={
            str(q["purpose"]): (str(q["sql"]), dict(q["params"]))
            for q in queries
            if "mdl_role_assignments" in str(q["sql"])
        },
    )


_COURSE_ROLE_SCANS: dict[str, tuple[Scan, Scan]] = {}


def _log_indexes(engine: sa.Engine) -> set[tuple[str, tuple[str, ...]]]:
    indexes = sa.inspect(engine).get_indexes("mdl_logstore_standard_log")
    return {(str(i["name"]), tuple(str(c) for c in i["column_names"])) for i in indexes}


COURSE_ROLES = Policy(privileged_course_roles=True)


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def grown(request: pytest.FixtureRequest) -> Iterator[tuple[Server, str, Scan, Scan, float]]:
    """The synthetic site's scan before and after growing it, and how long growing took; the
    scans with course roles counted as privileged are in ``_COURSE_ROLE_SCANS``."""
    server: Server = request.getfixturevalue(
        "postgres" if request.param == "postgresql" else "mariadb"
    )
    acme = build_acme(users=40)
    name = f"msoc_grow_{new_tag()}"
    server.create_database(name)
    try:
        engine = server.admin_engine(name, autocommit=False)
        try:
            acme.write(engine)
            before = _scan(server.url(name), acme.now)
            wide_before = _scan(server.url(name), acme.now, COURSE_ROLES)
            indexes = _log_indexes(engine)
            started = time.perf_counter()
            grown = grow(engine, acme.prefix, acme.now, GROWTH)
            # Students in 2 courses (one in 2 in a third), teachers, category managers.
            u, g = GROWTH.users, GROWTH
            assert grown.role_assignments == (
                2 * u + u // g.extra_course + u // g.teachers + u // g.managers
            )
            seconds = time.perf_counter() - started
            # The log's indexes are dropped while rows go in and built again afterwards.
            assert _log_indexes(engine) == indexes and len(indexes) == 8
        finally:
            engine.dispose()
        after = _scan(server.url(name), acme.now)
        wide_after = _scan(server.url(name), acme.now, COURSE_ROLES)
        _COURSE_ROLE_SCANS[server.kind] = (wide_before, wide_after)
        yield server, name, before, after, seconds
    finally:
        server.drop_database(name)


def test_growing_adds_what_it_says_in_set_based_statements(grown):
    server, name, _before, _after, seconds = grown
    engine = server.admin_engine(name)
    try:
        with engine.connect() as connection:

            def count(sql: str, value: str) -> int:
                return int(connection.exec_driver_sql(sql, {"v": value}).scalar_one())

            users = count("SELECT count(*) FROM mdl_user WHERE username LIKE %(v)s", "grownu%")
            log = count("SELECT count(*) FROM mdl_logstore_standard_log WHERE ip LIKE %(v)s",
                        "198.51.100.%")  # fmt: skip
            sessions = count(
                "SELECT count(*) FROM mdl_logstore_standard_log WHERE realuserid IS NOT NULL"
                " AND eventname = %(v)s",
                "\\core\\event\\user_loggedinas",
            )
    finally:
        engine.dispose()
    assert (users, sessions) == (GROWTH.users, 1 + GROWTH.login_as_sessions)
    assert log >= GROWTH.log_rows + GROWTH.login_as_sessions
    assert seconds < 60  # row by row from Python this would take minutes


def test_the_scan_runs_the_same_queries_on_the_larger_site(grown):
    _server, _name, before, after, _seconds = grown
    assert after.purposes == before.purposes


def test_privileged_users_and_factors_are_read_in_one_query_however_many(grown):
    """Course roles counted as privileged: 1,200 new editing teachers join the privileged
    population, yet its users and MFA factors are one query each, joined in the database
    against the grant holders (never id batches of 1,000 / 500 from Python), and the scan as a
    whole runs the same queries as on the 40-user site."""
    server, _name, _before, _after, _seconds = grown
    wide_before, wide_after = _COURSE_ROLE_SCANS[server.kind]
    teachers = GROWTH.users // GROWTH.teachers
    users = "people: users of a population read in SQL (no secrets)"
    assert wide_after.rows[users] - wide_before.rows[users] >= teachers > 1000
    assert wide_after.purposes == wide_before.purposes
    population = {
        purpose: n
        for purpose, n in wide_after.purposes.items()
        if purpose.startswith(("people: users", "mfa: factors"))
    }
    assert population == {
        "people: users of a population read in SQL (no secrets)": 1,
        "mfa: factors held by the users of a population (non-revoked tool_mfa rows)": 1,
    }


def test_log_rows_read_are_bounded_counts_not_the_log(grown):
    _server, _name, before, after, _seconds = grown
    assert after.log_rows_read - before.log_rows_read < 100  # the log grew by 60,000 rows


def test_findings_grow_only_with_privileged_accounts(grown):
    """6,000 users, 1,200 of them editing teachers: only the 3 new category managers are
    privileged (and each is a privileged role holder nobody approved)."""
    _server, _name, before, after, _seconds = grown
    grew = {
        check: n - before.findings[check]
        for check, n in after.findings.items()
        if n != before.findings[check]
    }
    assert grew == {
        "access.system_role_holders_approved": NEW_MANAGERS,
        "identity.privileged_accounts_active": NEW_MANAGERS,
        "identity.privileged_accounts_use_mfa": NEW_MANAGERS,
    }


def test_memory_stays_flat(grown):
    _server, _name, before, after, _seconds = grown
    assert after.peak_bytes < 1.5 * before.peak_bytes


def test_log_in_as_sessions_come_through_the_realuserid_index(grown):
    """On a log of 60,000 rows with real statistics, both planners choose the index."""
    server, name, _before, after, _seconds = grown
    sql, params = after.login_as
    engine = server.admin_engine(name)
    try:
        with engine.connect() as connection:
            plan = [str(row[0]) if server.kind == "postgresql" else str(dict(row._mapping))
                    for row in connection.exec_driver_sql("EXPLAIN " + sql, params)]  # fmt: skip
    finally:
        engine.dispose()
    assert any("logsstanlog_rea_ix" in line for line in plan), plan


def _assignments_read(server: Server, name: str, sql: str, params: dict[str, object]) -> int:
    """How many role_assignments rows the query reads, as the server's own ANALYZE counts them
    (every row an index or table scan fetched, kept or filtered out, times its loops).

    PostgreSQL runs it with sequential scans, hash and merge joins off: on 13,500 assignments
    reading them all is its cheapest plan, so what is judged is the best path through the
    indexes, joined row by row, as the planner takes it on a large site."""
    engine = server.admin_engine(name)
    try:
        with engine.connect() as connection:
            if server.kind == "postgresql":
                for setting in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin"):
                    connection.exec_driver_sql(f"SET {setting} = off")
                plan = connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params
                ).scalar()
            else:
                plan = json.loads(
                    connection.exec_driver_sql("ANALYZE FORMAT=JSON " + sql, params).scalar()
                )
    finally:
        engine.dispose()
    read = 0

    def walk(node: object) -> None:
        nonlocal read
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if node.get("Relation Name") == "mdl_role_assignments":  # PostgreSQL
                fetched = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
                read += int(fetched * node["Actual Loops"])
            if node.get("table_name") == "mdl_role_assignments":  # MariaDB
                read += int(float(node.get("r_rows") or 0) * float(node.get("r_loops") or 0))
            for value in node.values():
                walk(value)

    walk(plan)
    return read


ASSIGNMENT_QUERIES = (
    "privileges: users whose role allows moodle/user:loginas (at most 50000)",
    "privileges: assignments of roles with risky capabilities, any context (at most 50000)",
    "roles: core_riskxss trusted user count",
    "roles: core_riskbackup user count",
)


def test_privileged_assignments_are_read_by_role_not_through_every_context(grown):
    """The students' 12,000 of the 13,500 role assignments are never read to find the
    privileged ones: "log in as" holders, risky assignments and Moodle's riskxss/riskbackup
    counts reach the few roles at stake through the role index (on the grown weak fixture the
    planners paired every context with its assignments: all 525,292 read, 1.1 s)."""
    server, name, _before, after, _seconds = grown
    engine = server.admin_engine(name)
    try:
        with engine.connect() as connection:
            total = int(
                connection.exec_driver_sql("SELECT count(*) FROM mdl_role_assignments").scalar_one()
            )
    finally:
        engine.dispose()
    assert set(ASSIGNMENT_QUERIES) <= set(after.on_assignments)
    read = {
        purpose: _assignments_read(server, name, *after.on_assignments[purpose])
        for purpose in ASSIGNMENT_QUERIES
    }
    assert {purpose: n for purpose, n in read.items() if n > total // 4} == {}
