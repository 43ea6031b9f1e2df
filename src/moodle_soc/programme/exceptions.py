"""Risk exceptions as append-only evidence: add one, revoke one, list them with their state.

An exception is never edited or deleted: a revocation is a second record naming it, and the
scan reads both (``ExceptionOnRecord``) to decide whether a failing finding is ``accepted``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

from pydantic import ValidationError

from moodle_soc.checks.exceptions import ExceptionOnRecord
from moodle_soc.errors import BadInputError, UsageError
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.models.programme import ExceptionRevocation, RiskException
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord

#: The longest an exception may run: a risk accepted for longer is a decision nobody revisits.
MAX_EXCEPTION_DAYS = 366


@dataclass(frozen=True)
class ExceptionRequest:
    check_id: str
    reason: str
    owner: str
    approver: str
    expires: date
    resource: str | None = None
    approved_at: date | None = None  # None: approved today (the day it is recorded)
    compensating_control: str = ""


def add_exception(
    store: EvidenceStore,
    site: SiteRef,
    request: ExceptionRequest,
    *,
    created_by: str,
    known_checks: frozenset[str],
    now: datetime | None = None,
) -> tuple[RiskException, StoredRecord]:
    """Validate and record an exception; refused with one sentence when it cannot stand."""
    now = now or datetime.now(UTC)
    if request.check_id not in known_checks:
        raise UsageError(
            f"--check {request.check_id!r} is not a check id; see 'moodle-soc checks list'."
        )
    for option, value in (
        ("--reason", request.reason),
        ("--owner", request.owner),
        ("--approver", request.approver),
    ):
        if not value.strip():
            raise UsageError(f"{option} must not be empty: an exception names who and why.")
    approved = request.approved_at or now.date()
    if approved > now.date():
        raise UsageError(f"--approved-at {approved} is in the future; record approvals given.")
    if request.expires < approved:
        raise UsageError(f"--expires {request.expires} is before the approval ({approved}).")
    if (request.expires - approved).days > MAX_EXCEPTION_DAYS:
        raise UsageError(
            f"--expires {request.expires} is more than {MAX_EXCEPTION_DAYS} days after the"
            f" approval ({approved}); accept a risk for a year at most, then review it."
        )
    if request.expires < now.date():
        raise UsageError(f"--expires {request.expires} has already passed.")
    exception = RiskException(
        id=f"EXC-{secrets.token_hex(4)}",
        check_id=request.check_id,
        resource=request.resource.strip() if request.resource else None,
        reason=request.reason.strip(),
        owner=request.owner.strip(),
        approver=request.approver.strip(),
        approved_at=approved,
        expires=request.expires,
        compensating_control=request.compensating_control.strip(),
        created_by=created_by,
        created_at=now,
    )
    record = store.append(
        site,
        RecordKind.RISK_EXCEPTION,
        exception.model_dump(mode="json"),
        collected_at=now,
        effective_date=approved,
    )
    return exception, record


def exceptions_on_record(store: EvidenceStore, site_key: str) -> list[ExceptionOnRecord]:
    """Every exception of the site's chain, with its revocation, in the order recorded."""
    found: dict[str, RiskException] = {}
    revoked: dict[str, ExceptionRevocation] = {}
    for record in store.records(site_key=site_key, kind=RecordKind.RISK_EXCEPTION):
        exception = _parse(store, record, RiskException)
        if exception is not None:
            found[exception.id] = exception
    for record in store.records(site_key=site_key, kind=RecordKind.EXCEPTION_REVOCATION):
        revocation = _parse(store, record, ExceptionRevocation)
        if revocation is not None and revocation.exception_id not in revoked:
            revoked[revocation.exception_id] = revocation
    return [ExceptionOnRecord(e, revoked.get(e.id)) for e in found.values()]


def revoke_exception(
    store: EvidenceStore,
    site: SiteRef,
    exception_id: str,
    *,
    reason: str,
    revoked_by: str,
    now: datetime | None = None,
) -> tuple[ExceptionOnRecord, StoredRecord]:
    now = now or datetime.now(UTC)
    if not reason.strip():
        raise UsageError("--reason must not be empty: say why the exception is revoked.")
    text = exception_id.strip()
    wanted = "EXC-" + text[4:].lower() if text.upper().startswith("EXC-") else text
    on_record = {e.exception.id: e for e in exceptions_on_record(store, site.key)}
    if wanted not in on_record:
        known = ", ".join(sorted(on_record)) or "none"
        raise UsageError(f"Exception {exception_id!r} is not on record for {site.name} ({known}).")
    if on_record[wanted].revocation is not None:
        raise UsageError(f"Exception {wanted} was already revoked.")
    revocation = ExceptionRevocation(
        exception_id=wanted, reason=reason.strip(), revoked_by=revoked_by, revoked_at=now
    )
    record = store.append(
        site,
        RecordKind.EXCEPTION_REVOCATION,
        revocation.model_dump(mode="json"),
        collected_at=now,
        effective_date=now.date(),
    )
    return ExceptionOnRecord(on_record[wanted].exception, revocation), record


_M = TypeVar("_M", RiskException, ExceptionRevocation)


def _parse(store: EvidenceStore, record: StoredRecord, model: type[_M]) -> _M | None:
    payload = store.payload(record)
    if payload is None:
        return None
    try:
        return model.model_validate(payload)
    except ValidationError:
        raise BadInputError(
            f"Record {record.seq} ({record.kind}) does not have the shape this version expects."
        ) from None
