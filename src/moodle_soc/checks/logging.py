"""Logging: the standard log store records events and keeps them for the audit window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moodle_soc.checks.registry import SettingFix, check
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext

STANDARD_STORE = "logstore_standard"
STORES_PAGE = "Site administration > Plugins > Logging > Manage log stores"


@check(
    "logging.standard_log_enabled",
    severity=Severity.HIGH,
    title="The standard log store records events",
    remediation=f"{STORES_PAGE}: enable the Standard log store.",
)
def standard_log_enabled(scan: ScanContext) -> Iterator[Result]:
    """Without the standard log store Moodle keeps no audit trail it can report on."""
    stores = scan.site.settings.items("enabled_stores", "tool_log")
    shown = ", ".join(stores) if stores else "none"
    enabled = STANDARD_STORE in stores
    verdict = "includes" if enabled else "does not include"
    yield Result.pass_if(
        enabled,
        f"Setting tool_log/enabled_stores ({shown}) {verdict} the standard log store.",
        resource="setting:tool_log/enabled_stores",
        observed={"tool_log/enabled_stores": stores},
    ).with_fix(command=enable_standard_store(stores))


def enable_standard_store(stores: list[str]) -> str:
    """The cfg.php command that adds the standard store to the enabled ones (keeping them)."""
    return SettingFix("enabled_stores", ",".join([*stores, STANDARD_STORE]), "tool_log").command


@check(
    "logging.retention_covers_audit_window",
    severity=Severity.HIGH,
    title="Standard log retention covers the audit window",
    remediation=(
        "Site administration > Plugins > Logging > Standard log: set 'Keep logs for' to"
        " 'Never delete logs' or at least the policy's retention."
    ),
    fix=SettingFix("loglifetime", "0", "logstore_standard"),
)
def retention_covers_audit_window(scan: ScanContext) -> Iterator[Result]:
    """Logs deleted before the audit window ends leave the auditor no evidence to test."""
    lifetime = scan.site.settings.int("loglifetime", "logstore_standard")
    required = scan.policy.min_log_retention_days
    observed: dict[str, Any] = {
        "logstore_standard/loglifetime": lifetime,
        "min_log_retention_days": required,
    }
    coverage = ""
    if scan.site.logs.has_standard_log:
        bounds = scan.site.logs.standard_log_bounds()
        observed["oldest_log"] = bounds.oldest_iso
        observed["days_covered"] = bounds.days_covered(scan.site.now)
        coverage = (
            f"; the oldest row is from {bounds.oldest_iso[:10]}"
            f" ({bounds.days_covered(scan.site.now)} days ago)"
            if bounds.oldest_iso
            else "; the standard log is empty"
        )
    stores = scan.site.settings.items("enabled_stores", "tool_log")
    if STANDARD_STORE not in stores:
        observed["tool_log/enabled_stores"] = stores
        # Retention is moot (often already 0) until the store is on: the fix enables it.
        yield Result.failed(
            "The standard log store is disabled (tool_log/enabled_stores is"
            f" {', '.join(stores) or 'empty'}), so no events are kept whatever the retention"
            f"{coverage}; enable it first.",
            resource="setting:logstore_standard/loglifetime",
            observed=observed,
        ).with_fix(
            remediation=f"{STORES_PAGE}: enable the Standard log store, then check 'Keep logs"
            " for' under Logging > Standard log.",
            command=enable_standard_store(stores),
        )
        return
    if lifetime <= 0:
        kept = "Standard log retention is 'never delete'"
    else:
        kept = f"Standard log retention is {lifetime} days"
    yield Result.pass_if(
        lifetime <= 0 or lifetime >= required,
        f"{kept} (logstore_standard/loglifetime {lifetime}); the policy requires {required}"
        f" days{coverage}.",
        resource="setting:logstore_standard/loglifetime",
        observed=observed,
    )
