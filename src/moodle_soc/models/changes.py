"""The change population: every change to a site in a period, and the tickets approving them.

A change is one row an auditor can sample: what changed (``kind``, ``component``, ``name``),
from what to what, when, by whom when Moodle knows, where the tool saw it (``source``) and,
when a change tracker's approvals were given, how it matches them. docs/changes.md documents
every field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

ChangeKind = Literal["setting", "plugin", "core", "config_php", "role"]
ChangeSource = Literal[
    "config_log", "upgrade_log", "runs", "logstore_standard_log", "role_capabilities"
]
ApprovalStatus = Literal["approved", "unapproved", "out_of_order", "sod_conflict"]
#: Statuses that are exceptions an auditor must see explained.
EXCEPTIONS: tuple[ApprovalStatus, ...] = ("unapproved", "out_of_order", "sod_conflict")
CHANGE_COLUMNS = (
    "id", "kind", "component", "name", "old", "new", "at", "at_from", "by_id", "by_username",
    "source", "detail", "masked", "approval", "ticket", "approval_note",
)  # fmt: skip


class Change(BaseModel):
    """One change, as an auditor samples it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str  # "<source>:<reference>", stable for one site
    kind: ChangeKind
    component: str  # "core", a plugin (frankenstyle), or "role"
    name: str  # setting name, "version", or the role's shortname
    old: str | None
    new: str | None
    at: datetime  # when it was made; for source "runs", the later scan
    at_from: datetime | None = None  # source "runs": the earlier scan (it happened after it)
    by_id: int | None = None  # Moodle user id; None when Moodle does not know (0: the system)
    by_username: str | None = None
    source: ChangeSource
    detail: str = ""
    masked: bool = False  # old/new hidden by the secrets policy
    approval: ApprovalStatus | None = None  # None: no approvals file was given
    ticket: str | None = None
    approval_note: str | None = None

    @property
    def scope_key(self) -> str:
        return f"{self.component}/{self.name}"


class Ticket(BaseModel):
    """One approved change request from a change tracker's export."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    ticket: str
    title: str
    requested_by: str
    approved_by: str
    approved_at: datetime
    deploy_from: datetime
    deploy_to: datetime
    scope: tuple[str, ...]
    line: int  # where it was in the file (a CSV line, or a JSON entry number)


class Approvals(BaseModel):
    """A validated approvals file: where it came from, its hash, its tickets."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    source: str
    sha256: str
    tickets: tuple[Ticket, ...]


class ChangeSet(BaseModel):
    """The changes of one site in one period, with what the reader must know about them."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    site: str
    audit_time: datetime
    start: date
    end: date
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()
    approvals_source: str | None = None
    approvals_sha256: str | None = None

    def counts(self) -> dict[str, int]:
        """Changes per approval status (``not_matched`` without an approvals file)."""
        found: dict[str, int] = {}
        for change in self.changes:
            key = change.approval or "not_matched"
            found[key] = found.get(key, 0) + 1
        return found
