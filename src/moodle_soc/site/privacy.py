"""Privacy evidence: data subject requests (tool_dataprivacy) and site policies (tool_policy).

Only the request and policy metadata is read: never the request comments, nor the policy text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

REQUEST_TYPES = {1: "export", 2: "delete", 3: "other"}
# tool_dataprivacy\api::DATAREQUEST_STATUS_*: still waiting for the organisation to act.
OPEN_STATUSES = {
    0: "pending",
    1: "preprocessing",
    2: "awaiting approval",
    3: "approved",
    4: "processing",
}
POLICY_TYPES = {0: "site", 1: "privacy", 2: "third party", 99: "other"}
POLICY_AUDIENCES = {0: "all users", 1: "authenticated users", 2: "guests"}


@dataclass(frozen=True)
class PrivacyRequest:
    id: int
    userid: int
    type: int
    status: int
    timecreated: int

    @property
    def type_word(self) -> str:
        return REQUEST_TYPES.get(self.type, f"type {self.type}")

    @property
    def status_word(self) -> str:
        return OPEN_STATUSES.get(self.status, f"status {self.status}")


@dataclass(frozen=True)
class PolicyVersion:
    id: int
    policyid: int
    name: str
    type: int
    audience: int
    revision: str | None

    @property
    def type_word(self) -> str:
        return POLICY_TYPES.get(self.type, f"type {self.type}")


class Privacy:
    def __init__(self, site: MoodleSite) -> None:
        self._site = site
        self._db = site.db

    @staticmethod
    def _open_before(requests: sa.TableClause, older_than: int) -> sa.ColumnElement[bool]:
        return sa.and_(
            requests.c.status.in_(sorted(OPEN_STATUSES)), requests.c.timecreated < older_than
        )

    def pending_requests(self, older_than: int, limit: int = 50) -> list[PrivacyRequest]:
        """Open requests created before ``older_than`` (a timestamp), oldest first."""
        requests = self._db.table("tool_dataprivacy_request")
        rows = self._db.fetch_all(
            sa.select(
                requests.c.id,
                requests.c.userid,
                requests.c.type,
                requests.c.status,
                requests.c.timecreated,
            )
            .where(self._open_before(requests, older_than))
            .order_by(requests.c.timecreated, requests.c.id)
            .limit(limit),
            "privacy: data requests still open after the allowed time",
        )
        return [
            PrivacyRequest(
                id=int(row["id"]),
                userid=int(row["userid"]),
                type=int(row["type"]),
                status=int(row["status"]),
                timecreated=int(row["timecreated"]),
            )
            for row in rows
        ]

    def count_pending_requests(self, older_than: int) -> int:
        requests = self._db.table("tool_dataprivacy_request")
        value = self._db.scalar(
            sa.select(sa.func.count())
            .select_from(requests)
            .where(self._open_before(requests, older_than)),
            "privacy: number of data requests still open after the allowed time",
        )
        return int(value or 0)

    def active_site_policies(self) -> list[PolicyVersion]:
        """Current, non-archived, compulsory policy versions shown to all or logged-in users.

        A tool_policy version is active when its policy's ``currentversionid`` points at it;
        other versions are drafts or archived.
        """
        policies = self._db.table("tool_policy")
        versions = self._db.table("tool_policy_versions")
        rows = self._db.fetch_all(
            sa.select(
                versions.c.id,
                versions.c.policyid,
                versions.c.name,
                versions.c.type,
                versions.c.audience,
                versions.c.revision,
            )
            .select_from(versions.join(policies, policies.c.currentversionid == versions.c.id))
            .where(
                versions.c.archived == 0,
                versions.c.optional == 0,
                versions.c.audience.in_((0, 1)),
            )
            .order_by(policies.c.sortorder, versions.c.id),
            "privacy: active compulsory site policies",
        )
        return [
            PolicyVersion(
                id=int(row["id"]),
                policyid=int(row["policyid"]),
                name=str(row["name"]),
                type=int(row["type"]),
                audience=int(row["audience"]),
                revision=row["revision"] or None,
            )
            for row in rows
        ]

    def users_without_policy_acceptance(self, versionids: Sequence[int]) -> int:
        """Active (not deleted, not suspended, not guest) users who have not accepted every
        one of ``versionids``."""
        if not versionids:
            return 0
        users = self._db.table("user")
        acceptances = self._db.table("tool_policy_acceptances")
        guest = self._site.settings.int("siteguest", default=0)
        accepted = (
            sa.select(sa.func.count(sa.distinct(acceptances.c.policyversionid)))
            .where(
                acceptances.c.userid == users.c.id,
                acceptances.c.status == 1,
                acceptances.c.policyversionid.in_(list(versionids)),
            )
            .scalar_subquery()
        )
        value = self._db.scalar(
            sa.select(sa.func.count())
            .select_from(users)
            .where(
                users.c.deleted == 0,
                users.c.suspended == 0,
                users.c.id != guest,
                accepted < len(set(versionids)),
            ),
            "privacy: active users who have not accepted every compulsory policy",
        )
        return int(value or 0)
