"""No scan query reads the whole standard log: each one has an index path on it.

The standard log holds tens of millions of rows on a large site, so every query a scan runs on
it must be able to reach its rows through an index (``timecreated`` for time-bounded counts,
``realuserid`` for "log in as" sessions, ``userid`` for per-user counts). The queries are the
ones a real scan of each fixture recorded, re-planned with ``EXPLAIN`` on its own server:

- PostgreSQL, with ``enable_seqscan`` off (the planner then seq-scans only a table it has no
  index path into): every plan node on the log is an index or bitmap scan with a condition;
- MariaDB: every plan row on the log names the indexes it could use (``possible_keys``).

Fixture logs are small, so which path the planner prefers is not judged, only that one exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from .conftest import Scans, restored
from .fixtures import FIXTURE_SITES, RestoredSite

pytestmark = pytest.mark.integration

LOG = "logstore_standard_log"
INDEXED_NODES = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _unindexed(site: RestoredSite, sql: str, params: dict[str, Any]) -> list[str]:
    """How ``sql`` reaches the log without an index condition (empty when it always uses one)."""
    table = site.prefix + LOG
    with site.admin.connect() as connection:
        if site.server.kind == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar()
            assert isinstance(plan, list)
            return [
                f"{node['Node Type']} on {table}"
                for node in _nodes(plan[0]["Plan"])
                if node.get("Relation Name") == table
                and (
                    node["Node Type"] not in INDEXED_NODES
                    or not (node.get("Index Cond") or node.get("Recheck Cond"))
                )
            ]
        rows = connection.exec_driver_sql("EXPLAIN " + sql, params).mappings().all()
        return [
            f"type {row['type']} on {table}, no possible key"
            for row in rows
            if row["table"] == table and not row["possible_keys"]
        ]


def _site(request: pytest.FixtureRequest, key: str) -> RestoredSite:
    (fixture,) = [f for f in FIXTURE_SITES if f.key == key]
    return restored(request, fixture)


@pytest.mark.parametrize("key", [f.key for f in FIXTURE_SITES])
def test_every_scan_query_on_the_standard_log_has_an_index_path(
    request: pytest.FixtureRequest, scans: Scans, key: str
) -> None:
    site = _site(request, key)
    queries = [q for q in scans.run(site).queries if site.prefix + LOG in q["sql"]]

    assert len(queries) >= 4  # logins, log in as, suspended users' failures, bounds
    problems = {q["purpose"]: _unindexed(site, q["sql"], q["params"]) for q in queries}
    assert {purpose: how for purpose, how in problems.items() if how} == {}


@pytest.mark.parametrize("key", [f.key for f in FIXTURE_SITES])
def test_a_filter_on_the_event_name_alone_is_caught(
    request: pytest.FixtureRequest, key: str
) -> None:
    """The judge above is not blind: ``eventname`` has no index, so this reads the whole log."""
    site = _site(request, key)
    table = sa.table(site.prefix + LOG, sa.column("eventname"))
    bad = sa.select(sa.func.count()).select_from(table).where(table.c.eventname == "x")
    compiled = bad.compile(dialect=site.admin.dialect)

    assert _unindexed(site, str(compiled), dict(compiled.params))


def test_log_in_as_sessions_are_read_through_the_realuserid_index(
    request: pytest.FixtureRequest, scans: Scans
) -> None:
    """MariaDB (hardened fixture) chooses the realuserid index even on a small log."""
    site = _site(request, "hardened")
    (query,) = [q for q in scans.run(site).queries if "'log in as'" in q["purpose"]]

    assert "realuserid IS NOT NULL" in query["sql"]
    with site.admin.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN " + query["sql"], query["params"])
        keys = [row["key"] for row in rows.mappings() if row["table"] == site.prefix + LOG]
    assert keys == [f"{site.prefix}logsstanlog_rea_ix"]


def _possible_keys(site: RestoredSite, sql: str, params: dict[str, Any]) -> set[str]:
    """MariaDB: the indexes the plan could use on the log."""
    with site.admin.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN " + sql, params).mappings().all()
    table = site.prefix + LOG
    return {k for r in rows if r["table"] == table for k in str(r["possible_keys"]).split(",")}


@pytest.mark.parametrize("key", [f.key for f in FIXTURE_SITES])
def test_role_definition_events_are_read_for_their_possible_actors_only(
    request: pytest.FixtureRequest, scans: Scans, key: str
) -> None:
    """Not the whole change window: only the rows of the users who can write a role event,
    through the ``userid`` index (issue 9)."""
    site = _site(request, key)
    queries = [
        q
        for q in scans.run(site).queries
        if q["purpose"].startswith("changes: role definition events")
    ]

    (query,) = queries  # once per scan: the change population's window covers the log review's
    assert f"{site.prefix}{LOG}.userid IN (" in query["sql"]
    assert _unindexed(site, query["sql"], query["params"]) == []
    if site.server.kind == "mariadb":
        assert f"{site.prefix}logsstanlog_use_ix" in _possible_keys(
            site, query["sql"], query["params"]
        )
