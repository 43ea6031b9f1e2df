"""Web-service exposure: tokens and enabled services, never the token secrets themselves.

``external_tokens.token`` and ``privatetoken`` are credentials; they are never selected. Every
query names its columns explicitly, so a new secret column cannot leak in by a ``SELECT *``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

# external_tokens.tokentype (EXTERNAL_TOKEN_*)
PERMANENT = 0
EMBEDDED = 1  # created for a logged-in session (e.g. an embedded app); dies with the session
TOKEN_TYPES = {0: "permanent", 1: "embedded", 2: "permanent (emulated session)"}


@dataclass(frozen=True)
class TokenRecord:
    """One web-service token's properties (never its value)."""

    id: int
    userid: int
    username: str | None
    user_suspended: bool
    user_deleted: bool
    tokentype: int
    service_shortname: str | None
    service_name: str | None
    service_enabled: bool
    iprestriction: str | None
    validuntil: int | None
    timecreated: int
    lastaccess: int | None
    creatorid: int | None
    name: str | None = None
    serviceid: int | None = None

    @property
    def embedded(self) -> bool:
        return self.tokentype == EMBEDDED

    @property
    def owner(self) -> str:
        if self.username is None:
            return f"missing user {self.userid}"
        state = " (deleted)" if self.user_deleted else " (suspended)" if self.user_suspended else ""
        return f"user {self.username}{state}"

    @property
    def service(self) -> str:
        return self.service_shortname or self.service_name or "an unknown service"

    @property
    def label(self) -> str:
        """``Token 3 "svc" of user jdoe for service acme_sis``: how a reason names a token."""
        named = f' "{self.name}"' if self.name else ""
        return f"Token {self.id}{named} of {self.owner} for service {self.service}"

    def observed(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "userid": self.userid,
            "username": self.username,
            "tokentype": self.tokentype,
            "service": self.service,
            "iprestriction": self.iprestriction,
            "validuntil": self.validuntil,
            "timecreated": self.timecreated,
            "lastaccess": self.lastaccess,
            "creatorid": self.creatorid,
        }


@dataclass(frozen=True)
class ServiceFunction:
    """A function an external service lists, with what ``external_functions`` declares for it.

    ``component`` is None when the function is listed but no longer installed (Moodle cannot
    call it). ``risks`` ORs the ``riskbitmask`` of every declared capability the site knows;
    ``unknown_capabilities`` are declared names the ``capabilities`` table does not hold.
    """

    serviceid: int
    name: str
    component: str | None
    capabilities: tuple[str, ...]
    risks: int
    unknown_capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceRecord:
    id: int
    name: str
    shortname: str | None
    component: str | None
    restrictedusers: bool
    requiredcapability: str | None
    downloadfiles: bool = False
    uploadfiles: bool = False


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


class WebServices:
    def __init__(self, site: MoodleSite) -> None:
        self._site = site
        self._db = site.db
        self._tokens: list[TokenRecord] | None = None
        self._services: list[ServiceRecord] | None = None
        self._functions: list[ServiceFunction] | None = None

    @property
    def has_tokens(self) -> bool:
        """Whether the site has the token table at all (every supported release does)."""
        return self._site.has_table("external_tokens")

    def tokens(self) -> list[TokenRecord]:
        """Every token with its owner and service, ordered by id (secret columns never read).

        Read once per scan: five checks and the access inventory all look at the same list.
        """
        if self._tokens is None:
            self._tokens = self._read_tokens()
        return list(self._tokens)

    def _read_tokens(self) -> list[TokenRecord]:
        db = self._db
        tokens = db.table("external_tokens")
        users = db.table("user")
        services = db.table("external_services")
        name = tokens.c.name if db.has_column("external_tokens", "name") else sa.null()
        statement = (
            sa.select(
                tokens.c.id,
                tokens.c.userid,
                users.c.username,
                users.c.suspended,
                users.c.deleted,
                tokens.c.tokentype,
                services.c.shortname.label("service_shortname"),
                services.c.name.label("service_name"),
                services.c.enabled.label("service_enabled"),
                tokens.c.iprestriction,
                tokens.c.validuntil,
                tokens.c.timecreated,
                tokens.c.lastaccess,
                tokens.c.creatorid,
                name.label("name"),
                tokens.c.externalserviceid,
            )
            .select_from(
                tokens.outerjoin(users, users.c.id == tokens.c.userid).outerjoin(
                    services, services.c.id == tokens.c.externalserviceid
                )
            )
            .order_by(tokens.c.id)
        )
        rows = db.fetch_all(statement, "webservices: tokens with owner and service (no secrets)")
        return [
            TokenRecord(
                id=int(row["id"]),
                userid=int(row["userid"]),
                username=row["username"],
                user_suspended=bool(row["suspended"]),
                user_deleted=bool(row["deleted"]),
                tokentype=int(row["tokentype"] or 0),
                service_shortname=row["service_shortname"] or None,
                service_name=row["service_name"],
                service_enabled=bool(row["service_enabled"]),
                iprestriction=(row["iprestriction"] or "").strip() or None,
                validuntil=_int_or_none(row["validuntil"]),
                timecreated=int(row["timecreated"] or 0),
                lastaccess=_int_or_none(row["lastaccess"]),
                creatorid=_int_or_none(row["creatorid"]),
                name=row["name"] or None,
                serviceid=_int_or_none(row["externalserviceid"]),
            )
            for row in rows
        ]

    def enabled_services(self) -> list[ServiceRecord]:
        """External services switched on (built-in and custom), ordered by id (read once)."""
        if self._services is None:
            self._services = self._read_services()
        return list(self._services)

    def _read_services(self) -> list[ServiceRecord]:
        services = self._db.table("external_services")
        rows = self._db.fetch_all(
            sa.select(
                services.c.id,
                services.c.name,
                services.c.shortname,
                services.c.component,
                services.c.restrictedusers,
                services.c.requiredcapability,
                services.c.downloadfiles,
                services.c.uploadfiles,
            )
            .where(services.c.enabled == 1)
            .order_by(services.c.id),
            "webservices: enabled external services",
        )
        return [
            ServiceRecord(
                id=int(row["id"]),
                name=str(row["name"]),
                shortname=row["shortname"] or None,
                component=row["component"] or None,
                restrictedusers=bool(row["restrictedusers"]),
                requiredcapability=row["requiredcapability"] or None,
                downloadfiles=bool(int(row["downloadfiles"] or 0)),
                uploadfiles=bool(int(row["uploadfiles"] or 0)),
            )
            for row in rows
        ]

    def service_functions(self) -> list[ServiceFunction]:
        """The functions of every enabled service, ordered by service and name (read once)."""
        if self._functions is None:
            self._functions = self._read_service_functions()
        return list(self._functions)

    def _capability_risks(self) -> dict[str, int]:
        caps = self._db.table("capabilities")
        rows = self._db.fetch_all(
            sa.select(caps.c.name, caps.c.riskbitmask),
            "webservices: risk bits of every capability (to judge service functions)",
        )
        return {str(row["name"]): int(row["riskbitmask"] or 0) for row in rows}

    def _read_service_functions(self) -> list[ServiceFunction]:
        db = self._db
        links = db.table("external_services_functions")
        functions = db.table("external_functions")
        services = db.table("external_services")
        rows = db.fetch_all(
            sa.select(
                links.c.externalserviceid,
                links.c.functionname,
                functions.c.component,
                functions.c.capabilities,
            )
            .select_from(
                links.join(services, services.c.id == links.c.externalserviceid).outerjoin(
                    functions, functions.c.name == links.c.functionname
                )
            )
            .where(services.c.enabled == 1)
            .order_by(links.c.externalserviceid, links.c.functionname),
            "webservices: functions of enabled services, with their declared capabilities",
        )
        risks = self._capability_risks()
        found = []
        for row in rows:
            # Moodle stores the declared capabilities as one comma-separated string; a plugin
            # that declared an array leaves the literal "Array" (seen on a 4.1 site).
            declared = tuple(
                c.strip() for c in str(row["capabilities"] or "").split(",") if c.strip()
            )
            mask = 0
            for capability in declared:
                mask |= risks.get(capability, 0)
            found.append(
                ServiceFunction(
                    serviceid=int(row["externalserviceid"]),
                    name=str(row["functionname"]),
                    component=row["component"] if row["component"] is not None else None,
                    capabilities=declared,
                    risks=mask,
                    unknown_capabilities=tuple(c for c in declared if c not in risks),
                )
            )
        return found
