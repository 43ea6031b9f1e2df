"""Drift from staging to production: untested versions flagged, instance settings left out."""

from __future__ import annotations

from typing import Any

import pytest

from moodle_soc.changes.drift import DriftSide, compare, instance_specific
from moodle_soc.models.state import SiteState


def side(
    label: str,
    plugins: dict[str, str | None],
    version: str = "2025100600.02",
    settings: dict[tuple[str, str], str | None] | None = None,
    history: tuple[SiteState, ...] = (),
) -> DriftSide:
    values: dict[str, Any] = {
        "moodle_version": version,
        "moodle_release": version,
        "moodle_branch": "501",
        "moodle_label": "5.1",
        "plugins": plugins,
        "settings": (),
        "config_php": None,
    }
    return DriftSide(label, SiteState.model_validate(values), settings or {}, history)


def test_a_production_version_staging_never_ran_is_flagged() -> None:
    staging = side("staging", {"local_a": "2025010100", "local_b": "2025010100"})
    production = side(
        "production", {"local_a": "2025020100", "local_b": "2024120100", "local_c": "2025010100"}
    )

    items = {i.key: i for i in compare(staging, production).items}

    assert items["local_a"].flagged and items["local_a"].status == "differs"
    assert not items["local_b"].flagged  # staging is ahead: it ran older ones before
    assert items["local_c"].flagged and items["local_c"].status == "only_in_to"


def test_versions_from_staging_history_count_as_run() -> None:
    earlier = side("staging", {"local_a": "2025020100"}).state
    staging = side("staging", {"local_a": "2025030100"}, history=(earlier,))
    production = side("production", {"local_a": "2025020100"})

    (item,) = compare(staging, production).items

    assert not item.flagged


def test_core_version_ahead_in_production_is_flagged() -> None:
    found = compare(side("staging", {}, "2025100600.02"), side("prod", {}, "2025100601.00"))

    (item,) = found.items
    assert (item.area, item.flagged) == ("core", True)


def test_settings_drift_leaves_instance_specific_ones_out() -> None:
    staging = side(
        "s",
        {},
        settings={
            ("core", "forcelogin"): "0",
            ("core", "wwwroot"): "a",
            ("core", "dbpass"): "********",
            ("tool_mfa", "enabled"): "1",
        },
    )
    production = side(
        "p",
        {},
        settings={
            ("core", "forcelogin"): "1",
            ("core", "wwwroot"): "b",
            ("core", "dbpass"): "********",
        },
    )

    drift = compare(staging, production)

    assert [(i.key, i.status) for i in drift.items] == [
        ("forcelogin", "differs"),
        ("tool_mfa/enabled", "only_in_from"),
    ]
    assert drift.ignored_settings == 2
    assert not drift.flagged


@pytest.mark.parametrize(
    ("plugin", "name", "expected"),
    [
        ("core", "wwwroot", True),
        ("core", "pathtophp", True),
        ("core", "themerev", True),
        ("core", "smtppass", True),
        ("tool_task", "lastcronstart", True),
        ("core", "scorm_updatetimelast", True),
        ("enrol_lti", "lti_13_kid", True),
        ("auth_manual", "expirationtime", False),
        ("backup", "backup_auto_running", True),
        ("core", "forcelogin", False),
        ("logstore_standard", "loglifetime", False),
    ],
)
def test_instance_specific_settings(plugin: str, name: str, expected: bool) -> None:
    assert instance_specific(plugin, name) is expected
