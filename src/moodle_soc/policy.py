"""Every threshold the checks apply, declared once with its reason, overridable from YAML.

A ``moodle-soc.yaml`` may carry a ``policy:`` mapping whose keys are the field names below;
unknown keys and wrong types are refused with one clear sentence.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodle_soc.errors import BadInputError

DAY = 86400


class Policy(BaseModel):
    """The organisation's control thresholds. Defaults follow common SOC 2 practice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_password_length: int = Field(
        12, ge=1, description="Short passwords are guessable; NIST 800-63B asks for length first."
    )
    required_password_classes: int = Field(
        3,
        ge=0,
        le=4,
        description="How many of digits, lower case, upper case and symbols a password must mix.",
    )
    min_password_reuse_limit: int = Field(
        5, ge=0, description="Earlier passwords a user may not reuse, so a rotation really rotates."
    )
    max_lockout_threshold: int = Field(
        10, ge=1, description="Failed logins allowed before lockout; more invites brute force."
    )
    max_session_timeout_seconds: int = Field(
        8 * 3600, ge=60, description="Idle sessions left open on shared machines get hijacked."
    )
    max_site_admins: int = Field(
        2, ge=1, description="Site administrators bypass every capability check; keep few."
    )
    dormant_days: int = Field(
        90, ge=1, description="Accounts unused this long should be disabled (leavers, stale)."
    )
    never_logged_in_grace_days: int = Field(
        30, ge=0, description="New accounts get this long to log in before they count as unused."
    )
    max_dormant_account_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of active accounts that may be dormant before the control fails.",
    )
    allowed_auth_plugins: tuple[str, ...] = Field(
        ("manual", "nologin", "ldap", "oauth2", "saml2", "shibboleth", "cas", "lti", "mnet"),
        description="Authentication plugins the organisation has approved.",
    )
    weak_mfa_factors: tuple[str, ...] = Field(
        ("email", "nosetup", "grace", "iprange", "cohort", "role", "capability", "admin", "auth"),
        description="Factors that alone do not prove possession of a second secret.",
    )
    privileged_course_roles: bool = Field(
        False,
        description="Also count roles assigned in a course or below (editing teachers) as"
        " privileged when they allow a RISK_CONFIG, RISK_MANAGETRUST or RISK_DATALOSS"
        " capability; off, privileged means power beyond one course.",
    )
    approved_system_role_holders: tuple[str, ...] | None = Field(
        None,
        description="Usernames approved to hold privileged roles at system level; unset, the"
        " holders are listed for manual approval (an empty list approves nobody).",
    )
    allowed_ws_protocols: tuple[str, ...] = Field(
        ("rest",), description="Web-service protocols the organisation has approved."
    )
    approved_ws_functions: tuple[str, ...] | None = Field(
        None,
        description="Write or risky web-service functions approved for token access, each as"
        " '<service shortname or id>:<function>'; unset, those reachable only through"
        " restricted, IP-bound, non-admin tokens are listed for manual approval.",
    )
    max_token_idle_days: int = Field(
        90, ge=1, description="A token unused this long is forgotten access; revoke it."
    )
    min_log_retention_days: int = Field(
        365, ge=1, description="Logs must cover the audit window (a Type II period is ≤ 12 months)."
    )
    max_backup_age_days: int = Field(
        7, ge=1, description="A course's last successful automated backup must be this recent."
    )
    max_privacy_request_days: int = Field(
        30, ge=1, description="GDPR gives a month to answer data subject requests."
    )
    access_review_interval_days: int = Field(
        90,
        ge=1,
        description="Privileged access must be reviewed at least this often (quarterly).",
    )
    min_evidence_retention_days: int = Field(
        400,
        ge=0,
        description="Evidence younger than this is never cleared: it must outlive the audit"
        " period it serves and the report's issuance.",
    )
    suspended_login_window_days: int = Field(
        90, ge=1, description="How far back to look for login attempts on suspended accounts."
    )
    change_review_days: int = Field(
        90,
        ge=1,
        description="Each scan matches the changes of this many days before the audit time to"
        " their approvals, so every change is reviewed by a quarterly scan at the latest.",
    )
    max_recording_delay_hours: int = Field(
        6,
        ge=0,
        description="A run recorded more than this long after its audit time is reconstructed,"
        " not contemporaneous: it is shown as such and never counts as a monitored day.",
    )
    vendor_review_max_age_days: int = Field(
        365, ge=1, description="An additional plugin's vendor review must be renewed yearly."
    )
    log_review_days: int = Field(
        31,
        ge=1,
        description="An audit-log review covers this many days up to the audit time by default,"
        " so a monthly review leaves no day unread.",
    )
    log_review_interval_days: int = Field(
        31,
        ge=1,
        description="The security events of the log must be reviewed and signed off at least"
        " this often (monthly).",
    )
    burst_failures: int = Field(
        5,
        ge=2,
        description="This many failed logins for one account, or from one IP, within the burst"
        " window are a brute-force burst to review.",
    )
    burst_window_minutes: int = Field(
        60, ge=1, description="The window a brute-force burst's failed logins fall within."
    )
    spraying_usernames: int = Field(
        10,
        ge=2,
        description="One IP failing to log in as this many distinct usernames within the"
        " spraying window is password spraying.",
    )
    spraying_window_hours: int = Field(
        24, ge=1, description="The window a password-spraying IP's attempts fall within."
    )

    remediation_days_critical: int = Field(
        7, ge=1, description="A critical failing finding must be fixed within this many days."
    )
    remediation_days_high: int = Field(
        30, ge=1, description="A high-severity failing finding must be fixed within a month."
    )
    remediation_days_medium: int = Field(
        90, ge=1, description="A medium-severity failing finding must be fixed within a quarter."
    )
    remediation_days_low: int = Field(
        180, ge=1, description="A low-severity or informational finding: within half a year."
    )

    def remediation_days(self, severity: str) -> int:
        """Days from a failure's first sighting to its remediation due date."""
        days = {
            "critical": self.remediation_days_critical,
            "high": self.remediation_days_high,
            "medium": self.remediation_days_medium,
        }
        return days.get(severity, self.remediation_days_low)

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None, source: str = "moodle-soc.yaml") -> Policy:
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "policy"
            raise BadInputError(f"{source}: policy.{where}: {first['msg']}.") from None

    def thresholds(self) -> list[tuple[str, Any, str]]:
        """(name, value, reason) for every threshold, for reports and ``checks policy``."""
        return [
            (name, getattr(self, name), info.description or "")
            for name, info in type(self).model_fields.items()
        ]
