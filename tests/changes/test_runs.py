"""Changes seen only between two stored scans: config.php edits, removed plugins, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moodle_soc.changes.runs import config_php_key, state_changes
from moodle_soc.models.state import ObservedSetting, RecordedState, SiteState

BEFORE = datetime(2026, 11, 1, tzinfo=UTC)
AFTER = datetime(2026, 11, 8, tzinfo=UTC)


def state(**values: Any) -> SiteState:
    base: dict[str, Any] = {
        "moodle_version": "2025100600.02",
        "moodle_release": "5.1+ (Build: 20251017)",
        "moodle_branch": "501",
        "moodle_label": "5.1",
        "plugins": {"mod_forum": "2025100600", "local_reports": "2025091100"},
        "settings": (),
        "config_php": {"dbtype": "pgsql", "debug": 0, "dbpass": {"sha256": "a" * 64}},
    }
    base.update(values)
    return SiteState.model_validate(base)


def recorded(seq: int, at: datetime, site: SiteState) -> RecordedState:
    return RecordedState(seq=seq, record_hash=None, at=at, state=site)


def test_identical_states_show_no_change() -> None:
    assert state_changes([recorded(1, BEFORE, state()), recorded(2, AFTER, state())]) == []


def test_config_php_edits_are_changes_with_no_moodle_record() -> None:
    edited = state(
        config_php={
            "dbtype": "pgsql",
            "debug": 32767,
            "dbpass": {"sha256": "b" * 64},
            "forced_plugin_settings": {"tool_mfa": {"enabled": 0}},
        }
    )

    found = {
        c.name: c for c in state_changes([recorded(2, AFTER, edited), recorded(1, BEFORE, state())])
    }

    debug = found["debug"]
    assert (debug.kind, debug.component, debug.old, debug.new) == (
        "config_php",
        "core",
        "0",
        "32767",
    )
    assert (debug.at, debug.at_from, debug.source, debug.by_id) == (AFTER, BEFORE, "runs", None)
    assert debug.id == "runs:1-2:config_php:debug"
    secret = found["dbpass"]
    assert secret.masked and secret.old == secret.new == "********"
    assert "a" * 16 not in secret.model_dump_json()
    forced = found["enabled"]
    assert (forced.component, forced.old, forced.new) == ("tool_mfa", None, "0")


def test_plugin_removal_install_and_upgrade() -> None:
    later = state(plugins={"mod_forum": "2025100601", "local_status": "2025070803"})

    found = {
        c.component: c
        for c in state_changes([recorded(1, BEFORE, state()), recorded(2, AFTER, later)])
    }

    assert found["local_reports"].detail.startswith("plugin removed")
    assert found["local_status"].detail.startswith("plugin installed")
    assert found["mod_forum"].detail.startswith("plugin upgraded")
    assert all(c.kind == "plugin" for c in found.values())


def test_core_upgrade_and_database_settings_written_without_config_log() -> None:
    setting = ObservedSetting(plugin="core", name="forcelogin", value="0", source="database")
    moved = setting.model_copy(update={"value": "1"})
    later = state(moodle_version="2025100601.00", settings=(moved,))

    found = state_changes(
        [recorded(1, BEFORE, state(settings=(setting,))), recorded(2, AFTER, later)]
    )

    assert {(c.kind, c.name, c.old, c.new) for c in found} == {
        ("core", "version", "2025100600.02", "2025100601.00"),
        ("setting", "forcelogin", "0", "1"),
    }


def test_a_scan_without_config_php_compares_nothing_of_it() -> None:
    assert (
        state_changes([recorded(1, BEFORE, state()), recorded(2, AFTER, state(config_php=None))])
        == []
    )


def test_config_php_keys_map_to_scopes() -> None:
    assert config_php_key("debug") == ("core", "debug")
    assert config_php_key("dboptions.dbport") == ("core", "dboptions.dbport")
    assert config_php_key("forced_plugin_settings.tool_mfa.enabled") == ("tool_mfa", "enabled")
