"""An AuditRun built directly from the models: every status, every severity, hostile data.

The run is what the runner would produce for a small site, without a database: reports are
tested on the model they render, never on a scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from moodle_soc.models.run import (
    AuditRun,
    CategoryReadiness,
    CheckSummary,
    Finding,
    FindingException,
    SiteInfo,
    Summary,
    worst_status,
)
from moodle_soc.results import Severity, Status

AUDIT_TIME = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
SCRIPT_USERNAME = "<script>alert(1)</script>"
IMG_REASON_PART = "<img src=x onerror=alert(1)>"
MARKUP_USERNAME = "[bold]x[/]"

RunFactory = Callable[..., AuditRun]


def finding(
    check_id: str,
    status: Status,
    severity: Severity = Severity.MEDIUM,
    *,
    resource: str = "site",
    reason: str | None = None,
    observed: dict[str, Any] | None = None,
    moodle_check: str | None = None,
    criteria: tuple[str, ...] = ("CC6.1",),
    fix_command: str | None = None,
) -> Finding:
    return Finding(
        check_id=check_id,
        title=f"Title of {check_id}",
        status=status,
        severity=severity,
        resource=resource,
        reason=reason or f"The {resource} of {check_id} is {status.value}.",
        observed=observed or {},
        moodle_check=moodle_check,
        criteria=criteria,
        remediation=f"Fix {check_id} in Site administration.",
        fix_command=fix_command,
    )


FINDINGS: tuple[Finding, ...] = (
    finding(
        "authentication.password_min_length",
        Status.PASS,
        Severity.HIGH,
        resource="setting:minpasswordlength",
        reason="Setting minpasswordlength is '12' (database); the policy requires at least 12.",
        observed={"minpasswordlength": "12"},
        moodle_check="core_passwordpolicy",
        criteria=("CC6.1", "CC6.2"),
    ),
    finding(
        "security.debug_display_disabled",
        Status.FAIL,
        Severity.CRITICAL,
        resource="setting:debugdisplay",
        reason="Setting debugdisplay is '1' (config.php); errors must not be shown to users.",
        observed={"debugdisplay": "1", "debug": 32767},
        moodle_check="core_displayerrors",
        criteria=("CC7.1", "C1.1"),
        fix_command="php admin/cli/cfg.php --name=debugdisplay --set=0",
    ),
    finding(
        "access.site_admins_active",
        Status.FAIL,
        Severity.HIGH,
        resource="user:42",
        reason=f"Site administrator {IMG_REASON_PART} (user:42) last logged in 400 days ago.",
        observed={
            "username": SCRIPT_USERNAME,
            "lastaccess": "2025-10-25T09:00:00+00:00",
            "days_inactive": 400,
            "roles": ["manager", "editingteacher"],
            "capabilities": {"moodle/site:config": "allow"},
            "suspended": False,
            "auth": None,
        },
        criteria=("CC6.2", "CC6.3"),
    ),
    finding(
        "access.site_admins_active",
        Status.PASS,
        Severity.HIGH,
        resource="user:2",
        reason="Site administrator admin (user:2) logged in 3 days ago.",
        observed={"username": "admin", "days_inactive": 3},
        criteria=("CC6.2", "CC6.3"),
    ),
    finding(
        "authentication.lockout_enabled",
        Status.FAIL,
        Severity.MEDIUM,
        resource="setting:lockoutthreshold",
        reason="Setting lockoutthreshold is '0' (default); accounts must lock after failures.",
        observed={"lockoutthreshold": "0"},
        criteria=("CC6.1",),
        fix_command="php admin/cli/cfg.php --name=lockoutthreshold --set=10",
    ),
    finding(
        "access.guest_login_disabled",
        Status.FAIL,
        Severity.LOW,
        resource=f"user:{MARKUP_USERNAME}",
        reason=f"Guest account {MARKUP_USERNAME} can log in.",
        observed={"username": MARKUP_USERNAME},
        criteria=("CC6.1",),
    ),
    finding(
        "governance.risk_assessment_documented",
        Status.MANUAL,
        Severity.MEDIUM,
        reason="A risk assessment cannot be read from the Moodle database; attach it as evidence.",
        criteria=("CC3.1", "CC3.2"),
    ),
    finding(
        "payments.gateway_accounts_reviewed",
        Status.NOT_APPLICABLE,
        Severity.MEDIUM,
        reason="Table mdl_payment_accounts does not exist on this site, so this control cannot"
        " be read from it.",
        observed={"missing_tables": ["payment_accounts"]},
        criteria=("PI1.1",),
    ),
    finding(
        "operations.scheduled_tasks_running",
        Status.ERROR,
        Severity.HIGH,
        resource="task:\\core\\task\\backup_cleanup_task",
        reason="The check failed: OperationalError: no such column: nextruntime.",
        criteria=("A1.1", "CC7.2"),
    ),
    finding(
        "privacy.data_retention_configured",
        Status.PASS,
        Severity.MEDIUM,
        resource="setting:tool_dataprivacy/automaticdataexportapproval",
        reason="Setting tool_dataprivacy/automaticdataexportapproval is '0' (default); requests"
        " are reviewed.",
        observed={"tool_dataprivacy/automaticdataexportapproval": "0"},
        criteria=("P4.2",),
    ),
)

#: A failing finding under an active risk exception; the approver's name is hostile text.
ACCEPTED = finding(
    "webservices.tokens_restricted",
    Status.FAIL,
    Severity.HIGH,
    resource="token:7",
    reason="Token 7 of user integration (user:9) has no IP restriction.",
    criteria=("CC6.1",),
).model_copy(
    update={
        "status": Status.ACCEPTED,
        "exception": FindingException(
            id="EXC-0a1b2c3d",
            state="active",
            scan_status=Status.FAIL,
            reason="The SIS integration moves IPs until the migration ends.",
            owner="Integration team",
            approver=SCRIPT_USERNAME,
            approved_at=date(2026, 11, 1),
            expires=date(2027, 3, 31),
            compensating_control="Token expires monthly.",
        ),
    }
)
FINDINGS = (*FINDINGS, ACCEPTED)

READINESS = (
    CategoryReadiness(
        category="CC", name="Security (common criteria)", criteria=33, met=20, gap=5, error=1,
        manual=7, not_applicable=0, score=76.9,
    ),
    CategoryReadiness(
        category="A", name="Availability", criteria=3, met=1, gap=0, error=1, manual=1,
        not_applicable=0, score=50.0,
    ),
    CategoryReadiness(
        category="C", name="Confidentiality", criteria=2, met=1, gap=1, error=0, manual=0,
        not_applicable=0, score=50.0,
    ),
    CategoryReadiness(
        category="PI", name="Processing integrity", criteria=5, met=0, gap=0, error=0, manual=4,
        not_applicable=1, score=None,
    ),
    CategoryReadiness(
        category="P", name="Privacy", criteria=18, met=9, gap=0, error=0, manual=9,
        not_applicable=0, score=100.0,
    ),
)  # fmt: skip

QUERIES: tuple[dict[str, Any], ...] = (
    {
        "purpose": "Site settings (config)",
        "sql": "SELECT name, value FROM mdl_config",
        "params": {},
        "rows": 512,
        "duration_ms": 3.214,
        "sha256": "9f2c" + "0" * 60,
    },
    {
        "purpose": "Site administrators and their last access",
        "sql": "SELECT u.id, u.username, u.lastaccess\n  FROM mdl_user u\n WHERE u.id IN (:ids)",
        "params": {"ids": [2, 42]},
        "rows": 2,
        "duration_ms": 0.871,
        "sha256": "a1b2" + "f" * 60,
    },
)


def summary_of(findings: Iterable[Finding], readiness: tuple[CategoryReadiness, ...]) -> Summary:
    by_status = {status.value: 0 for status in Status}
    failed: dict[str, int] = {}
    for item in findings:
        by_status[item.status.value] += 1
        if item.status is Status.FAIL:
            failed[item.severity.value] = failed.get(item.severity.value, 0) + 1
    met = sum(r.met for r in readiness)
    decided = sum(r.met + r.gap + r.error for r in readiness)
    return Summary(
        by_status=by_status,
        failed_by_severity=failed,
        readiness=readiness,
        overall_score=round(100 * met / decided, 1) if decided else None,
    )


def checks_of(findings: Iterable[Finding]) -> tuple[CheckSummary, ...]:
    grouped: dict[str, list[Finding]] = {}
    for item in findings:
        grouped.setdefault(item.check_id, []).append(item)
    return tuple(
        CheckSummary(
            id=check_id,
            title=items[0].title,
            area=check_id.split(".", 1)[0],
            severity=max((i.severity for i in items), key=lambda s: s.rank),
            status=worst_status([i.status for i in items]),
            moodle_check=items[0].moodle_check,
            criteria=items[0].criteria,
            rationale=f"Without {check_id}, the site is exposed.",
            findings=len(items),
            duration_ms=1.5,
        )
        for check_id, items in sorted(grouped.items())
    )


def build_run(
    findings: Iterable[Finding] = FINDINGS,
    readiness: tuple[CategoryReadiness, ...] = READINESS,
) -> AuditRun:
    items = tuple(findings)
    return AuditRun(
        tool={"name": "moodle-soc", "version": "0.1.0"},
        catalogue_version="2017 TSC, 2022 points of focus",
        site=SiteInfo(
            name="Acme Academy",
            wwwroot="https://moodle.example.edu",
            siteidentifier="a1b2c3moodle.example.edu",
            database="postgresql://auditor@db/moodle",
            prefix="mdl_",
            moodle_version="2024100705.00",
            moodle_release="4.5.5 (Build: 20250616)",
            moodle_branch="405",
            moodle_label="4.5",
            moodle_band="4.3+",
            moodle_lts=True,
        ),
        audit_time=AUDIT_TIME,
        started_at=AUDIT_TIME,
        finished_at=datetime(2026, 11, 29, 10, 30, 4, tzinfo=UTC),
        policy={"min_password_length": 12, "dormant_admin_days": 90},
        summary=summary_of(items, readiness),
        checks=checks_of(items),
        findings=items,
        queries=QUERIES,
    )


@pytest.fixture
def audit_run() -> AuditRun:
    """A small site's run: passes, failures of every severity, manual, n/a, an error."""
    return build_run()


@pytest.fixture
def make_run() -> RunFactory:
    """Build a run from chosen findings (the summary and check verdicts follow from them)."""
    return build_run


@pytest.fixture
def make_finding() -> Callable[..., Finding]:
    """Build one finding; only the check id and status are required."""
    return finding


@pytest.fixture
def sample_findings() -> tuple[Finding, ...]:
    """The findings of ``audit_run``, to pick from."""
    return FINDINGS
