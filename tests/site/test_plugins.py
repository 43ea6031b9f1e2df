"""The plugin inventory: versions, enabled state where Moodle records it, risky capabilities."""

from __future__ import annotations


def test_inventory_reads_versions_enabled_state_and_risks(builder, make_site):
    builder.setting("version", "2025091100", "local_reports")
    builder.capability("local/reports:manage", 2 | 4, component="local_reports")
    builder.capability("local/reports:view", 8, component="local_reports")
    builder.setting("version", "2025100600", "auth_ldap")
    builder.setting("version", "2025100600", "enrol_self")
    builder.setting("auth", "ldap")
    builder.setting("enrol_plugins_enabled", "manual")
    builder.setting("version", "2025100600", "qtype_essay")
    builder.setting("disabled", "1", "qtype_essay")
    site = make_site(builder)

    found = {p.component: p for p in site.plugins.inventory()}

    reports = found["local_reports"]
    assert (reports.type, reports.name, reports.version) == ("local", "reports", "2025091100")
    assert reports.risky_capabilities == ("local/reports:manage",)
    assert reports.risks == ("RISK_CONFIG", "RISK_XSS")
    assert reports.enabled is None  # Moodle keeps no enabled state for local plugins
    assert (found["auth_ldap"].enabled, found["auth_ldap"].enabled_source) == (True, "auth")
    assert found["enrol_self"].enabled is False
    assert found["qtype_essay"].enabled is False
    assert found["tool_mfa"].enabled_source is None
    assert found["factor_email"].enabled is True


def test_web_service_functions_are_counted_per_component(builder, make_site):
    builder.external_function("local_acme_sync", "local_acme", "")
    site = make_site(builder)

    # The install's mobile app service lists six core and two tool_mobile functions.
    assert site.plugins.web_service_functions == {"moodle": 6, "tool_mobile": 2, "local_acme": 1}
