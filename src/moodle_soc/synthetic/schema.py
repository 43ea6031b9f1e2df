"""Moodle's own tables, as SQLAlchemy Core definitions, for the synthetic site.

Names, lengths, NOT NULL flags and server defaults were read from real 5.1 and 4.1 installs
(PostgreSQL and MariaDB), so that a query written against the synthetic site runs unchanged on
a real one. Only the tables the audit reads are defined.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

__all__ = ["SECRET_COLUMNS", "moodle_metadata", "release_tuple"]

#: Columns holding secrets. Their values must never appear in any output of the tool.
SECRET_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("password", "secret"),
    "external_tokens": ("token", "privatetoken", "sid"),
    "tool_mfa": ("secret",),
    "sessions": ("sid", "sessdata"),
    "payment_gateways": ("config",),
    "enrol": ("password",),
}

# SQLite only auto-numbers a column typed exactly INTEGER PRIMARY KEY.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Moodle's "big" text columns are LONGTEXT on MySQL/MariaDB.
_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def release_tuple(release: str) -> tuple[int, int]:
    """``"4.1"`` → ``(4, 1)``; extra parts (``"4.1.10"``) are ignored."""
    major, minor = release.split(".")[:2]
    return int(major), int(minor)


def _id() -> sa.Column[Any]:
    return sa.Column("id", _ID, primary_key=True, autoincrement=True)


def _int(
    name: str, default: int | None = 0, *, null: bool = False, small: bool = False
) -> sa.Column[Any]:
    kind: Any = sa.SmallInteger() if small else sa.BigInteger()
    server = None if default is None else sa.text(str(default))
    return sa.Column(name, kind, nullable=null, server_default=server)


def _small(name: str, default: int | None = 0, *, null: bool = False) -> sa.Column[Any]:
    return _int(name, default, null=null, small=True)


def _str(name: str, length: int, default: str | None = "", *, null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=null, server_default=default)


def _text(name: str, *, null: bool = True) -> sa.Column[Any]:
    return sa.Column(name, _TEXT, nullable=null)


def _table(md: sa.MetaData, prefix: str, name: str, *cols: Any, idx: tuple[Any, ...] = ()) -> None:
    """Define ``prefix+name`` with Moodle-style index names (``mdl_conf_nam_uix``)."""
    table = sa.Table(prefix + name, md, _id(), *cols)
    for spec in idx:
        unique = spec[0] == "u"
        columns = spec[1:]
        suffix = "".join(c[:3] for c in columns) + ("_uix" if unique else "_ix")
        short = "".join(part[:4] for part in name.split("_"))
        sa.Index(f"{prefix}{short}_{suffix}", *(table.c[c] for c in columns), unique=unique)


def moodle_metadata(prefix: str = "mdl_", release: str = "5.1") -> sa.MetaData:
    """Table definitions for `release` (columns and tables follow moodle-facts §3 and §5)."""
    rel = release_tuple(release)
    md = sa.MetaData()
    t = _table
    p = prefix
    # fmt: off

    t(md, p, "config", _str("name", 255), _text("value", null=False), idx=(("u", "name"),))
    t(md, p, "config_plugins", _str("plugin", 100, "core"), _str("name", 100),
      _text("value", null=False), idx=(("u", "plugin", "name"),))
    t(md, p, "config_log", _int("userid", None), _int("timemodified", None),
      _str("plugin", 100, None, null=True), _str("name", 100), _text("value"),
      _text("oldvalue"), idx=(("i", "timemodified"), ("i", "userid")))
    t(md, p, "upgrade_log", _int("type", None), _str("plugin", 100, None, null=True),
      _str("version", 100, None, null=True), _str("targetversion", 100, None, null=True),
      _str("info", 255), _text("details"), _text("backtrace"), _int("userid", None),
      _int("timemodified", None), idx=(("i", "timemodified"), ("i", "type", "timemodified")))

    user_cols = [
        _str("auth", 20, "manual"), _small("confirmed"), _small("policyagreed"),
        _small("deleted"), _small("suspended"), _int("mnethostid"), _str("username", 100),
        _str("password", 255), _str("idnumber", 255), _str("firstname", 100),
        _str("lastname", 100), _str("email", 100), _small("emailstop"), _str("phone1", 20),
        _str("phone2", 20), _str("institution", 255), _str("department", 255),
        _str("address", 255), _str("city", 120), _str("country", 2), _str("lang", 30, "en"),
        _str("calendartype", 30, "gregorian"), _str("theme", 50), _str("timezone", 100, "99"),
        _int("firstaccess"), _int("lastaccess"), _int("lastlogin"), _int("currentlogin"),
        _str("lastip", 45), _str("secret", 15), _int("picture"), _text("description"),
        _small("descriptionformat", 1), _small("mailformat", 1), _small("maildigest"),
        _small("maildisplay", 2), _small("autosubscribe", 1), _small("trackforums"),
        _int("timecreated"), _int("timemodified"), _int("trustbitmask"),
        _str("imagealt", 255, None, null=True), _str("lastnamephonetic", 255, None, null=True),
        _str("firstnamephonetic", 255, None, null=True),
        _str("middlename", 255, None, null=True), _str("alternatename", 255, None, null=True),
    ]
    if rel >= (4, 0):
        user_cols.append(_str("moodlenetprofile", 255, None, null=True))
    t(md, p, "user", *user_cols,
      idx=(("u", "mnethostid", "username"), ("i", "deleted"), ("i", "confirmed"),
           ("i", "lastaccess"), ("i", "auth"), ("i", "email")))
    t(md, p, "user_preferences", _int("userid"), _str("name", 255), _text("value", null=False),
      idx=(("u", "userid", "name"),))

    t(md, p, "role", _str("name", 255), _str("shortname", 100), _text("description", null=False),
      _int("sortorder"), _str("archetype", 30), idx=(("u", "shortname"), ("u", "sortorder")))
    t(md, p, "role_assignments", _int("roleid"), _int("contextid"), _int("userid"),
      _int("timemodified"), _int("modifierid"), _str("component", 100), _int("itemid"),
      _int("sortorder"),
      idx=(("i", "roleid", "contextid"), ("i", "userid", "contextid", "roleid"),
           ("i", "contextid")))
    t(md, p, "role_capabilities", _int("contextid"), _int("roleid"), _str("capability", 255),
      _int("permission"), _int("timemodified"), _int("modifierid"),
      idx=(("u", "roleid", "contextid", "capability"), ("i", "capability")))
    t(md, p, "capabilities", _str("name", 255), _str("captype", 50), _int("contextlevel"),
      _str("component", 100), _int("riskbitmask"), idx=(("u", "name"),))
    t(md, p, "context", _int("contextlevel"), _int("instanceid"),
      _str("path", 255, None, null=True), _small("depth"), _small("locked"),
      idx=(("u", "contextlevel", "instanceid"), ("i", "path")))

    course_cols = [
        _int("category"), _int("sortorder"), _str("fullname", 1333), _str("shortname", 255),
        _str("idnumber", 100), _text("summary"), _small("summaryformat"),
        _str("format", 21, "topics"), _small("showgrades", 1),
        sa.Column("newsitems", sa.Integer(), nullable=False, server_default=sa.text("1")),
        _int("startdate"), _int("enddate"), _small("relativedatesmode"), _int("marker"),
        _int("maxbytes"), _small("legacyfiles"), _small("showreports"), _small("visible", 1),
        _small("visibleold", 1), _small("downloadcontent", None, null=True),
        _small("groupmode"), _small("groupmodeforce"), _int("defaultgroupingid"),
        _str("lang", 30), _str("calendartype", 30), _str("theme", 50), _int("timecreated"),
        _int("timemodified"), _small("requested"), _small("enablecompletion"),
        _small("completionnotify"), _int("cacherev"), _int("originalcourseid", None, null=True),
        _small("showactivitydates"), _small("showcompletionconditions", None, null=True),
    ]
    if rel >= (4, 5):  # absent in the 4.1 reference install, present in 5.1
        course_cols += [_str("pdfexportfont", 50, None, null=True),
                        _small("enableaitools", None, null=True)]
    t(md, p, "course", *course_cols, idx=(("i", "category"), ("i", "shortname")))
    t(md, p, "course_categories", _str("name", 255), _str("idnumber", 100, None, null=True),
      _text("description"), _small("descriptionformat"), _int("parent"), _int("sortorder"),
      _int("coursecount"), _small("visible", 1), _small("visibleold", 1), _int("timemodified"),
      _int("depth"), _str("path", 255), _str("theme", 50, None, null=True),
      idx=(("i", "parent"),))

    t(md, p, "enrol", _str("enrol", 20), _int("status"), _int("courseid", None), _int("sortorder"),
      _str("name", 255, None, null=True), _int("enrolperiod", 0, null=True),
      _int("enrolstartdate", 0, null=True), _int("enrolenddate", 0, null=True),
      _small("expirynotify", 0, null=True), _int("expirythreshold", 0, null=True),
      _small("notifyall", 0, null=True), _str("password", 50, None, null=True),
      _str("cost", 20, None, null=True), _str("currency", 3, None, null=True),
      _int("roleid", 0, null=True),
      *(_int(f"customint{i}", None, null=True) for i in range(1, 9)),
      _str("customchar1", 255, None, null=True), _str("customchar2", 255, None, null=True),
      _str("customchar3", 1333, None, null=True),
      sa.Column("customdec1", sa.Numeric(12, 7)), sa.Column("customdec2", sa.Numeric(12, 7)),
      *(_text(f"customtext{i}") for i in range(1, 5)), _int("timecreated"),
      _int("timemodified"), idx=(("i", "courseid"), ("i", "enrol")))
    t(md, p, "user_enrolments", _int("status"), _int("enrolid", None), _int("userid", None),
      _int("timestart"), _int("timeend", 2147483647), _int("modifierid"), _int("timecreated"),
      _int("timemodified"), idx=(("u", "enrolid", "userid"), ("i", "userid")))

    t(md, p, "external_services", _str("name", 200), _small("enabled", None),
      _str("requiredcapability", 150, None, null=True), _small("restrictedusers", None),
      _str("component", 100, None, null=True), _int("timecreated", None),
      _int("timemodified", None, null=True), _str("shortname", 255, None, null=True),
      _small("downloadfiles"), _small("uploadfiles"), idx=(("u", "name"),))
    t(md, p, "external_functions", _str("name", 200), _str("classname", 100),
      _str("methodname", 100), _str("classpath", 255, None, null=True), _str("component", 100),
      _str("capabilities", 255, None, null=True), _str("services", 1333, None, null=True),
      idx=(("u", "name"),))
    t(md, p, "external_services_functions", _int("externalserviceid", None),
      _str("functionname", 200), idx=(("i", "externalserviceid"),))
    token_cols = [
        _str("token", 128), _str("privatetoken", 64, None, null=True), _small("tokentype", None),
        _int("userid", None), _int("externalserviceid", None),
        _str("sid", 128, None, null=True), _int("contextid", None), _int("creatorid", 1),
        _str("iprestriction", 255, None, null=True), _int("validuntil", None, null=True),
        _int("timecreated", None), _int("lastaccess", None, null=True),
    ]
    if rel >= (4, 3):  # savepoint 2023062700.01
        token_cols.append(_str("name", 255, None, null=True))
    t(md, p, "external_tokens", *token_cols, idx=(("i", "token"), ("i", "userid")))

    running = rel >= (3, 10)  # timestarted/hostname/pid: the 3.10/3.11 work
    sched_cols = [
        _str("component", 255), _str("classname", 255), _int("lastruntime", None, null=True),
        _int("nextruntime", None, null=True), _str("minute", 200), _str("hour", 70),
        _str("day", 90), _str("month", 30), _str("dayofweek", 25),
        _int("faildelay", None, null=True), _small("customised"), _small("disabled"),
    ]
    adhoc_cols = [
        _str("component", 255), _str("classname", 255), _int("nextruntime", None),
        _int("faildelay", None, null=True), _text("customdata"), _int("userid", None, null=True),
        _int("timecreated"),
    ]
    if rel < (4, 4):  # the blocking columns were dropped in 4.4
        sched_cols.append(_small("blocking"))
        adhoc_cols.append(_small("blocking"))
    for cols in (sched_cols, adhoc_cols):
        if running:
            cols += [_int("timestarted", None, null=True),
                     _str("hostname", 255, None, null=True), _int("pid", None, null=True)]
    if rel >= (4, 4):  # 2023121800.02 and 2024030500.01
        adhoc_cols += [_small("attemptsavailable", None, null=True),
                       _int("firststartingtime", None, null=True)]
    t(md, p, "task_scheduled", *sched_cols, idx=(("u", "classname"),))
    t(md, p, "task_adhoc", *adhoc_cols, idx=(("i", "nextruntime"),))
    t(md, p, "task_log", _small("type", None), _str("component", 255), _str("classname", 255),
      _int("userid", None), sa.Column("timestart", sa.Numeric(20, 10), nullable=False),
      sa.Column("timeend", sa.Numeric(20, 10), nullable=False), _int("dbreads", None),
      _int("dbwrites", None), _small("result", None), _text("output", null=False),
      _str("hostname", 255, None, null=True), _int("pid", None, null=True),
      idx=(("i", "classname"), ("i", "timestart")))
    t(md, p, "backup_courses", _int("courseid"), _int("laststarttime"), _int("lastendtime"),
      _str("laststatus", 1, "5"), _int("nextstarttime"), idx=(("u", "courseid"),))

    t(md, p, "logstore_standard_log", _str("eventname", 255), _str("component", 100),
      _str("action", 100), _str("target", 100), _str("objecttable", 50, None, null=True),
      _int("objectid", None, null=True), _str("crud", 1), _small("edulevel", None),
      _int("contextid", None), _int("contextlevel", None), _int("contextinstanceid", None),
      _int("userid", None), _int("courseid", None, null=True),
      _int("relateduserid", None, null=True), _small("anonymous"), _text("other"),
      _int("timecreated", None), _str("origin", 10, None, null=True),
      _str("ip", 45, None, null=True), _int("realuserid", None, null=True),
      idx=(("i", "timecreated"), ("i", "courseid", "anonymous", "timecreated"),
           ("i", "userid", "contextlevel", "contextinstanceid", "crud", "edulevel",
            "timecreated"), ("i", "contextid"), ("i", "userid"), ("i", "courseid"),
           ("i", "realuserid"), ("i", "relateduserid")))

    if rel >= (4, 3):  # tool_mfa joined core in 4.3
        t(md, p, "tool_mfa", _int("userid", None), _str("factor", 100),
          _str("secret", 1333, None, null=True), _str("label", 1333, None, null=True),
          _int("timecreated", None, null=True), _str("createdfromip", 100, None, null=True),
          _int("timemodified", None, null=True), _int("lastverified", None, null=True),
          _small("revoked"),
          sa.Column("lockcounter", sa.Integer(), nullable=False, server_default=sa.text("0")),
          idx=(("i", "userid"), ("i", "factor")))
    t(md, p, "tool_policy",
      sa.Column("sortorder", sa.Integer(), nullable=False, server_default=sa.text("999")),
      _int("currentversionid", None, null=True))
    t(md, p, "tool_policy_versions", _str("name", 1333), _small("type"), _small("audience"),
      _small("archived"), _int("usermodified", None), _int("timecreated", None),
      _int("timemodified", None), _int("policyid", None), _small("agreementstyle"),
      _small("optional"), _str("revision", 1333), _text("summary", null=False),
      _small("summaryformat", None), _text("content", null=False),
      _small("contentformat", None), idx=(("i", "policyid"),))
    t(md, p, "tool_policy_acceptances", _int("policyversionid", None), _int("userid", None),
      _small("status", None, null=True), _str("lang", 30), _int("usermodified", None),
      _int("timecreated", None), _int("timemodified", None), _text("note"),
      idx=(("u", "policyversionid", "userid"), ("i", "userid")))
    dpr_cols = [
        _int("type"), _text("comments"), _small("commentsformat"), _int("userid"),
        _int("requestedby"), _small("status"), _int("dpo", 0, null=True), _text("dpocomment"),
        _small("dpocommentformat"),
    ]
    if rel >= (3, 9):
        dpr_cols.append(_small("systemapproved"))
    dpr_cols += [_int("usermodified"), _int("timecreated"), _int("timemodified"),
                 _int("creationmethod")]
    t(md, p, "tool_dataprivacy_request", *dpr_cols, idx=(("i", "userid"),))
    t(md, p, "sessions", _int("state"), _str("sid", 128), _int("userid", None), _text("sessdata"),
      _int("timecreated", None), _int("timemodified", None),
      _str("firstip", 45, None, null=True), _str("lastip", 45, None, null=True),
      idx=(("u", "sid"), ("i", "userid"), ("i", "timemodified")))
    if rel >= (3, 10):  # the payment subsystem arrived in 3.10
        t(md, p, "payment_gateways", _int("accountid", None), _str("gateway", 100),
          _small("enabled", 1), _text("config"), _int("timecreated", None),
          _int("timemodified", None), idx=(("i", "accountid"),))
    # fmt: on
    return md
