"""Risk exceptions applied to findings: accepted while active, failing again once lapsed, and
the exception always shown beside the scan's own verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from moodle_soc.checks.exceptions import ExceptionOnRecord, apply_exceptions
from moodle_soc.models.programme import ExceptionRevocation, RiskException
from moodle_soc.models.run import Finding
from moodle_soc.results import Severity, Status

AUDIT = datetime(2026, 11, 29, 12, tzinfo=UTC)


def finding(status: Status = Status.FAIL, resource: str = "plugin:tool_mfa") -> Finding:
    return Finding(
        check_id="authentication.mfa_enabled", title="MFA is enabled", status=status,
        severity=Severity.HIGH, resource=resource, reason="Setting tool_mfa/enabled is '0'.",
        observed={}, moodle_check=None, criteria=("CC6.1",), remediation="Enable MFA.",
    )  # fmt: skip


def exception(
    *, approved: date = date(2026, 11, 1), expires: date = date(2027, 3, 31),
    resource: str | None = None, id: str = "EXC-0000abcd",
) -> RiskException:  # fmt: skip
    return RiskException(
        id=id, check_id="authentication.mfa_enabled", resource=resource,
        reason="SSO enforces MFA until the rollout.", owner="IT lead", approver="CISO",
        approved_at=approved, expires=expires, compensating_control="IdP MFA.",
        created_by="cco", created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("audit_day", "status", "state"),
    [
        (date(2026, 10, 31), Status.FAIL, None),  # approved the next day: not yet
        (date(2026, 11, 1), Status.ACCEPTED, "active"),
        (date(2027, 3, 31), Status.ACCEPTED, "active"),  # the expiry day is still covered
        (date(2027, 4, 1), Status.FAIL, "expired"),
    ],
)
def test_an_exception_accepts_the_failure_from_approval_to_expiry(
    audit_day: date, status: Status, state: str | None
) -> None:
    moment = datetime.combine(audit_day, AUDIT.timetz())
    (judged,) = apply_exceptions([finding()], [ExceptionOnRecord(exception())], moment)
    assert judged.status is status
    if state is None:
        assert judged.exception is None
    else:
        assert judged.exception is not None
        assert (judged.exception.state, judged.exception.scan_status) == (state, Status.FAIL)
        assert (judged.exception.id, judged.exception.approver) == ("EXC-0000abcd", "CISO")
        assert judged.exception.expires == date(2027, 3, 31)
        assert judged.reason == "Setting tool_mfa/enabled is '0'."  # the scan's words stay


def test_a_revoked_exception_is_listed_and_the_finding_fails() -> None:
    revocation = ExceptionRevocation(
        exception_id="EXC-0000abcd",
        reason="MFA is on now.",
        revoked_by="ciso",
        revoked_at=datetime(2026, 11, 20, tzinfo=UTC),
    )
    (judged,) = apply_exceptions([finding()], [ExceptionOnRecord(exception(), revocation)], AUDIT)
    assert judged.status is Status.FAIL
    assert judged.exception is not None and judged.exception.state == "revoked"
    assert judged.exception.revoked_reason == "MFA is on now."


def test_only_failures_of_the_named_resource_are_accepted() -> None:
    findings = [finding(resource="user:7"), finding(resource="user:8"), finding(Status.ERROR)]
    judged = apply_exceptions(findings, [ExceptionOnRecord(exception(resource="user:7"))], AUDIT)
    assert [f.status for f in judged] == [Status.ACCEPTED, Status.FAIL, Status.ERROR]
    assert judged[1].exception is None and judged[2].exception is None  # errors never accepted


def test_an_active_exception_wins_over_a_lapsed_one() -> None:
    old = ExceptionOnRecord(exception(id="EXC-00000001", approved=date(2026, 1, 1),
                                      expires=date(2026, 6, 30)))  # fmt: skip
    new = ExceptionOnRecord(exception(id="EXC-00000002"))
    (judged,) = apply_exceptions([finding()], [old, new], AUDIT)
    assert judged.status is Status.ACCEPTED
    assert judged.exception is not None and judged.exception.id == "EXC-00000002"
