"""The evidence records of a user access review campaign, and the state derived from them.

``review_campaign`` (``CampaignStart``) holds the inventory snapshot with each entry's tag against
the previous campaign; ``review_decisions`` (``DecisionImport``) one validated review file;
``review_close`` (``CampaignClose``) the sign-off with its follow-ups; ``review_followup_check``
(``FollowUpCheck``) a later look at the site. Records are never edited: ``Campaign``
derives everything (decisions in force, counts, state) from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from moodle_soc.models.access import AccessEntry, AccessInventory, Scope
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord

REVIEW_KINDS = (
    RecordKind.REVIEW_CAMPAIGN,
    RecordKind.REVIEW_DECISIONS,
    RecordKind.REVIEW_CLOSE,
    RecordKind.REVIEW_FOLLOWUP_CHECK,
)
DECISIONS = ("keep", "revoke", "modify", "escalate")
Tag = Literal["new", "unchanged", "changed", "removed"]
DecisionValue = Literal["keep", "revoke", "modify", "escalate"]


class _Record(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class EntryTag(_Record):
    """How an entry compares with the previous campaign's snapshot."""

    key: str
    tag: Tag
    grants_added: list[str] = []
    grants_removed: list[str] = []


class CampaignStart(_Record):
    """The ``review_campaign`` payload: who reviews what, and the inventory as it was read."""

    campaign_id: str
    site_key: str
    site_name: str
    wwwroot: str | None
    scope: Scope
    reviewer: str
    started_by: str
    started_at: datetime
    audit_time: datetime
    previous_campaign: str | None
    inventory: AccessInventory
    tags: list[EntryTag]
    removed: list[AccessEntry]


class Decision(_Record):
    key: str
    decision: DecisionValue
    comment: str = ""
    remove_grants: list[str] = []  # revoke: empty means all the entry's grants
    reviewer: str
    row: int  # the row of the review file it came from


class DecisionImport(_Record):
    """The ``review_decisions`` payload: one validated review file, or one decision recorded
    in the web dashboard (``file_format`` "web": no file; ``file_sha256`` hashes the decision
    as submitted, ``row`` is 0)."""

    campaign_id: str
    imported_by: str
    imported_at: datetime
    file_name: str
    file_sha256: str
    file_format: Literal["xlsx", "csv", "web"]
    decisions: list[Decision]


class FollowUp(_Record):
    """A change the review decided: done when the account is gone, suspended, or no longer
    holds ``remove_grants`` (with no grants to remove, only a suspension or deletion will do)."""

    key: str
    userid: int
    username: str
    decision: DecisionValue
    remove_grants: list[str]
    action: str
    due: date
    decided_by: str
    comment: str = ""


class CampaignClose(_Record):
    """The ``review_close`` payload: the sign-off, final."""

    campaign_id: str
    closed_by: str
    closed_at: datetime
    follow_up_days: int
    counts: dict[str, int]
    follow_ups: list[FollowUp]


@dataclass
class Campaign:
    """A campaign's records, in chain order; every property is derived from them."""

    start: CampaignStart
    record: StoredRecord
    imports: list[DecisionImport]
    close: CampaignClose | None = None
    checks: list[FollowUpCheck] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.start.campaign_id

    @property
    def site(self) -> SiteRef:
        return SiteRef(self.start.site_key, self.start.site_name, self.start.wwwroot)

    @property
    def state(self) -> str:
        return "closed" if self.close is not None else "open"

    @property
    def entries(self) -> list[AccessEntry]:
        return self.start.inventory.entries

    def entry(self, key: str) -> AccessEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def tag(self, key: str) -> EntryTag:
        return next((t for t in self.start.tags if t.key == key), EntryTag(key=key, tag="new"))

    @property
    def decisions(self) -> dict[str, Decision]:
        """The decision in force per key: the latest import wins."""
        return {d.key: d for each in self.imports for d in each.decisions}

    def decided_at(self, key: str) -> datetime | None:
        found = [i.imported_at for i in self.imports if any(d.key == key for d in i.decisions)]
        return found[-1] if found else None

    def undecided(self) -> list[str]:
        decided = self.decisions
        return [e.key for e in self.entries if e.key not in decided]

    def counts(self) -> dict[str, int]:
        decided = self.decisions
        counts = {"entries": len(self.entries), "removed": len(self.start.removed)}
        for tag in ("new", "unchanged", "changed"):
            counts[tag] = sum(t.tag == tag for t in self.start.tags)
        counts["role_creep"] = sum(bool(t.grants_added) for t in self.start.tags)
        for value in DECISIONS:
            counts[value] = sum(d.decision == value for d in decided.values())
        counts["undecided"] = len(self.undecided())
        return counts


FollowUpState = Literal["done", "pending", "overdue"]


class FollowUpStatus(BaseModel):
    """What the site shows for one follow-up at ``checked``: the sentence an auditor reads."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    key: str
    userid: int
    username: str
    status: FollowUpState
    reason: str
    due: date
    action: str
    remaining_grants: list[str]
    account_state: str | None  # None: the account is absent from the inventory


class FollowUpCheck(BaseModel):
    """The ``review_followup_check`` payload."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    campaign_id: str
    audit_time: datetime
    checked_at: datetime
    checked_by: str
    database: str
    statuses: list[FollowUpStatus]

    def counts(self) -> dict[str, int]:
        return {state: sum(s.status == state for s in self.statuses) for state in _STATES}


_STATES: tuple[FollowUpState, ...] = ("done", "pending", "overdue")
