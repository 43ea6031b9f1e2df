"""Scan runs as evidence: store an AuditRun, read it back, and compare two of them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord
from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.results import Status

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite


def site_ref_for_identity(
    *,
    name: str,
    wwwroot: str | None,
    siteidentifier: str | None,
    database: str,
    prefix: str,
) -> SiteRef:
    """Moodle's ``siteidentifier`` names a site for life; without it, its database location."""
    key = siteidentifier or hashlib.sha256(f"{database}|{prefix}".encode()).hexdigest()[:32]
    return SiteRef(key=key, name=name, wwwroot=wwwroot)


def site_ref_for(run: AuditRun) -> SiteRef:
    """The chain a stored run belongs to."""
    return site_ref_for_identity(
        name=run.site.name,
        wwwroot=run.site.wwwroot,
        siteidentifier=run.site.siteidentifier,
        database=run.site.database,
        prefix=run.site.prefix,
    )


def store_run(store: EvidenceStore, run: AuditRun) -> StoredRecord:
    return store.append(
        site_ref_for(run), RecordKind.RUN, run.model_dump(mode="json"), collected_at=run.audit_time
    )


def load_run(store: EvidenceStore, record: StoredRecord) -> AuditRun:
    if record.kind != RecordKind.RUN:
        raise StoreError(f"Record {record.seq} is a {record.kind} record, not a scan run.")
    payload = store.payload(record)
    if payload is None:
        raise StoreError(f"Record {record.seq}'s payload was cleared by retention.")
    return AuditRun.model_validate(payload)


@dataclass(frozen=True)
class FindingChange:
    check_id: str
    resource: str
    before: Finding | None
    after: Finding | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.check_id, self.resource)

    def as_dict(self) -> dict[str, Any]:
        def side(finding: Finding | None) -> dict[str, Any] | None:
            if finding is None:
                return None
            return {
                "status": finding.status.value,
                "severity": finding.severity.value,
                "reason": finding.reason,
            }

        return {
            "check_id": self.check_id,
            "resource": self.resource,
            "before": side(self.before),
            "after": side(self.after),
        }


@dataclass(frozen=True)
class RunDiff:
    new: list[FindingChange]
    fixed: list[FindingChange]
    changed: list[FindingChange]

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": [c.as_dict() for c in self.new],
            "fixed": [c.as_dict() for c in self.fixed],
            "changed": [c.as_dict() for c in self.changed],
        }


def diff_runs(before: AuditRun, after: AuditRun) -> RunDiff:
    """New failures, fixed failures, and other changes, keyed by (check, resource)."""
    old = {(f.check_id, f.resource): f for f in before.findings}
    now = {(f.check_id, f.resource): f for f in after.findings}
    new, fixed, changed = [], [], []
    for key in sorted(set(old) | set(now)):
        a, b = old.get(key), now.get(key)
        change = FindingChange(key[0], key[1], a, b)
        failed_before = a is not None and a.status is Status.FAIL
        failed_after = b is not None and b.status is Status.FAIL
        if failed_after and not failed_before:
            new.append(change)
        elif failed_before and not failed_after:
            fixed.append(change)
        elif a is not None and b is not None and (a.status, a.severity) != (b.status, b.severity):
            changed.append(change)
    return RunDiff(new=new, fixed=fixed, changed=changed)


def site_ref_for_site(site: MoodleSite) -> SiteRef:
    """The same chain ``scan`` stores runs in (``site_ref_for``, from the live site)."""
    who = site.identity
    return site_ref_for_identity(
        name=who.name,
        wwwroot=who.wwwroot,
        siteidentifier=who.siteidentifier,
        database=who.database,
        prefix=who.prefix,
    )
