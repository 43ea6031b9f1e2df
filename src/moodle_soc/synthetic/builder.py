"""`SiteBuilder`: a synthetic Moodle site, from a fresh install up, written into any database.

Unit tests of checks build a tiny site with exactly the records they need; the demo and the
benchmarks stream large ones (`extend`). Rows are plain dicts held in memory until `write`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from .activity import SYSTEM_CONTEXT, ActivityRecords
from .fakes import fake_secret, password_hash
from .install import (
    CAPABILITIES,
    RELEASES,
    ROLE_CAPABILITIES,
    ROLE_PROHIBITS,
    ROLES,
    SCHEDULED_TASKS,
    config_defaults,
    plugin_defaults,
)
from .schema import moodle_metadata, release_tuple
from .writer import Progress, Row, write_rows

__all__ = ["SYSTEM_CONTEXT", "SiteBuilder"]

_DAY = 86400
_MOBILE_FUNCTIONS = (
    "core_webservice_get_site_info", "core_user_get_users_by_field", "core_course_get_courses",
    "core_enrol_get_users_courses", "core_user_add_user_device", "tool_mobile_get_config",
    "tool_mobile_get_autologin_key", "core_message_get_messages",
)  # fmt: skip


def _text(value: object) -> str:
    """Moodle stores every setting as a string; checkboxes are '1' and '0'."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


class SiteBuilder(ActivityRecords):
    """A Moodle site being assembled; every creating method returns the new row's id."""

    def __init__(
        self,
        *,
        release: str = "5.1",
        prefix: str = "mdl_",
        now: int = 1795936000,
        wwwroot: str = "https://acme.example.test",
        site_name: str = "Acme Academy",
        seed: int = 0,
    ) -> None:
        if release not in RELEASES:
            raise ValueError(f"unknown release {release!r}; known: {', '.join(RELEASES)}")
        super().__init__(release=release, now=now, wwwroot=wwwroot, site_name=site_name, seed=seed)
        self.prefix = prefix
        self.install_time = now - 3 * 365 * _DAY
        self._ctx_path: dict[int, tuple[str, int]] = {}
        self._install()

    # -- settings ------------------------------------------------------------------------------

    def setting(self, name: str, value: object, plugin: str | None = None) -> None:
        """Set a ``config`` row (plugin None/'core') or a ``config_plugins`` row."""
        text = _text(value)
        if plugin in (None, "core", "moodle"):
            row = self.find("config", name)
            if row is None:
                self.add("config", {"name": name, "value": text}, key=(name,))
            else:
                row["value"] = text
            return
        row = self.find("config_plugins", plugin, name)
        if row is None:
            row_plugin = {"plugin": plugin, "name": name, "value": text}
            self.add("config_plugins", row_plugin, key=(plugin, name))
        else:
            row["value"] = text

    def get_setting(self, name: str, plugin: str | None = None) -> str | None:
        row = (
            self.find("config", name)
            if plugin in (None, "core", "moodle")
            else self.find("config_plugins", plugin, name)
        )
        return None if row is None else str(row["value"])

    def config_log(
        self,
        name: str,
        value: object,
        oldvalue: object,
        *,
        plugin: str | None = None,
        userid: int = 2,
        timemodified: int,
    ) -> int:
        row = {"userid": userid, "timemodified": timemodified, "plugin": plugin, "name": name,
               "value": None if value is None else _text(value),
               "oldvalue": None if oldvalue is None else _text(oldvalue)}  # fmt: skip
        return self.add("config_log", row)

    def upgrade_log(
        self, plugin: str, version: str, info: str, *, timemodified: int, type: int = 0
    ) -> int:
        row = {"type": type, "plugin": plugin, "version": version, "targetversion": version,
               "info": info, "userid": 0, "timemodified": timemodified}  # fmt: skip
        return self.add("upgrade_log", row)

    # -- users, contexts, courses ---------------------------------------------------------------

    def user(
        self,
        username: str,
        *,
        auth: str = "manual",
        suspended: int = 0,
        deleted: int = 0,
        confirmed: int = 1,
        lastaccess: int | None = None,
        lastlogin: int | None = None,
        currentlogin: int | None = None,
        firstaccess: int | None = None,
        timecreated: int | None = None,
        email: str | None = None,
        firstname: str | None = None,
        lastname: str | None = None,
        lastip: str = "",
        mnethostid: int = 1,
    ) -> int:
        """A user with a hashed password and a user context; times default to "never"."""
        lastaccess = lastaccess or 0
        firstaccess = lastaccess if firstaccess is None else firstaccess
        currentlogin = lastaccess if currentlogin is None else currentlogin
        lastlogin = firstaccess if lastlogin is None else lastlogin
        if timecreated is None:
            seen = [t for t in (firstaccess, lastaccess) if t]
            timecreated = min([*seen, self.now]) - _DAY
        uid = self.next_id("user")
        key = self.secret_key("user", "user")
        cached = auth in ("manual", "email", "nologin", "webservice")
        row = {
            "id": uid, "auth": auth, "confirmed": confirmed, "deleted": deleted,
            "suspended": suspended, "mnethostid": mnethostid, "username": username,
            "password": password_hash(key) if cached else "not cached",
            "firstname": firstname if firstname is not None else username.split(".")[0].title(),
            "lastname": lastname if lastname is not None else "User",
            "email": email if email is not None else f"{username}@{self.host}",
            "firstaccess": firstaccess, "lastaccess": lastaccess, "lastlogin": lastlogin,
            "currentlogin": currentlogin, "lastip": lastip, "secret": fake_secret(key, 15),
            "timecreated": timecreated, "timemodified": max(timecreated, lastaccess),
        }  # fmt: skip
        self.add("user", row, key=(mnethostid, username))
        self.context(30, uid)
        return uid

    def make_site_admin(self, userid: int) -> None:
        admins = [a for a in (self.get_setting("siteadmins") or "").split(",") if a]
        if str(userid) not in admins:
            self.setting("siteadmins", ",".join([*admins, str(userid)]))

    def preference(self, userid: int, name: str, value: object) -> int:
        row = self.find("user_preferences", userid, name)
        if row is not None:
            row["value"] = _text(value)
            return int(row["id"])
        pref = {"userid": userid, "name": name, "value": _text(value)}
        return self.add("user_preferences", pref, key=(userid, name))

    def context(self, contextlevel: int, instanceid: int, parent_contextid: int = 1) -> int:
        """A context row; path and depth follow the parent's."""
        ctxid = self.next_id("context")
        parent_path, parent_depth = self._ctx_path.get(parent_contextid, ("", 0))
        path, depth = f"{parent_path}/{ctxid}", parent_depth + 1
        self._ctx_path[ctxid] = (path, depth)
        row = {"contextlevel": contextlevel, "instanceid": instanceid, "path": path,
               "depth": depth, "locked": 0}  # fmt: skip
        return self.add("context", row, key=(contextlevel, instanceid))

    def context_id(self, contextlevel: int, instanceid: int) -> int:
        row = self.find("context", contextlevel, instanceid)
        if row is None:
            raise KeyError(f"no context ({contextlevel}, {instanceid})")
        return int(row["id"])

    def category(self, name: str) -> tuple[int, int]:
        catid = self.next_id("course_categories")
        row = {"name": name, "parent": 0, "sortorder": catid * 10000, "coursecount": 0,
               "timemodified": self.install_time, "depth": 1, "path": f"/{catid}"}  # fmt: skip
        self.add("course_categories", row, key=(catid,))
        return catid, self.context(40, catid)

    def course(
        self, shortname: str, fullname: str | None = None, category: int = 1
    ) -> tuple[int, int]:
        """A course in `category` with Moodle's default enrolment instances (manual first)."""
        cat = self.find("course_categories", category)
        if cat is None:
            raise KeyError(f"no course category {category}")
        cat["coursecount"] += 1
        courseid = self.next_id("course")
        row = {"category": category, "sortorder": cat["sortorder"] + cat["coursecount"],
               "fullname": fullname or shortname, "shortname": shortname, "summaryformat": 1,
               "startdate": self.install_time, "timecreated": self.install_time,
               "timemodified": self.install_time, "cacherev": self.install_time}  # fmt: skip
        self.add("course", row)
        for order, (plugin, status) in enumerate((("manual", 0), ("guest", 1), ("self", 1))):
            enrol = {"enrol": plugin, "status": status, "courseid": courseid, "sortorder": order,
                     "roleid": 0 if plugin == "guest" else 5, "timecreated": self.install_time,
                     "timemodified": self.install_time}  # fmt: skip
            self.add("enrol", enrol, key=(plugin, courseid) if plugin == "manual" else None)
        return courseid, self.context(50, courseid, self.context_id(40, category))

    def manual_enrol_id(self, courseid: int) -> int:
        row = self.find("enrol", "manual", courseid)
        if row is None:
            raise KeyError(f"course {courseid} has no manual enrolment instance")
        return int(row["id"])

    def enrol_user(
        self, userid: int, courseid: int, role: str | int = "student", *, timestart: int = 0
    ) -> int:
        """Manually enrol a user (user_enrolments row plus the role at the course context)."""
        row = {"enrolid": self.manual_enrol_id(courseid), "userid": userid, "timestart": timestart,
               "timeend": 0, "modifierid": 2, "timecreated": self.now,
               "timemodified": self.now}  # fmt: skip
        ueid = self.add("user_enrolments", row)
        self.assign_role(userid, role, self.context_id(50, courseid))
        return ueid

    # -- roles and capabilities -----------------------------------------------------------------

    def role_id(self, role: str | int) -> int:
        if isinstance(role, int):
            return role
        row = self.find("role", role)
        if row is None:
            raise KeyError(f"no role {role!r}")
        return int(row["id"])

    def role(self, shortname: str, archetype: str = "", name: str | None = None) -> int:
        sortorder = self.next_id("role")
        row = {"name": "" if name is None else name, "shortname": shortname, "description": "",
               "sortorder": sortorder, "archetype": archetype}  # fmt: skip
        return self.add("role", row, key=(shortname,))

    def assign_role(
        self,
        userid: int,
        role: str | int,
        contextid: int = SYSTEM_CONTEXT,
        *,
        timemodified: int | None = None,
        modifierid: int = 2,
        component: str = "",
    ) -> int:
        row = {"roleid": self.role_id(role), "contextid": contextid, "userid": userid,
               "timemodified": self.now if timemodified is None else timemodified,
               "modifierid": modifierid, "component": component, "itemid": 0}  # fmt: skip
        return self.add("role_assignments", row)

    def capability(
        self,
        name: str,
        riskbitmask: int,
        contextlevel: int = 10,
        captype: str = "write",
        component: str = "moodle",
    ) -> int:
        row = {"name": name, "captype": captype, "contextlevel": contextlevel,
               "component": component, "riskbitmask": riskbitmask}  # fmt: skip
        return self.add("capabilities", row, key=(name,))

    def allow(
        self, role: str | int, capability: str, contextid: int = SYSTEM_CONTEXT, permission: int = 1
    ) -> int:
        """Set a permission: the role's definition at the system context, an override elsewhere."""
        roleid = self.role_id(role)
        row = self.find("role_capabilities", roleid, contextid, capability)
        if row is not None:
            row["permission"] = permission
            return int(row["id"])
        new = {"contextid": contextid, "roleid": roleid, "capability": capability,
               "permission": permission, "timemodified": self.now, "modifierid": 2}  # fmt: skip
        return self.add("role_capabilities", new, key=(roleid, contextid, capability))

    def unset(self, role: str | int, capability: str, contextid: int = SYSTEM_CONTEXT) -> None:
        """Set a permission back to Not set: Moodle deletes the row."""
        self.remove("role_capabilities", self.role_id(role), contextid, capability)

    # -- writing --------------------------------------------------------------------------------

    def metadata(self) -> sa.MetaData:
        return moodle_metadata(self.prefix, self.release)

    def _sources(self) -> Iterator[tuple[str, Iterable[Row]]]:
        for table, rows in self._rows.items():
            yield self.prefix + table, rows
        for table, source, _ in self._streams:
            yield self.prefix + table, source() if callable(source) else source

    def write(
        self, engine: sa.Engine, *, create_schema: bool = True, progress: Progress | None = None
    ) -> None:
        """Create the tables (unless `create_schema` is false) and insert every row."""
        metadata = self.metadata()
        known = set(metadata.tables)
        total = sum(len(r) for r in self._rows.values()) + sum(n for _, _, n in self._streams)
        sources = ((t, rows) for t, rows in self._sources() if t in known)
        write_rows(
            engine, metadata, sources, create_schema=create_schema, progress=progress, total=total
        )

    def sqlite_memory(self) -> sa.Engine:
        """A new in-memory SQLite engine (one shared connection) holding this site."""
        engine = sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        self.write(engine)
        return engine

    def sqlite_file(self, path: str | Path) -> sa.Engine:
        engine = sa.create_engine(f"sqlite:///{Path(path)}")
        self.write(engine)
        return engine

    # -- the fresh install ------------------------------------------------------------------------

    def _install(self) -> None:
        version, release_name, branch = RELEASES[self.release]
        t0 = self.install_time
        for name, value in {"version": version, "release": release_name, "branch": branch,
                            "siteidentifier": fake_secret(f"{self.seed}:site", 32) + self.host,
                            "siteguest": "1", "siteadmins": "2", "mnet_localhost_id": "1",
                            "defaultuserroleid": "7", "guestroleid": "6",
                            "defaultfrontpageroleid": "8", "notloggedinroleid": "6",
                            "creatornewroleid": "3"}.items():  # fmt: skip
            self.setting(name, value)
        for name, value in config_defaults(self.release).items():
            self.setting(name, value)
        for plugin, name, value in plugin_defaults(self.release, self.now):
            self.setting(name, value, plugin)
        self.upgrade_log("core", version, "Core installed", timemodified=t0)
        self.add("context", {"contextlevel": 10, "instanceid": 0, "path": "/1", "depth": 1,
                             "locked": 0}, key=(10, 0))  # fmt: skip
        self._ctx_path[SYSTEM_CONTEXT] = ("/1", 1)
        self.add("course", {"category": 0, "sortorder": 1, "fullname": self.site_name,
                            "shortname": self.host.split(".")[0], "format": "site",
                            "summaryformat": 0, "timecreated": t0, "timemodified": t0})  # fmt: skip
        self.context(50, 1)
        self.category("Category 1")
        self.user("guest", firstname="Guest user", lastname=" ", email="root@localhost",
                  timecreated=0)  # fmt: skip
        self.update("user", 1, description="This user is a special user that allows read-only "
                    "access to some courses.")  # fmt: skip
        self.user("admin", firstname="Admin", lastname="User", timecreated=0)
        for _roleid, shortname in ROLES:
            self.role(shortname, archetype=shortname)
        mfa = release_tuple(self.release) >= (4, 3)
        for name, captype, level, component, risk in CAPABILITIES:
            if mfa or component != "tool_mfa":
                self.capability(name, risk, level, captype, component)
        for shortname, capabilities in ROLE_CAPABILITIES.items():
            for capability in capabilities:
                if self.find("capabilities", capability) is not None:
                    self._install_permission(shortname, capability, 1)
        for shortname, capability, permission in ROLE_PROHIBITS:
            self._install_permission(shortname, capability, permission)
        for component, classname, minute, hour, day, month, dow, period in SCHEDULED_TASKS:
            last = self.now - 300
            row = {"component": component, "classname": classname, "lastruntime": last,
                   "nextruntime": last + period, "minute": minute, "hour": hour, "day": day,
                   "month": month, "dayofweek": dow, "faildelay": 0, "disabled": 0}  # fmt: skip
            self.add("task_scheduled", row, key=(classname,))
        self.service("moodle_mobile_app", enabled=0, component="moodle",
                     name="Moodle mobile web service", functions=_MOBILE_FUNCTIONS)  # fmt: skip
        self.update("external_services", 1, downloadfiles=1, uploadfiles=1, timecreated=t0)

    def _install_permission(self, shortname: str, capability: str, permission: int) -> None:
        roleid = self.role_id(shortname)
        row = {"contextid": SYSTEM_CONTEXT, "roleid": roleid, "capability": capability,
               "permission": permission, "timemodified": self.install_time,
               "modifierid": 0}  # fmt: skip
        self.add("role_capabilities", row, key=(roleid, SYSTEM_CONTEXT, capability))
