"""The core documents as Markdown templates filled from the site: its administrators, MFA
state, password policy, log stores and retention, backup schedule and plugins. The rest is
left for the organisation to complete, marked ``[to complete: ...]``."""

from __future__ import annotations

from datetime import UTC, datetime

from moodle_soc.changes.plugin_risk import plugin_rows
from moodle_soc.models.programme import AdminFact, SiteFacts
from moodle_soc.site.moodle import MoodleSite

TEMPLATES = {
    "access-control-policy": "Access control policy",
    "change-management-procedure": "Change management procedure",
    "incident-response-plan": "Incident response plan",
    "backup-restore-test-record": "Backup and restore test record",
    "plugin-vendor-review-record": "Plugin and vendor review record",
    "log-review-record": "Log review record",
}
_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def site_facts(site: MoodleSite) -> SiteFacts:
    settings = site.settings
    admins = []
    for admin in site.accounts.site_admins():
        user = admin.user
        if user is None:
            admins.append(AdminFact(username=f"(user {admin.id}: no such account)", auth="",
                                    last_access=None, suspended=False))  # fmt: skip
            continue
        seen = datetime.fromtimestamp(user.lastaccess, UTC).date() if user.lastaccess else None
        admins.append(AdminFact(username=user.username, auth=user.auth, last_access=seen,
                                suspended=user.suspended))  # fmt: skip
    version = site.version
    rows = plugin_rows(site.plugins.inventory(), version.label, version.release)
    return SiteFacts(
        site=site.identity.name,
        wwwroot=site.identity.wwwroot,
        moodle_release=version.release,
        moodle_band=version.band,
        read_at=site.audit_time,
        admins=tuple(admins),
        mfa=_mfa(site),
        password_policy=_passwords(site),
        log_stores=tuple(settings.items("enabled_stores", "tool_log")),
        log_retention=_retention(settings.int("loglifetime")),
        backup_schedule=_backups(site),
        additional_plugins=tuple(
            (row.component, row.version or "unknown") for row in rows if row.origin == "additional"
        ),
        plugin_count=len(rows),
    )


def _mfa(site: MoodleSite) -> str:
    settings = site.settings
    core = site.version.band == "4.3+"
    name = "Core multi-factor authentication (tool_mfa)" if core else "The tool_mfa plugin"
    if not site.has_table("tool_mfa"):
        return (
            f"Moodle {site.version.label} has no core multi-factor authentication and the"
            " tool_mfa plugin is not installed: MFA must be enforced at the identity provider."
        )
    if not settings.flag("enabled", "tool_mfa"):
        return f"{name} is installed but disabled."
    factors = [
        factor.removeprefix("factor_")
        for factor in settings.plugin_names("factor_")
        if settings.flag("enabled", factor)
    ]
    return f"{name} is enabled; enabled factors: {', '.join(factors) or 'none'}."


def _passwords(site: MoodleSite) -> str:
    settings = site.settings
    if not settings.flag("passwordpolicy"):
        return "The password policy is off: Moodle enforces no password rules."
    return (
        f"The password policy is on: at least {settings.int('minpasswordlength')} characters,"
        f" {settings.int('minpassworddigits')} digit(s), {settings.int('minpasswordlower')}"
        f" lower-case, {settings.int('minpasswordupper')} upper-case and"
        f" {settings.int('minpasswordnonalphanum')} other character(s); the last"
        f" {settings.int('passwordreuselimit')} passwords may not be reused."
    )


def _retention(days: int) -> str:
    if days <= 0:
        return "Moodle keeps standard log entries indefinitely (loglifetime is 0)."
    return f"Moodle deletes standard log entries after {days} days (loglifetime)."


def _backups(site: MoodleSite) -> str:
    settings = site.settings
    mode = settings.int("backup_auto_active", "backup")
    if mode == 0:
        return "Automated course backups are disabled (backup_auto_active is 0)."
    if mode == 2:
        return "Automated course backups run only when started manually (backup_auto_active is 2)."
    pattern = settings.get("backup_auto_weekdays", "backup") or ""
    days = [_WEEKDAYS[i] for i, on in enumerate(pattern[:7]) if on == "1"]
    hour = settings.int("backup_auto_hour", "backup")
    minute = settings.int("backup_auto_minute", "backup")
    keep = settings.int("backup_auto_max_kept", "backup")
    return (
        f"Automated course backups run on {', '.join(days) or 'no day'} at {hour:02d}:{minute:02d}"
        f" (server time), keeping {keep} backup(s) per course."
    )
