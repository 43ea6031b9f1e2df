"""The synthetic site builder: schema, fresh-install seed and one test per builder method."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phpserialize
import pytest
import sqlalchemy as sa

from moodle_soc.synthetic.builder import SiteBuilder
from moodle_soc.synthetic.events import encode_other
from moodle_soc.synthetic.install import RELEASES
from moodle_soc.synthetic.schema import SECRET_COLUMNS, moodle_metadata

NOW = 1795936000


def rows(engine: sa.Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]


def one(engine: sa.Engine, sql: str, **params: Any) -> dict[str, Any]:
    (row,) = rows(engine, sql, **params)
    return row


def setting(engine: sa.Engine, name: str, plugin: str | None = None) -> str | None:
    if plugin is None:
        found = rows(engine, "SELECT value FROM mdl_config WHERE name = :n", n=name)
    else:
        sql = "SELECT value FROM mdl_config_plugins WHERE plugin = :p AND name = :n"
        found = rows(engine, sql, p=plugin, n=name)
    return found[0]["value"] if found else None


@pytest.fixture
def builder() -> SiteBuilder:
    return SiteBuilder(now=NOW)


@pytest.fixture
def fresh() -> Iterator[sa.Engine]:
    engine = SiteBuilder(now=NOW).sqlite_memory()
    yield engine
    engine.dispose()


# -- schema ----------------------------------------------------------------------------------


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_schema_creates_on_sqlite(release: str) -> None:
    engine = sa.create_engine("sqlite://")
    moodle_metadata("mdl_", release).create_all(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"mdl_config", "mdl_user", "mdl_logstore_standard_log", "mdl_sessions"} <= tables


def test_logstore_has_moodles_indexes() -> None:
    table = moodle_metadata().tables["mdl_logstore_standard_log"]
    indexed = {tuple(c.name for c in index.columns) for index in table.indexes}
    assert ("timecreated",) in indexed
    assert ("userid", "contextlevel", "contextinstanceid", "crud", "edulevel", "timecreated") in (
        indexed
    )


def test_release_41_schema_lacks_later_tables_and_columns() -> None:
    old, new = moodle_metadata(release="4.1"), moodle_metadata(release="5.1")
    assert "mdl_tool_mfa" not in old.tables and "mdl_tool_mfa" in new.tables
    assert "name" not in old.tables["mdl_external_tokens"].c
    assert "name" in new.tables["mdl_external_tokens"].c
    assert "attemptsavailable" not in old.tables["mdl_task_adhoc"].c
    assert "firststartingtime" in new.tables["mdl_task_adhoc"].c


def test_prefix_is_applied() -> None:
    assert "m41_user" in moodle_metadata("m41_", "4.1").tables


def test_secret_columns_exist() -> None:
    metadata = moodle_metadata()
    for table, columns in SECRET_COLUMNS.items():
        for column in columns:
            assert column in metadata.tables[f"mdl_{table}"].c


# -- the fresh install ---------------------------------------------------------------------------


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_fresh_install_has_version_rows(release: str) -> None:
    engine = SiteBuilder(release=release).sqlite_memory()
    version, name, branch = RELEASES[release]
    assert setting(engine, "version") == version
    assert setting(engine, "release") == name
    assert setting(engine, "branch") == branch


def test_fresh_install_has_core_rows(fresh: sa.Engine) -> None:
    assert setting(fresh, "siteadmins") == "2"
    assert setting(fresh, "siteguest") == "1"
    assert setting(fresh, "defaultuserroleid") == "7"
    users = rows(fresh, "SELECT id, username, auth, mnethostid FROM mdl_user ORDER BY id")
    assert [(u["id"], u["username"]) for u in users] == [(1, "guest"), (2, "admin")]
    system = one(fresh, "SELECT * FROM mdl_context WHERE id = 1")
    assert (system["contextlevel"], system["instanceid"], system["path"]) == (10, 0, "/1")
    site = one(fresh, "SELECT * FROM mdl_course WHERE id = 1")
    assert (site["format"], site["fullname"]) == ("site", "Acme Academy")


def test_fresh_install_has_standard_roles(fresh: sa.Engine) -> None:
    found = rows(fresh, "SELECT id, shortname, archetype FROM mdl_role ORDER BY id")
    expected = ["manager", "coursecreator", "editingteacher", "teacher", "student", "guest",
                "user", "frontpage"]  # fmt: skip
    assert [(r["id"], r["shortname"], r["archetype"]) for r in found] == [
        (i, name, name) for i, name in enumerate(expected, start=1)
    ]


@pytest.mark.parametrize(
    ("name", "value", "plugin"),
    [
        ("passwordpolicy", "1", None),
        ("minpasswordlength", "8", None),
        ("lockoutthreshold", "0", None),
        ("sessiontimeout", "28800", None),
        ("cookiesecure", "1", None),
        ("cronclionly", "1", None),
        ("forcelogin", "0", None),
        ("debugdisplay", "0", None),
        ("enablewebservices", "0", None),
        ("auth", "", None),
        ("loglifetime", "0", "logstore_standard"),
        ("jsonformat", "1", "logstore_standard"),
        ("enabled_stores", "logstore_standard", "tool_log"),
        ("backup_auto_active", "0", "backup"),
        ("lastcronstart", str(NOW - 60), "tool_task"),
        ("enabled", "0", "tool_mfa"),
        ("enabled", "1", "factor_email"),
        ("version", "2025100600", "tool_mfa"),
        ("contactdataprotectionofficer", "0", "tool_dataprivacy"),
    ],
)
def test_fresh_install_defaults(fresh: sa.Engine, name: str, value: str, plugin: str) -> None:
    assert setting(fresh, name, plugin) == value


def test_release_41_install_has_no_mfa() -> None:
    engine = SiteBuilder(release="4.1").sqlite_memory()
    assert setting(engine, "version", "tool_mfa") is None
    assert setting(engine, "cookiehttponly") == "0"
    assert "mdl_tool_mfa" not in sa.inspect(engine).get_table_names()


def test_capabilities_carry_real_risks(fresh: sa.Engine) -> None:
    risks = {r["name"]: r["riskbitmask"] for r in rows(fresh, "SELECT * FROM mdl_capabilities")}
    assert len(risks) >= 60
    assert risks["moodle/site:config"] == 62
    assert risks["moodle/user:loginas"] == 30
    assert risks["tool/dataprivacy:requestdelete"] == 32


def test_authenticated_user_role_allows_no_config_or_xss_risk(fresh: sa.Engine) -> None:
    sql = """SELECT c.name, c.riskbitmask FROM mdl_role_capabilities rc
             JOIN mdl_capabilities c ON c.name = rc.capability
             WHERE rc.roleid = 7 AND rc.contextid = 1 AND rc.permission = 1"""
    risky = {r["name"] for r in rows(fresh, sql) if r["riskbitmask"] & 38}
    # As in real Moodle: users may ask for their own data to be deleted (RISK_DATALOSS).
    assert risky == {"tool/dataprivacy:requestdelete"}


def test_scheduled_tasks_are_healthy(fresh: sa.Engine) -> None:
    tasks = rows(fresh, "SELECT * FROM mdl_task_scheduled")
    assert len(tasks) >= 20
    assert {(t["faildelay"], t["disabled"], t["lastruntime"]) for t in tasks} == {(0, 0, NOW - 300)}


def test_secrets_look_real(fresh: sa.Engine) -> None:
    admin = one(fresh, "SELECT password, secret FROM mdl_user WHERE id = 2")
    assert re.fullmatch(
        r"\$6\$rounds=10000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}", admin["password"]
    )
    assert re.fullmatch(r"[0-9A-Za-z]{15}", admin["secret"])


# -- builder methods -------------------------------------------------------------------------


def test_setting_stores_strings_like_moodle(builder: SiteBuilder) -> None:
    builder.setting("forcelogin", True)
    builder.setting("enabled", False, plugin="tool_mfa")
    builder.setting("newsetting", 42)
    engine = builder.sqlite_memory()
    assert setting(engine, "forcelogin") == "1"
    assert setting(engine, "enabled", "tool_mfa") == "0"
    assert setting(engine, "newsetting") == "42"


def test_user_and_site_admin(builder: SiteBuilder) -> None:
    uid = builder.user("dormant_admin", lastaccess=NOW - 200 * 86400, suspended=0)
    builder.make_site_admin(uid)
    engine = builder.sqlite_memory()
    user = one(engine, "SELECT * FROM mdl_user WHERE id = :id", id=uid)
    assert (user["username"], user["lastaccess"], user["auth"]) == (
        "dormant_admin", NOW - 200 * 86400, "manual")  # fmt: skip
    assert user["email"] == "dormant_admin@acme.example.test"
    assert user["timecreated"] < user["lastaccess"]
    assert setting(engine, "siteadmins") == f"2,{uid}"
    ctx = one(
        engine, "SELECT * FROM mdl_context WHERE contextlevel = 30 AND instanceid = :u", u=uid
    )
    assert ctx["path"] == f"/1/{ctx['id']}"


def test_external_auth_users_have_no_cached_password(builder: SiteBuilder) -> None:
    uid = builder.user("ldap_user", auth="ldap")
    engine = builder.sqlite_memory()
    assert one(engine, "SELECT password FROM mdl_user WHERE id = :id", id=uid) == {
        "password": "not cached"
    }


def test_duplicate_username_is_refused(builder: SiteBuilder) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        builder.user("admin")


def test_category_course_and_enrolment(builder: SiteBuilder) -> None:
    catid, catctx = builder.category("Sciences")
    courseid, ctx = builder.course("BIO101", "Biology", category=catid)
    uid = builder.user("student_a")
    builder.enrol_user(uid, courseid)
    engine = builder.sqlite_memory()
    assert one(engine, "SELECT path FROM mdl_context WHERE id = :c", c=ctx) == {
        "path": f"/1/{catctx}/{ctx}"
    }
    assert one(engine, "SELECT category FROM mdl_course WHERE id = :c", c=courseid) == {
        "category": catid
    }
    enrolment = one(engine, "SELECT * FROM mdl_user_enrolments WHERE userid = :u", u=uid)
    assert enrolment["enrolid"] == builder.manual_enrol_id(courseid)
    ra = one(engine, "SELECT * FROM mdl_role_assignments WHERE userid = :u", u=uid)
    assert (ra["roleid"], ra["contextid"]) == (5, ctx)


def test_roles_capabilities_and_overrides(builder: SiteBuilder) -> None:
    roleid = builder.role("auditor", archetype="", name="Auditor")
    builder.capability("local/acme:export", 8, contextlevel=10, captype="read", component="local")
    builder.allow(roleid, "local/acme:export")
    _, ctx = builder.course("C1")
    builder.allow("editingteacher", "moodle/site:config", ctx, permission=1)
    uid = builder.user("support")
    builder.assign_role(uid, "manager")
    engine = builder.sqlite_memory()
    assert one(engine, "SELECT shortname, sortorder FROM mdl_role WHERE id = :r", r=roleid) == {
        "shortname": "auditor", "sortorder": 9}  # fmt: skip
    overrides = rows(engine, "SELECT * FROM mdl_role_capabilities WHERE contextid <> 1")
    assert [(o["roleid"], o["capability"], o["contextid"]) for o in overrides] == [
        (3, "moodle/site:config", ctx)
    ]
    ra = one(engine, "SELECT * FROM mdl_role_assignments WHERE userid = :u", u=uid)
    assert (ra["roleid"], ra["contextid"], ra["component"]) == (1, 1, "")


def test_service_and_tokens(builder: SiteBuilder) -> None:
    builder.service("acme_sis", functions=("core_user_get_users_by_field",))
    good = builder.token(2, service="acme_sis", iprestriction="10.0.0.0/8", validuntil=NOW + 9)
    bare = builder.token(2, name="no limits")
    engine = builder.sqlite_memory()
    tokens = {t["id"]: t for t in rows(engine, "SELECT * FROM mdl_external_tokens")}
    assert tokens[good]["iprestriction"] == "10.0.0.0/8"
    assert (tokens[bare]["iprestriction"], tokens[bare]["validuntil"]) == (None, 0)
    assert tokens[bare]["name"] == "no limits"
    assert all(re.fullmatch(r"[0-9a-f]{32}", t["token"]) for t in tokens.values())
    assert tokens[good]["token"] != tokens[bare]["token"]


def test_tasks_and_backups(builder: SiteBuilder) -> None:
    builder.scheduled_task(r"\core\task\automated_backup_task", faildelay=7200)
    builder.scheduled_task(r"\local_acme\task\sync", component="local_acme", disabled=1)
    builder.adhoc_task(r"\core\task\asynchronous_backup_task", nextruntime=NOW - 86400)
    builder.task_log(r"\core\task\automated_backup_task", result=1, timestart=NOW - 100)
    courseid, _ = builder.course("C1")
    builder.backup_course(courseid, laststatus="0", laststarttime=NOW - 50, lastendtime=NOW - 40)
    engine = builder.sqlite_memory()
    backup = one(engine, "SELECT * FROM mdl_task_scheduled WHERE faildelay > 0")
    assert (backup["classname"], backup["component"]) == (
        r"\core\task\automated_backup_task", "moodle")  # fmt: skip
    assert one(engine, "SELECT disabled FROM mdl_task_scheduled WHERE component = 'local_acme'")
    adhoc = one(engine, "SELECT * FROM mdl_task_adhoc")
    assert (adhoc["component"], adhoc["nextruntime"]) == ("", NOW - 86400)
    log = one(engine, "SELECT * FROM mdl_task_log")
    assert (log["classname"], log["result"]) == (r"core\task\automated_backup_task", 1)
    assert one(engine, "SELECT laststatus FROM mdl_backup_courses") == {"laststatus": "0"}


def test_log_derives_names_like_moodle(builder: SiteBuilder) -> None:
    builder.log(r"\core\event\user_login_failed", timecreated=NOW, ip="192.0.2.1",
                other={"username": "bob", "reason": 3})  # fmt: skip
    engine = builder.sqlite_memory()
    row = one(engine, "SELECT * FROM mdl_logstore_standard_log")
    assert (row["component"], row["target"], row["action"]) == ("core", "user_login", "failed")
    assert json.loads(row["other"]) == {"username": "bob", "reason": 3}


@pytest.mark.parametrize(
    ("other", "fmt", "stored"),
    [
        ({"username": "a/b", "reason": 2}, "json", '{"username":"a\\/b","reason":2}'),
        (
            {"username": "bob", "reason": 2},
            "php",
            'a:2:{s:8:"username";s:3:"bob";s:6:"reason";i:2;}',
        ),
        (None, "json", "null"),
        (None, "php", "N;"),
        ({"forgottenreset": False}, "php", 'a:1:{s:14:"forgottenreset";b:0;}'),
    ],
)
def test_other_formats(other: Any, fmt: Any, stored: str) -> None:
    assert encode_other(other, fmt) == stored


def test_php_other_round_trips() -> None:
    other = {"username": "zoë", "extrauserinfo": [], "n": 5}
    decoded = phpserialize.loads(encode_other(other, "php").encode(), decode_strings=True)
    assert decoded == {"username": "zoë", "extrauserinfo": {}, "n": 5}


def test_mfa_preferences_config_log(builder: SiteBuilder) -> None:
    builder.mfa_factor(2, "totp", lastverified=NOW - 10)
    builder.preference(2, "login_lockout", NOW - 60)
    builder.config_log("debug", 32767, 0, timemodified=NOW - 5)
    engine = builder.sqlite_memory()
    factor = one(engine, "SELECT * FROM mdl_tool_mfa")
    assert (factor["factor"], factor["revoked"]) == ("totp", 0)
    assert re.fullmatch(r"[A-Z2-7]{32}", factor["secret"])
    assert one(engine, "SELECT value FROM mdl_user_preferences WHERE name = 'login_lockout'") == {
        "value": str(NOW - 60)
    }
    assert one(engine, "SELECT name, value, oldvalue, plugin FROM mdl_config_log") == {
        "name": "debug", "value": "32767", "oldvalue": "0", "plugin": None}  # fmt: skip


def test_mfa_is_refused_before_43() -> None:
    with pytest.raises(ValueError, match="MFA"):
        SiteBuilder(release="4.1").mfa_factor(2, "totp")


def test_policy_privacy_session_payment(builder: SiteBuilder) -> None:
    versionid = builder.policy("Site policy")
    builder.policy_acceptance(versionid, 2)
    builder.privacy_request(2, type=2, timecreated=NOW - 60 * 86400)
    builder.session(2, timecreated=NOW - 60, timemodified=NOW)
    builder.payment_gateway("paypal")
    engine = builder.sqlite_memory()
    assert one(engine, "SELECT currentversionid FROM mdl_tool_policy") == {
        "currentversionid": versionid
    }
    assert one(engine, "SELECT status FROM mdl_tool_policy_acceptances") == {"status": 1}
    assert one(engine, "SELECT type, status FROM mdl_tool_dataprivacy_request") == {
        "type": 2, "status": 0}  # fmt: skip
    assert len(one(engine, "SELECT sid FROM mdl_sessions")["sid"]) == 32
    assert "secret" in json.loads(one(engine, "SELECT config FROM mdl_payment_gateways")["config"])


# -- streams and writing ---------------------------------------------------------------------


def test_streamed_rows_keep_reserved_ids(builder: SiteBuilder) -> None:
    first = builder.reserve_ids("user", 3)
    builder.extend("user", lambda: ({"id": first + k, "username": f"s{k}", "mnethostid": 1}
                                    for k in range(3)), expected=3)  # fmt: skip
    later = builder.user("made_after")
    builder.extend("logstore_standard_log", [{"eventname": "x", "timecreated": 1}])
    builder.log(r"\core\event\user_loggedin", timecreated=2)
    engine = builder.sqlite_memory()
    users = {u["username"]: u["id"] for u in rows(engine, "SELECT id, username FROM mdl_user")}
    assert [users["s0"], users["s2"], users["made_after"]] == [first, first + 2, later]
    logs = rows(engine, "SELECT id, eventname FROM mdl_logstore_standard_log ORDER BY id")
    assert [log["eventname"] for log in logs] == [r"\core\event\user_loggedin", "x"]


def test_write_reports_progress_and_can_repeat(builder: SiteBuilder, tmp_path: Path) -> None:
    builder.extend("user", lambda: iter([{"username": "streamed", "mnethostid": 1}]))
    seen: list[tuple[int, int]] = []
    builder.write(sa.create_engine("sqlite://"), progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]
    engine = builder.sqlite_file(tmp_path / "site.db")
    assert one(engine, "SELECT COUNT(*) AS n FROM mdl_user") == {"n": 3}
    engine.dispose()


def test_unknown_release_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown release"):
        SiteBuilder(release="2.9")
