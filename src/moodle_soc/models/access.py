"""The access inventory as data: every privileged account, its grants, tokens and risk flags.

Each entry has a stable ``key`` (``user:<id>``) and a list of grants, each a stable string:
``siteadmin``, ``role:<shortname>@<place>``, ``override:<role_capabilities id>``,
``loginas@<place>`` and ``token:<id>``, where a place is ``system``, ``category:<id>``,
``course:<id>``, ``module:<id>``, ``user:<id>``, ``block:<id>`` or ``context:<id>``. A review
campaign can snapshot ``model_dump(mode="json")`` and diff the grants later (role creep).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from moodle_soc.models.roster import Reconciliation, RosterLink


class Flag(BaseModel):
    """A risk flag: a stable code and the sentence that says why, naming the account."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    code: str
    reason: str


SCHEMA_VERSION = "1.0"
#: The words of a note saying a population was cut short (see ``AccessInventory.complete``).
INCOMPLETE = "the list is incomplete"
Scope = Literal["privileged", "all"]
GrantKind = Literal["siteadmin", "role", "override", "loginas", "token"]


class Grant(BaseModel):
    """One reason an account is privileged, keyed by a stable string."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    key: str
    kind: GrantKind
    context: str
    risks: list[str]
    summary: str


class TokenInfo(BaseModel):
    """A permanent web-service token the account owns (never its value)."""

    model_config = ConfigDict(defer_build=True)

    id: int
    name: str | None
    service: str
    service_enabled: bool
    custom_service: bool
    functions: int
    function_sample: list[str]
    iprestriction: str | None
    validuntil: datetime | None  # None: never expires
    expired: bool
    lastaccess: datetime | None
    creatorid: int | None


class AccessEntry(BaseModel):
    model_config = ConfigDict(defer_build=True)

    key: str
    userid: int
    username: str
    fullname: str
    email: str
    auth: str
    state: str  # active, suspended, deleted, nologin, unconfirmed, guest
    siteadmin: bool
    privileged: bool
    grants: list[Grant]
    tokens: list[TokenInfo]
    mfa_factors: list[str] | None  # None when the site has no MFA tables
    firstaccess: datetime | None
    lastaccess: datetime | None
    last_login: datetime | None  # user.currentlogin (user.lastlogin is the one before)
    timecreated: datetime | None
    lastip: str
    interactive_logins: int | None  # web logins in the window; token owners only
    login_as_sessions: int  # "log in as" sessions started in the window
    roster: RosterLink | None = None
    flags: list[Flag] = []


class AccessInventory(BaseModel):
    model_config = ConfigDict(defer_build=True)

    schema_version: str = SCHEMA_VERSION
    site: str
    wwwroot: str | None
    moodle: str
    audit_time: datetime
    scope: Scope
    thresholds: dict[str, int]
    mfa: str
    entries: list[AccessEntry]
    flag_counts: dict[str, int]
    roster: Reconciliation | None = None
    notes: list[str] = []

    @property
    def complete(self) -> bool:
        """False when a population behind the inventory was cut short (a note says which)."""
        return not any(INCOMPLETE in note for note in self.notes)

    def entry(self, username: str) -> AccessEntry | None:
        return next((e for e in self.entries if e.username == username), None)
