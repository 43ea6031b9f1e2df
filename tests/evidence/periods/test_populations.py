"""Populations of a synthetic site with known events: complete, masked, hashed, stored."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.errors import UsageError
from moodle_soc.evidence.periods import populations as pops
from moodle_soc.evidence.periods.populations import (
    Population,
    PopulationTooLargeError,
    build_population,
    build_populations,
    rows_sha256,
    store_population,
)
from moodle_soc.evidence.store.canonical import canonical_bytes
from moodle_soc.evidence.store.runs import site_ref_for, site_ref_for_site
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.records import RecordKind
from moodle_soc.policy import Policy
from moodle_soc.synthetic.builder import SiteBuilder

START, END = date(2026, 11, 1), date(2026, 11, 28)
SECRETS = ("s3cr3t-salt-value", "old-salt-value", "ldap-bind-secret")
ADMIN = 2


def at(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> int:
    return int(datetime(2026, month, day, hour, minute, tzinfo=UTC).timestamp())


def period_site(b: SiteBuilder) -> dict[str, int]:
    """Known events inside and outside November 1-28; returns the user ids by name."""
    ids = {
        "alice": b.user("alice", timecreated=at(5)),  # row and event
        "bob": b.user("bob", timecreated=at(6)),  # row only
        "carol": b.user("carol", timecreated=at(1, month=10)),  # event only (row outside)
        "dave": b.user("dave", timecreated=at(15, month=10)),  # outside
        "edgar": b.user("edgar", timecreated=at(28, 23, 59) + 59),  # last second of the period
        "frank": b.user("frank", timecreated=at(29, 0)),  # first second after it
        "gina": b.user("gina", suspended=1, timecreated=at(1, month=10), lastaccess=at(10)),
        "hank": b.user("hank", deleted=1, timecreated=at(1, month=10), lastaccess=at(12)),
        "ivan": b.user("ivan", suspended=1, timecreated=at(1, month=9), lastaccess=at(3, month=10)),
    }
    for name, when in (("alice", at(5)), ("carol", at(7))):
        b.log("\\core\\event\\user_created", timecreated=when, objecttable="user",
              objectid=ids[name], relateduserid=ids[name], userid=ADMIN, crud="c")  # fmt: skip
    b.log("\\core\\event\\user_deleted", timecreated=at(12), objecttable="user",
          objectid=ids["hank"], relateduserid=ids["hank"], userid=ADMIN, crud="d",
          other={"username": "hank", "email": "hank@example.test"}, other_format="php")  # fmt: skip
    _, category_ctx = b.category("Staff")
    _, course_ctx = b.course("C1")
    for event, role, user, ctx, level, when in (
        ("role_assigned", "manager", "alice", 1, 10, at(8)),  # system level
        ("role_assigned", "student", "bob", course_ctx, 50, at(8, 13)),  # not privileged
        ("role_assigned", "editingteacher", "bob", category_ctx, 40, at(9)),  # category level
        ("role_unassigned", "manager", "carol", course_ctx, 50, at(11)),  # a risky role
        ("role_assigned", "manager", "dave", 1, 10, at(20, month=10)),  # outside
    ):
        b.log(f"\\core\\event\\{event}", timecreated=when, objecttable="role",
              objectid=b.role_id(role), relateduserid=ids[user], userid=ADMIN, contextid=ctx,
              contextlevel=level, contextinstanceid=7, other={"id": 1, "component": "",
              "itemid": 0})  # fmt: skip
    b.config_log("passwordpolicy", 1, 0, timemodified=at(3))
    b.config_log("passwordsaltmain", SECRETS[0], SECRETS[1], timemodified=at(4))
    b.config_log("bind_pw", SECRETS[2], "", plugin="auth_ldap", timemodified=at(4, 13))
    b.config_log("siteadmins", f"2,{ids['alice']}", "2", userid=ADMIN, timemodified=at(13))
    b.config_log("forcelogin", 1, 0, timemodified=at(20, month=10))  # outside
    b.token(ids["alice"], timecreated=at(14), name="integration")
    b.token(ids["bob"], timecreated=at(2, month=10))
    b.token(ids["edgar"], timecreated=at(29, 1))  # created after the period
    for minute in range(6):  # a burst: 6 wrong passwords from one IP within one hour
        b.log("\\core\\event\\user_login_failed", timecreated=at(15, 9, minute * 5), ip="10.0.0.1",
              userid=ids["alice"], other={"username": "alice", "reason": 3},
              other_format="php" if minute % 2 else "json")  # fmt: skip
    for minute in (50, 55, 65, 70, 75):  # 5 attempts, split 2/3 over two hours: no burst
        b.log("\\core\\event\\user_login_failed", timecreated=at(16, 9) + minute * 60,
              ip="10.0.0.9", other={"username": "nobody", "reason": 1})  # fmt: skip
    return ids


@pytest.fixture
def site(builder: SiteBuilder, make_site: Any) -> Any:
    period_site(builder)
    return make_site(builder)


def _built(site: Any) -> dict[str, Population]:
    return {p.name: p for p in build_populations(site, START, END)}


def test_users_created_joins_rows_and_events(site: Any) -> None:
    rows = _built(site)["users_created"].rows
    got = {r["username"]: r["evidence"] for r in rows}
    assert got == {"alice": "user row and event", "bob": "user row only",
                   "carol": "event only", "edgar": "user row only"}  # fmt: skip
    alice = next(r for r in rows if r["username"] == "alice")
    assert (alice["actor"], alice["event_time"], alice["timecreated"]) == (
        "admin", "2026-11-05T12:00:00Z", "2026-11-05T12:00:00Z")  # fmt: skip


def test_users_deleted_or_suspended(site: Any) -> None:
    rows = _built(site)["users_deleted_or_suspended"].rows
    got = {r["username"]: (r["change"], r["evidence"]) for r in rows}
    assert got == {
        "gina": ("suspended", "user row only"),
        "hank": ("deleted", "user row and event"),
    }


def test_privileged_role_changes_include_siteadmins(site: Any) -> None:
    rows = _built(site)["privileged_role_changes"].rows
    got = [(r["change"], r["role"], r["username"], r["context"], r["source"]) for r in rows]
    assert got == [
        ("assigned", "manager", "alice", "system", "logstore_standard_log"),
        ("assigned", "editingteacher", "bob", "category:7", "logstore_standard_log"),
        ("unassigned", "manager", "carol", "course:7", "logstore_standard_log"),
        ("assigned", "siteadmin", "alice", "system", "config_log"),
    ]


def test_config_changes_mask_secret_values(site: Any) -> None:
    population = _built(site)["config_changes"]
    got = {r["name"]: (r["oldvalue"], r["value"], r["masked"]) for r in population.rows}
    assert got["passwordpolicy"] == ("0", "1", False)
    assert got["passwordsaltmain"] == ("********", "********", True)
    assert got["bind_pw"] == ("", "********", True)
    assert "forcelogin" not in got and population.row_count == 4


def test_no_secret_or_token_value_leaves_the_site(site: Any) -> None:
    import sqlalchemy as sa

    text = "".join(p.model_dump_json() for p in _built(site).values())
    tokens = site.db.connection.execute(
        sa.text("SELECT token, privatetoken FROM mdl_external_tokens")
    ).all()
    for secret in (*SECRETS, *(v for row in tokens for v in row)):
        assert secret not in text


def test_webservice_tokens_existing_at_the_end_of_the_period(site: Any) -> None:
    rows = _built(site)["webservice_tokens"].rows
    assert [(r["username"], r["created_in_period"], r["name"]) for r in rows] == [
        ("alice", True, "integration"), ("bob", False, None)]  # fmt: skip


def test_failed_login_bursts(site: Any) -> None:
    (burst,) = _built(site)["failed_login_bursts"].rows
    assert burst["username"] == "alice" and burst["ip"] == "10.0.0.1"
    assert (burst["hour"], burst["attempts"]) == ("2026-11-15T09:00:00Z", 6)
    assert (burst["first_at"], burst["last_at"]) == ("2026-11-15T09:00:00Z", "2026-11-15T09:25:00Z")
    assert burst["reasons"] == "wrong password: 6"
    lower = build_population(site, "failed_login_bursts", START, END, burst_threshold=3)
    assert [(r["username"], r["attempts"]) for r in lower.rows] == [("alice", 6), ("nobody", 3)]


def test_each_population_has_its_queries_count_and_a_reproducible_hash(
    site: Any, builder: SiteBuilder, make_site: Any
) -> None:
    first, again = _built(site), _built(make_site(builder))
    for name, population in first.items():
        assert population.row_count == len(population.rows)
        assert population.sha256 == rows_sha256(population.rows) == again[name].sha256
        jsonl = b"".join(canonical_bytes(row) + b"\n" for row in population.rows)
        assert hashlib.sha256(jsonl).hexdigest() == population.sha256
        assert population.query_sql and all("FROM mdl_" in q.sql for q in population.query_sql)
        assert all(set(row) == set(population.columns) for row in population.rows)
    (config_query,) = first["config_changes"].query_sql
    assert config_query.rows == 4 and at(1, 0) in config_query.params.values()


def test_store_population_round_trips(site: Any, sqlite_store: EvidenceStore) -> None:
    store = sqlite_store
    population = build_population(site, "config_changes", START, END)
    record = store_population(store, site_ref_for_site(site), population)
    assert record.kind == RecordKind.POPULATION and record.effective_date == END
    assert record.collected_at == population.audit_time
    assert Population.model_validate(store.payload(record)) == population
    run = run_scan(ScanContext(site, Policy()), checks=[])
    assert site_ref_for_site(site) == site_ref_for(run)  # the same chain as scan's runs


def test_guards(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="Unknown population"):
        build_population(site, "everything", START, END)
    with pytest.raises(UsageError, match="ends"):
        build_population(site, "config_changes", END, START)
    monkeypatch.setattr(pops, "MAX_ROWS", 3)
    with pytest.raises(PopulationTooLargeError, match="more than 3 rows"):
        build_population(site, "config_changes", START, END)
