"""What the site has been doing: web services, tasks, backups, logs, MFA, privacy, sessions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .events import EventFields, OtherFormat, event_row
from .fakes import BASE32, fake_secret, token_hex
from .install import EXTERNAL_FUNCTIONS
from .schema import release_tuple
from .store import RowStore

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["SYSTEM_CONTEXT", "ActivityRecords"]

SYSTEM_CONTEXT = 1
_DAY = 86400


class ActivityRecords(RowStore):
    """Builder methods for operational records; each creating method returns the new id."""

    def service(
        self,
        shortname: str,
        *,
        enabled: int = 1,
        restrictedusers: int = 0,
        component: str | None = None,
        name: str | None = None,
        functions: Iterable[str] = (),
    ) -> int:
        """An external service (updated in place when `shortname` exists) and its functions."""
        row = self.find("external_services", shortname)
        if row is None:
            new = {"name": name or shortname, "enabled": enabled,
                   "restrictedusers": restrictedusers, "component": component,
                   "timecreated": self.now, "timemodified": self.now,
                   "shortname": shortname}  # fmt: skip
            serviceid = self.add("external_services", new, key=(shortname,))
        else:
            row.update(enabled=enabled, restrictedusers=restrictedusers)
            serviceid = int(row["id"])
        for function in functions:
            self.external_function(function)
            self.add("external_services_functions",
                     {"externalserviceid": serviceid, "functionname": function})  # fmt: skip
        return serviceid

    def external_function(
        self, name: str, component: str | None = None, capabilities: str | None = None
    ) -> int:
        """The function's external_functions row (created once; a real install has one for every
        installed function). Known names take their real component and capabilities."""
        row = self.find("external_functions", name)
        if row is not None:
            return int(row["id"])
        known = EXTERNAL_FUNCTIONS.get(name, (name.split("_")[0], ""))
        new = {"name": name, "classname": "", "methodname": "", "classpath": None,
               "component": component or known[0],
               "capabilities": known[1] if capabilities is None else capabilities,
               "services": None}  # fmt: skip
        return self.add("external_functions", new, key=(name,))

    def token(
        self,
        userid: int,
        *,
        service: str = "moodle_mobile_app",
        iprestriction: str | None = None,
        validuntil: int = 0,
        lastaccess: int | None = None,
        timecreated: int | None = None,
        creatorid: int = 2,
        tokentype: int = 0,
        name: str | None = None,
    ) -> int:
        svc = self.find("external_services", service)
        if svc is None:
            raise KeyError(f"no external service {service!r}")
        key = self.secret_key("token", "external_tokens")
        row = {"token": token_hex(key), "privatetoken": fake_secret(key, 64),
               "tokentype": tokentype, "userid": userid, "externalserviceid": svc["id"],
               "contextid": SYSTEM_CONTEXT, "creatorid": creatorid,
               "iprestriction": iprestriction, "validuntil": validuntil,
               "timecreated": self.now if timecreated is None else timecreated,
               "lastaccess": lastaccess, "name": name}  # fmt: skip
        return self.add("external_tokens", row)

    def scheduled_task(
        self,
        classname: str,
        *,
        component: str = "core",
        lastruntime: int | None = None,
        faildelay: int = 0,
        disabled: int = 0,
        timestarted: int | None = None,
    ) -> int:
        """Create or update a scheduled task (core tasks are stored with component 'moodle')."""
        row = self.find("task_scheduled", classname)
        if row is None:
            last = self.now - 300 if lastruntime is None else lastruntime
            new = {"component": "moodle" if component == "core" else component,
                   "classname": classname, "lastruntime": last, "nextruntime": last + 60,
                   "minute": "*", "hour": "*", "day": "*", "month": "*", "dayofweek": "*",
                   "faildelay": faildelay, "disabled": disabled,
                   "timestarted": timestarted}  # fmt: skip
            return self.add("task_scheduled", new, key=(classname,))
        period = row["nextruntime"] - row["lastruntime"]
        if lastruntime is not None:
            row.update(lastruntime=lastruntime, nextruntime=lastruntime + period)
        row.update(faildelay=faildelay, disabled=disabled, timestarted=timestarted)
        return int(row["id"])

    def adhoc_task(
        self,
        classname: str,
        *,
        nextruntime: int,
        faildelay: int = 0,
        timestarted: int | None = None,
        component: str = "core",
    ) -> int:
        row = {"component": "" if component == "core" else component, "classname": classname,
               "nextruntime": nextruntime, "faildelay": faildelay, "timecreated": nextruntime,
               "timestarted": timestarted, "attemptsavailable": 12}  # fmt: skip
        return self.add("task_adhoc", row)

    def task_log(
        self,
        classname: str,
        *,
        result: int = 0,
        timestart: float,
        timeend: float | None = None,
        type: int = 0,
    ) -> int:
        """A task run; Moodle logs the class without its leading backslash (§3.6)."""
        name = classname.lstrip("\\")
        component = name.split("\\")[0]
        end = timestart + 1.25 if timeend is None else timeend
        output = f"Execute {'scheduled' if type == 0 else 'adhoc'} task: {name}\n"
        output += "... failed\n" if result else "... used 12 dbqueries\n"
        row = {"type": type, "component": "" if component == "core" else component,
               "classname": name, "userid": 0, "timestart": float(timestart),
               "timeend": float(end), "dbreads": 12, "dbwrites": 3, "result": result,
               "output": output, "hostname": "moodle-app-1", "pid": 4242}  # fmt: skip
        return self.add("task_log", row)

    def backup_course(
        self,
        courseid: int,
        *,
        laststatus: str,
        laststarttime: int,
        lastendtime: int,
        nextstarttime: int = 0,
    ) -> int:
        values = {"laststatus": laststatus, "laststarttime": laststarttime,
                  "lastendtime": lastendtime, "nextstarttime": nextstarttime}  # fmt: skip
        row = self.find("backup_courses", courseid)
        if row is not None:
            row.update(values)
            return int(row["id"])
        return self.add("backup_courses", {"courseid": courseid, **values}, key=(courseid,))

    def log(
        self,
        eventname: str,
        *,
        timecreated: int,
        other: dict[str, Any] | list[Any] | None = None,
        other_format: OtherFormat = "json",
        **fields: Unpack[EventFields],
    ) -> int:
        """A logstore_standard_log row; see `events.event_row` for the defaults."""
        row = event_row(
            eventname, timecreated=timecreated, other=other, other_format=other_format, **fields
        )
        return self.add("logstore_standard_log", row)

    def mfa_factor(
        self,
        userid: int,
        factor: str,
        *,
        revoked: int = 0,
        lastverified: int | None = None,
        label: str = "",
    ) -> int:
        if release_tuple(self.release) < (4, 3):
            raise ValueError(f"Moodle {self.release} has no core MFA (tool_mfa is 4.3+)")
        key = self.secret_key("mfa", "tool_mfa")
        row = {"userid": userid, "factor": factor, "secret": fake_secret(key, 32, BASE32),
               "label": label, "timecreated": self.now - 90 * _DAY,
               "createdfromip": "198.51.100.10", "timemodified": self.now - 90 * _DAY,
               "lastverified": lastverified, "revoked": revoked, "lockcounter": 0}  # fmt: skip
        return self.add("tool_mfa", row)

    def policy(
        self, name: str, *, type: int = 0, optional: int = 0, audience: int = 0, archived: int = 0
    ) -> int:
        """A policy document with one version; returns the version id."""
        policyid = self.add("tool_policy", {"sortorder": 999, "currentversionid": None})
        version = {"name": name, "type": type, "audience": audience, "archived": archived,
                   "usermodified": 2, "timecreated": self.now, "timemodified": self.now,
                   "policyid": policyid, "optional": optional, "revision": "1.0",
                   "summary": f"<p>{name}</p>", "summaryformat": 1,
                   "content": f"<p>{name}: full text.</p>", "contentformat": 1}  # fmt: skip
        versionid = self.add("tool_policy_versions", version)
        if not archived:
            self.update("tool_policy", policyid, currentversionid=versionid)
        return versionid

    def policy_acceptance(self, versionid: int, userid: int, status: int = 1) -> int:
        row = {"policyversionid": versionid, "userid": userid, "status": status,
               "lang": "en", "usermodified": userid, "timecreated": self.now,
               "timemodified": self.now}  # fmt: skip
        return self.add("tool_policy_acceptances", row)

    def privacy_request(
        self, userid: int, *, type: int = 1, status: int = 0, timecreated: int
    ) -> int:
        row = {"type": type, "comments": "", "userid": userid, "requestedby": userid,
               "status": status, "usermodified": userid, "timecreated": timecreated,
               "timemodified": timecreated}  # fmt: skip
        return self.add("tool_dataprivacy_request", row)

    def session(self, userid: int, *, timecreated: int, timemodified: int, ip: str = "") -> int:
        """A row of ``sessions`` with a secret session id."""
        key = self.secret_key("session", "sessions")
        row = {"state": 0, "sid": fake_secret(key, 32, "0123456789abcdefghijklmnopqrstuv"),
               "userid": userid, "timecreated": timecreated, "timemodified": timemodified,
               "firstip": ip, "lastip": ip}  # fmt: skip
        return self.add("sessions", row)

    def payment_gateway(self, gateway: str = "paypal", *, accountid: int = 1) -> int:
        """A gateway whose ``config`` JSON holds API credentials (a secret column)."""
        key = f"{self.seed}:{self.host}:gateway:{gateway}"
        config = {"brandname": self.site_name, "clientid": fake_secret(key + ":id", 40),
                  "secret": fake_secret(key, 40), "environment": "live"}  # fmt: skip
        row = {"accountid": accountid, "gateway": gateway, "enabled": 1,
               "config": json.dumps(config), "timecreated": self.now,
               "timemodified": self.now}  # fmt: skip
        return self.add("payment_gateways", row)
