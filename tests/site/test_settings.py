import pytest

from moodle_soc.site.phpconfig import parse_config_php
from moodle_soc.site.secrets import MASK
from moodle_soc.site.settings import Settings, UndecidableSettingError

CONFIG_PHP = """<?php
$CFG = new stdClass();
$CFG->debugdisplay = 0;
$CFG->cookiesecure = true;
$CFG->smtppass = 'hunter2';
$CFG->dataroot = getenv('MOODLE_DATA');
$CFG->forced_plugin_settings = ['logstore_standard' => ['loglifetime' => 365]];
require_once(__DIR__ . '/lib/setup.php');
"""


@pytest.fixture
def settings() -> Settings:
    return Settings(
        core={"debugdisplay": "1", "passwordpolicy": "0", "auth": "email,none"},
        plugins={("logstore_standard", "loglifetime"): "30", ("tool_mfa", "version"): "1"},
        config_php=parse_config_php(CONFIG_PHP),
    )


def test_config_php_beats_the_database(settings):
    assert settings.get("debugdisplay") == "0"
    assert settings.source("debugdisplay") == "config.php"


def test_booleans_from_config_php_take_moodle_storage_form(settings):
    assert settings.get("cookiesecure") == "1"


def test_forced_plugin_settings_beat_config_plugins(settings):
    assert settings.get("loglifetime", "logstore_standard") == "365"
    assert settings.source("loglifetime", "logstore_standard") == "config.php"


def test_database_value_when_config_php_is_silent(settings):
    assert settings.get("passwordpolicy") == "0"
    assert settings.source("passwordpolicy") == "database"


def test_missing_row_falls_back_to_moodle_default(settings):
    assert settings.get("minpasswordlength") == "8"
    assert settings.source("minpasswordlength") == "Moodle default"
    assert settings.get("nosuchsetting") is None
    assert settings.source("nosuchsetting") == "not set"


def test_secret_from_config_php_is_masked(settings):
    assert settings.get("smtppass") == MASK


def test_runtime_value_cannot_be_decided(settings):
    with pytest.raises(UndecidableSettingError, match="getenv"):
        settings.get("dataroot")


def test_list_and_flag_helpers(settings):
    assert settings.items("auth") == ["email", "none"]
    assert settings.flag("cookiesecure") is True
    assert settings.flag("passwordpolicy") is False
    assert settings.plugin_names("tool_") == ["tool_mfa"]
