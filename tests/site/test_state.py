"""The observed state a stored run keeps: version, plugins, settings read, config.php hashed."""

from __future__ import annotations

from moodle_soc.models.state import is_hashed
from moodle_soc.site.state import build_site_state, effective_settings

CONFIG = """<?php
unset($CFG);
global $CFG;
$CFG = new stdClass();
$CFG->dbtype = 'pgsql';
$CFG->dbpass = 'S3cret-pass';
$CFG->debug = 32767;
$CFG->dataroot = __DIR__ . '/data';
$CFG->dboptions = ['dbport' => 5432, 'readonly' => ['instance' => [['dbpass' => 'Other']]]];
$CFG->forced_plugin_settings = ['tool_mfa' => ['enabled' => 0]];
require_once(__DIR__ . '/lib/setup.php');
"""


def test_state_holds_version_plugins_and_read_settings(builder, make_site):
    site = make_site(builder)
    site.settings.get("forcelogin")
    site.settings.get("customsetting", "local_x")

    state = build_site_state(site)

    assert state.moodle_release.startswith("5.1")
    assert state.plugins["tool_mfa"]
    settings = {(s.plugin, s.name): s for s in state.settings}
    assert settings[("core", "forcelogin")].source == "database"
    assert settings[("local_x", "customsetting")].source == "not set"
    assert ("logstore_standard", "loglifetime") in settings  # every setting with a default
    assert state.config_php is None


def test_config_php_secrets_are_hashed_never_stored(builder, make_site):
    site = make_site(builder, config_php=CONFIG)

    state = build_site_state(site)
    text = state.model_dump_json()

    assert "S3cret-pass" not in text and "Other" not in text
    config = state.config_php
    assert config is not None
    assert is_hashed(config["dbpass"])
    assert is_hashed(config["dboptions"]["readonly"]["instance"][0]["dbpass"])
    assert config["debug"] == 32767 and config["dboptions"]["dbport"] == 5432
    assert config["dataroot"].startswith("<computed at runtime")
    again = build_site_state(make_site(builder, config_php=CONFIG))
    assert again.config_php == config  # the same secret hashes the same within a site


def test_effective_settings_apply_config_php_and_mask(builder, make_site):
    builder.setting("smtppass", "hunter2")
    site = make_site(builder, config_php=CONFIG)

    values = effective_settings(site)

    assert values[("core", "debug")] == "32767"
    assert values[("core", "smtppass")] == "********"
    assert values[("core", "dbpass")] == "********"
    assert values[("tool_mfa", "enabled")] == "0"
    assert ("tool_mfa", "version") not in values
