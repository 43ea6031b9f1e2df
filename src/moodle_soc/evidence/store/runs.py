"""Scan runs as evidence: store an AuditRun, read it back, and compare two of them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moodle_soc.evidence.store.canonical import sha256_hex
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord
from moodle_soc.models.run import AuditRun, CheckSummary, Finding, finding_from_row
from moodle_soc.results import Severity, Status

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
    """The run's populations as blobs (stored once by their SHA-256), then the run itself,
    naming each population by that hash: the chain covers every finding."""
    store.put_blobs(run.populations.values())
    return store.append(
        site_ref_for(run), RecordKind.RUN, run.model_dump(mode="json"), collected_at=run.audit_time
    )


def load_run(store: EvidenceStore, record: StoredRecord) -> AuditRun:
    """A stored run with its populations: the one way stored findings are read back."""
    if record.kind != RecordKind.RUN:
        raise StoreError(f"Record {record.seq} is a {record.kind} record, not a scan run.")
    payload = store.payload(record)
    if payload is None:
        raise StoreError(f"Record {record.seq}'s payload was cleared by retention.")
    found = store.get_blobs(population_hashes(payload))
    return run_from_payload(payload, found.get, f"record {record.seq}")


def population_hashes(payload: Any) -> tuple[str, ...]:
    """The SHA-256 of every population a stored run's payload names (none before 3.0)."""
    checks = payload.get("checks", []) if isinstance(payload, dict) else []
    return tuple(
        str(check["population"]["sha256"])
        for check in checks
        if isinstance(check, dict) and isinstance(check.get("population"), dict)
    )


def run_from_payload(
    payload: dict[str, Any], blob: Callable[[str], bytes | None], where: str
) -> AuditRun:
    """A run from its stored JSON and a way to read blobs by SHA-256 (the store's, or a
    package's files). A schema 2.x payload carries its findings itself; a 3.0 one names a
    population per check, which must be there and hash to its name."""
    populations: dict[str, bytes] = {}
    if "findings" not in payload:
        for check in payload.get("checks", []):
            ref = check.get("population")
            if ref is None:
                continue
            data = blob(str(ref["sha256"]))
            if data is None:
                raise StoreError(f"The findings of {check['id']} in {where} are missing.")
            if sha256_hex(data) != ref["sha256"]:
                raise StoreError(
                    f"The findings of {check['id']} in {where} were altered (their hash does"
                    " not match the run's)."
                )
            populations[str(check["id"])] = data
    return AuditRun.model_validate({**payload, "populations": populations})


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
    """New failures, fixed failures, and other changes, keyed by (check, resource). Compared
    check by check, from the population rows: only one check's rows of each run are held at
    a time, and only the changes become findings."""
    old_checks = {check.id: check for check in before.checks}
    new_checks = {check.id: check for check in after.checks}
    new: list[FindingChange] = []
    fixed: list[FindingChange] = []
    changed: list[FindingChange] = []
    for check_id in sorted(old_checks.keys() | new_checks.keys()):
        was, now = old_checks.get(check_id), new_checks.get(check_id)
        old, current = _by_resource(before, was), _by_resource(after, now)
        for resource in sorted(old.keys() | current.keys()):
            a, b = old.get(resource), current.get(resource)
            failed_before = a is not None and a[0] is Status.FAIL
            failed_after = b is not None and b[0] is Status.FAIL
            if failed_after and not failed_before:
                found = new
            elif failed_before and not failed_after:
                found = fixed
            elif a is not None and b is not None and a[:2] != b[:2]:
                found = changed
            else:
                continue
            found.append(
                FindingChange(
                    check_id,
                    resource,
                    finding_from_row(a[2], was) if a is not None and was is not None else None,
                    finding_from_row(b[2], now) if b is not None and now is not None else None,
                )
            )
    return RunDiff(new=new, fixed=fixed, changed=changed)


def _by_resource(
    run: AuditRun, check: CheckSummary | None
) -> dict[str, tuple[Status, Severity, dict[str, Any]]]:
    """A check's rows by resource, with each row's status and severity (its own or the
    check's)."""
    if check is None:
        return {}
    return {
        str(row["resource"]): (
            Status(row["status"]),
            Severity(row.get("severity", check.severity)),
            row,
        )
        for row in run.check_rows(check)
    }


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
