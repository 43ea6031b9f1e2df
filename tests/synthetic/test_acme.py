"""The Acme Academy demo site: deterministic, fast, and weak exactly where it says it is."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from moodle_soc.synthetic.acme import ACME_STRENGTHS, ACME_WEAKNESSES, build_acme

NOW = 1795936000
DAY = 86400
Probe = Callable[[sa.Connection], bool]


def value(conn: sa.Connection, sql: str, **params: Any) -> Any:
    return conn.execute(sa.text(sql), params).scalar()


def cfg(conn: sa.Connection, name: str, plugin: str | None = None) -> Any:
    if plugin is None:
        return value(conn, "SELECT value FROM mdl_config WHERE name = :n", n=name)
    sql = "SELECT value FROM mdl_config_plugins WHERE plugin = :p AND name = :n"
    return value(conn, sql, p=plugin, n=name)


def admins(conn: sa.Connection) -> dict[str, int]:
    ids = [int(i) for i in cfg(conn, "siteadmins").split(",")]
    found = conn.execute(sa.text("SELECT id, username, lastaccess FROM mdl_user")).fetchall()
    return {r.username: r.lastaccess for r in found if r.id in ids}


def unrestricted_tokens(conn: sa.Connection) -> list[Any]:
    sql = """SELECT t.userid, u.username FROM mdl_external_tokens t
             JOIN mdl_user u ON u.id = t.userid
             WHERE t.iprestriction IS NULL AND (t.validuntil IS NULL OR t.validuntil = 0)"""
    return list(conn.execute(sa.text(sql)).fetchall())


WEAKNESS_PROBES: dict[str, Probe] = {
    "password_policy_weak": lambda c: (
        cfg(c, "minpasswordlength") == "6"
        and {cfg(c, f"minpassword{k}") for k in ("digits", "lower", "upper", "nonalphanum")}
        == {"0"}
        and cfg(c, "passwordreuselimit") == "0"
    ),
    "lockout_disabled": lambda c: cfg(c, "lockoutthreshold") == "0",
    "mfa_disabled": lambda c: cfg(c, "enabled", "tool_mfa") == "0",
    "session_timeout_long": lambda c: cfg(c, "sessiontimeout") == "86400",
    "too_many_site_admins": lambda c: len(admins(c)) == 3,
    "dormant_site_admin": lambda c: admins(c)["j.hartley"] == NOW - 200 * DAY,
    "generic_admin_account": lambda c: "admin2" in admins(c),
    "support_manager": lambda c: value(
        c, """SELECT COUNT(*) FROM mdl_role_assignments ra JOIN mdl_user u ON u.id = ra.userid
              WHERE u.username = 'support' AND ra.roleid = 1 AND ra.contextid = 1"""
    ) == 1,
    "risky_override": lambda c: value(
        c, """SELECT c.riskbitmask FROM mdl_role_capabilities rc
              JOIN mdl_capabilities c ON c.name = rc.capability
              JOIN mdl_context x ON x.id = rc.contextid
              WHERE rc.roleid = 3 AND x.contextlevel = 50 AND rc.permission = 1"""
    ) & 2 == 2,
    "web_services_exposed": lambda c: (
        cfg(c, "enablewebservices") == "1" and cfg(c, "webserviceprotocols") == "rest,soap"
    ),
    "tokens_unrestricted": lambda c: (
        len(unrestricted_tokens(c)) == 2
        and any(t.username in admins(c) for t in unrestricted_tokens(c))
    ),
    "expired_token_present": lambda c: value(
        c, "SELECT COUNT(*) FROM mdl_external_tokens WHERE validuntil > 0 AND validuntil < :n",
        n=NOW,
    ) == 1,
    "log_retention_short": lambda c: cfg(c, "loglifetime", "logstore_standard") == "90",
    "backups_failing": lambda c: (
        cfg(c, "backup_auto_active", "backup") == "1"
        and value(c, "SELECT COUNT(*) FROM mdl_backup_courses WHERE laststatus = '0'") == 2
    ),
    "cron_stale": lambda c: int(cfg(c, "lastcronstart", "tool_task")) == NOW - 3 * DAY,
    "task_failing": lambda c: value(
        c, "SELECT classname FROM mdl_task_scheduled WHERE faildelay = 7200"
    ) == r"\core\task\automated_backup_task",
    "debug_display": lambda c: cfg(c, "debug") == "32767" and cfg(c, "debugdisplay") == "1",
    "frame_embedding": lambda c: cfg(c, "allowframembedding") == "1",
    "cookie_not_secure": lambda c: cfg(c, "cookiesecure") == "0",
    "dpo_contact_off": lambda c: cfg(c, "contactdataprotectionofficer", "tool_dataprivacy")
    == "0",
    "no_site_policy": lambda c: (
        cfg(c, "sitepolicyhandler") == ""
        and cfg(c, "sitepolicy") == ""
        and value(c, "SELECT COUNT(*) FROM mdl_tool_policy") == 0
    ),
    "privacy_request_overdue": lambda c: value(
        c, "SELECT timecreated FROM mdl_tool_dataprivacy_request WHERE status = 0"
    ) == NOW - 60 * DAY,
    "xss_name": lambda c: value(
        c, "SELECT COUNT(*) FROM mdl_user WHERE firstname = '<script>alert(1)</script>'"
    ) == 1,
}  # fmt: skip

STRENGTH_PROBES: dict[str, Probe] = {
    "https": lambda c: True,  # wwwroot lives in config.php; checked on the builder below
    "cron_cli_only": lambda c: cfg(c, "cronclionly") == "1",
    "force_login": lambda c: cfg(c, "forcelogin") == "1",
    "no_crawlers": lambda c: cfg(c, "opentowebcrawlers") == "0",
    "no_object_embed": lambda c: cfg(c, "allowobjectembed") == "0",
    "cache_js": lambda c: cfg(c, "cachejs") == "1",
    "email_change_confirmed": lambda c: cfg(c, "emailchangeconfirmation") == "1",
    "no_auth_none": lambda c: "none" not in cfg(c, "auth").split(","),
    "no_self_registration": lambda c: cfg(c, "registerauth") == "",
}


@pytest.fixture(scope="module")
def acme() -> Iterator[sa.Engine]:
    engine = build_acme().sqlite_memory()
    yield engine
    engine.dispose()


def table_digests(engine: sa.Engine) -> dict[str, str]:
    digests = {}
    with engine.connect() as conn:
        for table in sorted(sa.inspect(engine).get_table_names()):
            found = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).fetchall()
            digests[table] = hashlib.sha256(repr(found).encode()).hexdigest()
    return digests


def test_every_weakness_and_strength_has_a_probe() -> None:
    assert set(WEAKNESS_PROBES) == set(ACME_WEAKNESSES)
    assert set(STRENGTH_PROBES) == set(ACME_STRENGTHS)
    assert all(text.endswith(".") for text in (*ACME_WEAKNESSES.values(), *ACME_STRENGTHS.values()))


@pytest.mark.parametrize("key", sorted(WEAKNESS_PROBES))
def test_documented_weakness_is_present(acme: sa.Engine, key: str) -> None:
    with acme.connect() as conn:
        assert WEAKNESS_PROBES[key](conn), ACME_WEAKNESSES[key]


@pytest.mark.parametrize("key", sorted(STRENGTH_PROBES))
def test_documented_strength_is_present(acme: sa.Engine, key: str) -> None:
    with acme.connect() as conn:
        assert STRENGTH_PROBES[key](conn), ACME_STRENGTHS[key]


def test_wwwroot_is_https() -> None:
    assert build_acme(users=10).wwwroot.startswith("https://")


def test_build_is_deterministic() -> None:
    first, second = build_acme().sqlite_memory(), build_acme().sqlite_memory()
    assert table_digests(first) == table_digests(second)
    third = build_acme(seed=7).sqlite_memory()
    assert table_digests(third)["mdl_user"] != table_digests(first)["mdl_user"]


def test_default_build_is_fast() -> None:
    start = time.perf_counter()
    build_acme().sqlite_memory().dispose()
    assert time.perf_counter() - start < 5


def test_logs_look_like_a_busy_site(acme: sa.Engine) -> None:
    with acme.connect() as conn:
        users = value(conn, "SELECT COUNT(*) FROM mdl_user WHERE id > 2")
        logs = value(conn, "SELECT COUNT(*) FROM mdl_logstore_standard_log")
        oldest = value(conn, "SELECT MIN(timecreated) FROM mdl_logstore_standard_log")
        php = value(conn, "SELECT COUNT(*) FROM mdl_logstore_standard_log WHERE other LIKE 'a:%'")
        js = value(conn, "SELECT COUNT(*) FROM mdl_logstore_standard_log WHERE other LIKE '{%'")
        failures = conn.execute(sa.text(
            "SELECT other FROM mdl_logstore_standard_log WHERE action = 'failed'"
        )).scalars().all()  # fmt: skip
    assert 7 * users <= logs <= 13 * users
    assert oldest >= NOW - 400 * DAY
    assert php > 100 and js > 100
    reasons = {r for r in range(1, 6) if any(f'"reason":{r}' in o or f"i:{r};" in o
                                             for o in failures)}  # fmt: skip
    assert reasons == {1, 2, 3, 4, 5}


def test_population_has_dormant_suspended_and_deleted_users(acme: sa.Engine) -> None:
    with acme.connect() as conn:
        never = value(conn, "SELECT COUNT(*) FROM mdl_user WHERE lastaccess = 0 AND id > 2")
        dormant = value(conn, "SELECT COUNT(*) FROM mdl_user WHERE lastaccess BETWEEN 1 AND :t",
                        t=NOW - 120 * DAY)  # fmt: skip
        suspended = value(conn, "SELECT COUNT(*) FROM mdl_user WHERE suspended = 1")
        deleted = value(conn, "SELECT COUNT(*) FROM mdl_user WHERE deleted = 1")
        courses = value(conn, "SELECT COUNT(*) FROM mdl_course WHERE id > 1")
        teachers = value(conn, "SELECT COUNT(*) FROM mdl_role_assignments WHERE roleid = 3")
    assert min(never, dormant, suspended, deleted, teachers) > 0
    assert courses == 15


# -- the same site in PostgreSQL and MariaDB --------------------------------------------------

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4",
}
MAINTENANCE_DB = {"postgresql": "postgres", "mariadb": ""}


@pytest.fixture
def server_db(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """A throwaway database on a local server, dropped afterwards."""
    kind: str = request.param
    name = f"msoc_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        SERVERS[kind].format(db=MAINTENANCE_DB[kind]), isolation_level="AUTOCOMMIT"
    )
    create = f'CREATE DATABASE "{name}"' if kind == "postgresql" else (
        f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")  # fmt: skip
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(create)
    except sa.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{kind} server unreachable: {error.orig}")
    engine = sa.create_engine(SERVERS[kind].format(db=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name}")
        admin.dispose()


PROBE_ROWS: dict[str, dict[str, object]] = {
    "mdl_config": {"name": "msoc_probe", "value": "1"},
    "mdl_user": {"username": "msoc_probe"},
    "mdl_logstore_standard_log": {
        "eventname": "x", "component": "core", "action": "a", "target": "t", "crud": "r",
        "edulevel": 0, "contextid": 1, "contextlevel": 10, "contextinstanceid": 0, "userid": 0,
        "timecreated": NOW,
    },
}  # fmt: skip


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: value(conn, f"SELECT COUNT(*) FROM {table}")
            for table in sorted(sa.inspect(engine).get_table_names())
        }


@pytest.mark.integration
@pytest.mark.parametrize("server_db", sorted(SERVERS), indirect=True)
def test_round_trip_on_server(server_db: sa.Engine) -> None:
    site = build_acme(users=1000)
    site.write(server_db)
    reference = site.sqlite_memory()
    assert counts(server_db) == counts(reference)
    with server_db.connect() as conn:
        for key in ("tokens_unrestricted", "dormant_site_admin", "xss_name", "backups_failing"):
            assert WEAKNESS_PROBES[key](conn), key
        for table, columns in PROBE_ROWS.items():
            # Explicit ids must not leave a sequence behind: the next insert takes max + 1.
            top = value(conn, f"SELECT MAX(id) FROM {table}")
            names = ", ".join(columns)
            marks = ", ".join(f"'{v}'" for v in columns.values())
            conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"))
            assert value(conn, f"SELECT MAX(id) FROM {table}") == top + 1
        conn.rollback()
        user_sql = "SELECT id, username, password, firstname FROM mdl_user ORDER BY id"
        on_server = conn.execute(sa.text(user_sql)).fetchall()
    with reference.connect() as conn:
        assert on_server == conn.execute(sa.text(user_sql)).fetchall()
