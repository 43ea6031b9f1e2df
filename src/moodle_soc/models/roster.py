"""The HR roster as data: its rows, and how they reconcile with Moodle accounts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class RosterRow(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    line: int
    email: str | None = None
    username: str | None = None
    status: Literal["active", "left"]
    leave_date: date | None = None
    manager: str | None = None

    @property
    def who(self) -> str:
        return self.username or self.email or f"line {self.line}"


class Roster(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    source: str
    rows: tuple[RosterRow, ...]


class RosterLink(BaseModel):
    """The roster row an account matched, and on which column."""

    model_config = ConfigDict(defer_build=True)

    userid: int
    line: int
    matched_on: Literal["username", "email"]
    status: Literal["active", "left"]
    leave_date: date | None
    manager: str | None


class Leaver(BaseModel):
    """A person the roster says has left whose Moodle account is still active."""

    model_config = ConfigDict(defer_build=True)

    userid: int
    username: str
    line: int
    leave_date: date
    manager: str | None
    lastaccess: datetime | None
    days_active_after_leave: int
    days_used_after_leave: int | None


class Reconciliation(BaseModel):
    model_config = ConfigDict(defer_build=True)

    source: str
    rows: int
    links: list[RosterLink]
    unmatched: list[RosterRow]
    leavers_still_active: list[Leaver]
    leavers_deactivated: int

    def link_for(self, userid: int) -> RosterLink | None:
        return next((link for link in self.links if link.userid == userid), None)
