"""Risk exceptions applied to a scan's findings: an accepted risk is shown, never passed.

A failing finding covered by an exception in force at the audit time becomes ``accepted`` and
carries the exception (who approved it, until when, why) beside the scan's own verdict. An
exception that has expired, or was revoked, before the audit time leaves the finding failing
and is listed with it, so a lapsed acceptance is as visible as an active one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from moodle_soc.models.programme import ExceptionRevocation, ExceptionState, RiskException
from moodle_soc.models.run import Finding, FindingException
from moodle_soc.results import Status


@dataclass(frozen=True)
class ExceptionOnRecord:
    """An exception as the store holds it, with its revocation when there is one."""

    exception: RiskException
    revocation: ExceptionRevocation | None = None

    def state_at(self, moment: datetime) -> ExceptionState:
        """``active``, ``expired``, ``revoked`` or ``pending`` (approved after ``moment``)."""
        if self.revocation is not None and self.revocation.revoked_at <= moment:
            return "revoked"
        if moment.date() < self.exception.approved_at:
            return "pending"
        if moment.date() > self.exception.expires:
            return "expired"
        return "active"

    def covers(self, finding: Finding) -> bool:
        wanted = self.exception
        return finding.check_id == wanted.check_id and wanted.resource in (None, finding.resource)


def apply_exceptions(
    findings: Iterable[Finding], exceptions: Sequence[ExceptionOnRecord], audit_time: datetime
) -> list[Finding]:
    """The findings with exceptions applied: failing ones covered by an active exception become
    ``accepted``; one covered only by a lapsed exception stays ``fail`` and names it."""
    judged = []
    for finding in findings:
        if finding.status is not Status.FAIL:
            judged.append(finding)
            continue
        matching = [e for e in exceptions if e.covers(finding)]
        chosen = _pick(matching, audit_time)
        if chosen is None:
            judged.append(finding)
            continue
        state = chosen.state_at(audit_time)
        if state == "pending":  # never chosen: _pick keeps active and lapsed ones only
            judged.append(finding)
            continue
        judged.append(
            finding.model_copy(
                update={
                    "status": Status.ACCEPTED if state == "active" else Status.FAIL,
                    "exception": _applied(chosen, state),
                }
            )
        )
    return judged


def _pick(matching: list[ExceptionOnRecord], moment: datetime) -> ExceptionOnRecord | None:
    """The active exception (the one expiring last), else the most recently lapsed one."""
    active = [e for e in matching if e.state_at(moment) == "active"]
    if active:
        return max(active, key=lambda e: (e.exception.expires, e.exception.created_at))
    lapsed = [e for e in matching if e.state_at(moment) in ("expired", "revoked")]
    return max(lapsed, key=lambda e: e.exception.expires, default=None)


def _applied(
    on_record: ExceptionOnRecord, state: Literal["active", "expired", "revoked"]
) -> FindingException:
    exception = on_record.exception
    revocation = on_record.revocation if state == "revoked" else None
    return FindingException(
        id=exception.id,
        state=state,
        scan_status=Status.FAIL,
        reason=exception.reason,
        owner=exception.owner,
        approver=exception.approver,
        approved_at=exception.approved_at,
        expires=exception.expires,
        compensating_control=exception.compensating_control,
        revoked_reason=revocation.reason if revocation else None,
    )
