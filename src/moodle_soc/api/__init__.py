"""The Python API: the one entry point the CLI, the web dashboard and workers call.

Everything here opens what it needs read-only, closes what it opened, never prompts and never
exits: failures are the typed errors of ``moodle_soc.errors`` (each with a one-line ``message``
and the CLI's ``exit_code``). See docs/api.md for a scan, a verification and an export in a few
lines. Names are imported on first use (PEP 562), so ``import moodle_soc.api`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # sites and scans
    "open_moodle_site": "sites",
    "scan_site": "scan",
    "judge_site": "scan",
    "select_checks": "scan",
    "evidence_on_record": "scan",
    "load_scan_inputs": "scan",
    "build_demo_site": "demo",
    "scan_demo_site": "demo",
    # frameworks and the trust page
    "list_frameworks": "frameworks",
    "load_framework": "frameworks",
    "load_frameworks": "frameworks",
    "validate_framework_file": "frameworks",
    "score_frameworks": "frameworks",
    "period_frameworks": "frameworks",
    "readiness_frameworks": "frameworks",
    "latest_run": "frameworks",
    "trust_page": "frameworks",
    "render_trust_page": "frameworks",
    # the evidence store
    "open_evidence_store": "stores",
    "store_location": "stores",
    "find_site": "evidence",
    "verify_store": "evidence",
    "period_report": "evidence",
    "export_package": "evidence",
    "verify_package": "evidence",
    "export_oscal": "evidence",
    "attach_evidence": "evidence",
    "plan_retention": "evidence",
    "apply_retention": "evidence",
    "parse_period": "evidence",
    # change management
    "change_population": "changes",
    "stored_changes": "changes",
    "environment_of": "changes",
    "read_environment": "changes",
    "drift": "changes",
    "plugin_inventory": "changes",
    "current_advisories": "changes",
    "update_advisories": "changes",
    # audit-log review
    "log_review": "logs",
    "incremental_log_review": "logs",
    "review_period": "logs",
    "sign_off_log_review": "logs",
    # the readiness programme
    "site_payment_records": "readiness",
    "decide_readiness_scope": "readiness",
    "readiness_scope": "readiness",
    "readiness_programme": "readiness",
    "readiness_report": "readiness",
    "readiness_report_html": "readiness",
    "readiness_report_pdf": "readiness",
    "questionnaire_answers": "readiness",
    "write_questionnaire_answers": "readiness",
    "readiness_template": "readiness",
    "readiness_template_names": "readiness",
    "set_control_owner": "readiness",
    "add_exception": "readiness",
    "list_exceptions": "readiness",
    "revoke_exception": "readiness",
    "remediation_items": "readiness",
    "assign_remediation": "readiness",
    "remediation_export": "readiness",
    # access reviews
    "access_inventory": "reviews",
    "start_review": "reviews",
    "get_review": "reviews",
    "list_reviews": "reviews",
    "export_review_file": "reviews",
    "import_review_decisions": "reviews",
    "close_review": "reviews",
    "verify_review_follow_ups": "reviews",
    "latest_follow_up_statuses": "reviews",
    "review_report_html": "reviews",
    "decide_review_entry": "reviews",
    # the web dashboard: what it shows, its users and its audit log
    "dashboard_sites": "dashboard",
    "site_overview": "dashboard",
    "site_findings": "dashboard",
    "check_page": "dashboard",
    "site_runs": "dashboard",
    "site_attachments": "dashboard",
    "attachment_file": "dashboard",
    "site_records": "dashboard",
    "latest_run_within": "dashboard",
    "site_period": "dashboard",
    "add_dashboard_user": "users",
    "list_dashboard_users": "users",
    "get_dashboard_user": "users",
    "disable_dashboard_user": "users",
    "enable_dashboard_user": "users",
    "reset_dashboard_password": "users",
    "dashboard_login": "users",
    "dashboard_session": "users",
    "dashboard_logout": "users",
    "record_web_action": "users",
    "web_audit_log": "users",
}
_ELSEWHERE = {
    "AuditRun": "moodle_soc.models.run",
    "Policy": "moodle_soc.policy",
    "MoodleSocError": "moodle_soc.errors",
    "UsageError": "moodle_soc.errors",
    "CannotConnectError": "moodle_soc.errors",
    "NotMoodleError": "moodle_soc.errors",
    "UnsupportedVersionError": "moodle_soc.errors",
    "ConfigPhpError": "moodle_soc.errors",
    "BadInputError": "moodle_soc.errors",
    "InvalidFileError": "moodle_soc.errors",
}

__all__ = sorted([*_EXPORTS, *_ELSEWHERE])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"moodle_soc.api.{_EXPORTS[name]}"), name)
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module 'moodle_soc.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
