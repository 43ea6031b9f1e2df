"""Support status and advisory matching for an observed state; plugin origin and risk flags."""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

from moodle_soc.changes.advisories import matching_advisories, support_status
from moodle_soc.changes.plugin_risk import origin_of, plugin_rows
from moodle_soc.data.advisories import AdvisoryFile, shipped_advisories
from moodle_soc.models.state import SiteState
from moodle_soc.site.plugins import InstalledPlugin

AUDIT = date(2026, 11, 29)


def state(version: str, label: str, plugins: dict[str, str | None]) -> SiteState:
    values: dict[str, Any] = {
        "moodle_version": version,
        "moodle_release": version,
        "moodle_branch": label.replace(".", "0"),
        "moodle_label": label,
        "plugins": plugins,
        "settings": (),
        "config_php": None,
    }
    return SiteState.model_validate(values)


LEGACY = state("2022112810.00", "4.1", {"mod_bigbluebuttonbn": "2022112800", "tool_mfa": None})


def test_4_1_10_is_out_of_security_support_at_the_fixtures_date() -> None:
    status = support_status(LEGACY, AUDIT)

    assert (status.branch, status.release, status.supported) == ("4.1", "4.1.10", False)
    assert status.security_support_end == date(2025, 12, 8)
    assert status.behind_latest and status.latest == "4.1.22"


def test_5_1_is_supported_at_the_fixtures_date() -> None:
    status = support_status(state("2025100600.02", "5.1", {}), AUDIT)

    assert status.supported and status.security_support_end == date(2027, 4, 19)


def test_4_1_10_is_affected_by_advisories_fixed_after_it() -> None:
    matches = {m.advisory.id: m for m in matching_advisories(LEGACY, shipped_advisories())}

    assert "MSA-24-0021" in matches  # mod_bigbluebuttonbn, fixed in 4.1.11
    assert matches["MSA-24-0021"].fixes == ("4.1.11",)
    assert matches["MSA-24-0023"].component == "core"
    assert matches["MSA-26-0001"].range == "before 4.5.9"  # no 4.1 fix exists
    assert "no fix on this branch" in matches["MSA-26-0001"].remedy
    assert "MSA-25-0047" not in matches  # tool_mfa: affects 4.4 to 5.0 only
    assert "MSA-25-0029" not in matches  # 5.0 only
    for match in matches.values():
        assert all(f.startswith("4.1.") and f > "4.1.10" for f in match.fixes if f)


def test_an_uninstalled_standard_plugin_is_not_affected() -> None:
    without = state("2022112810.00", "4.1", {})

    matched = {m.advisory.id for m in matching_advisories(without, shipped_advisories())}

    assert "MSA-24-0021" not in matched and "MSA-24-0023" in matched


def test_additional_plugin_advisories_use_the_plugins_own_version() -> None:
    data = yaml.safe_load(shipped_advisories().model_dump_json())
    data["advisories"] = [
        data["advisories"][0]
        | {
            "id": "MSA-26-0099",
            "component": "local_reports",
            "affected": ["before 2025100100"],
            "fixed": [],
        }
    ]
    advisories = AdvisoryFile.model_validate(data)

    old = state("2025100600.02", "5.1", {"local_reports": "2025091100"})
    new = state("2025100600.02", "5.1", {"local_reports": "2025100100"})

    assert [m.advisory.id for m in matching_advisories(old, advisories)] == ["MSA-26-0099"]
    assert matching_advisories(new, advisories) == []


def plugin(component: str, **values: Any) -> InstalledPlugin:
    base: dict[str, Any] = {
        "component": component,
        "type": component.split("_")[0],
        "name": component.split("_", 1)[1],
        "version": "2025100600",
        "enabled": None,
        "enabled_source": None,
        "risky_capabilities": (),
        "risks": (),
        "web_service_functions": 0,
    }
    base.update(values)
    return InstalledPlugin(**base)


def test_plugin_rows_tell_core_from_additional_and_flag_risks() -> None:
    installed = [
        plugin("mod_forum", web_service_functions=12),
        plugin(
            "local_reports", risky_capabilities=("local/reports:manage",), risks=("RISK_CONFIG",)
        ),
        plugin("auth_ldap", enabled=True),
        plugin("enrol_self", enabled=False),
    ]

    rows = {r.component: r for r in plugin_rows(installed, "5.1", "5.1+")}

    assert rows["mod_forum"].origin == "standard" and rows["mod_forum"].release == "5.1+"
    assert rows["mod_forum"].flags == ("web_services",)
    assert rows["local_reports"].origin == "additional" and rows["local_reports"].release is None
    assert rows["local_reports"].flags == ("additional", "risky_capabilities")
    assert rows["auth_ldap"].flags == ("enabled_auth",)
    assert rows["enrol_self"].flags == ()
    assert origin_of("mod_chat", "5.0") == "removed_standard"
