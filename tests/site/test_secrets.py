"""One secrets policy: a setting gets the same verdict in the config table, config.php,
forced_plugin_settings and config_log."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from moodle_soc.site.phpconfig import parse_config_php, redacted
from moodle_soc.site.populations import Window
from moodle_soc.site.secrets import MASK, is_secret_setting, mask
from moodle_soc.synthetic.builder import SiteBuilder

VALUE = "Value-7f3a"  # any value that is not a switch
NOV = Window.for_days(date(2026, 11, 1), date(2026, 11, 30))

#: (name, secret): the names the two earlier predicates disagreed on first, then the rest.
VERDICTS = [
    ("smtpuser", True),  # relays use API keys as SMTP user names
    ("openssl", True),  # MNet certificate and private key
    ("enrolmentkey", True),  # a course enrolment key
    ("forgottenpasswordurl", False),  # a URL
    ("changepasswordurl", False),
    ("session_memcached_save_path", False),  # a server address
    ("geoipmaxmindlicensekey", True),
    ("recaptchapublickey", False),
    ("recaptchaprivatekey", True),
    ("proxybypass", False),
    ("proxypassword", True),
    ("passwordsaltmain", True),
    ("passwordsaltalt1", True),
    ("passwordpeppers", True),
    ("upgradekey", True),
    ("session_redis_auth", True),
    ("cronremotepassword", True),
    ("smtppass", True),
    ("dbpass", True),
    ("DBPASS", True),
    ("bind_pw", True),
    ("apitoken", True),
    ("clientsecret", True),
    ("secretphrase", True),
    ("bigbluebuttonbn_shared_secret", True),
    ("calendar_exportsalt", True),
    ("passwordpolicy", False),
    ("minpasswordlength", False),
    ("passwordreuselimit", False),
    ("tokenduration", False),
    ("groupenrolmentkeypolicy", False),
    ("registerauth", False),
    ("auth", False),
    ("requirepassword", False),
    ("dbuser", False),
    ("wwwroot", False),
]
NAMES = [name for name, _ in VERDICTS]


@pytest.mark.parametrize(("name", "secret"), VERDICTS)
def test_verdict(name: str, secret: bool) -> None:
    assert is_secret_setting(name) is secret


def _config_php(body: str) -> str:
    return f"<?php\n$CFG = new stdClass();\n{body}\nrequire_once(__DIR__ . '/lib/setup.php');\n"


@pytest.mark.parametrize(("name", "secret"), VERDICTS)
def test_config_table_and_config_php_agree(
    builder: SiteBuilder, make_site: Any, name: str, secret: bool
) -> None:
    builder.setting(name, VALUE)
    from_table = make_site(builder).settings.get(name)
    cfg = parse_config_php(_config_php(f"$CFG->{name} = '{VALUE}';"))
    from_php = make_site(SiteBuilder(), config_php=cfg).settings.get(name)
    shown = MASK if secret else VALUE
    assert (from_table, from_php, redacted(cfg.get(name), name)) == (shown, shown, shown)


@pytest.mark.parametrize(("name", "secret"), VERDICTS)
def test_config_plugins_forced_plugin_settings_and_config_log_agree(
    builder: SiteBuilder, make_site: Any, name: str, secret: bool
) -> None:
    builder.setting(name, VALUE, plugin="local_x")
    builder.config_log(name, VALUE, "old-" + VALUE, plugin="local_x", timemodified=NOV.start + 1)
    site = make_site(builder)
    forced = f"$CFG->forced_plugin_settings = ['local_x' => ['{name}' => '{VALUE}']];"
    cfg = parse_config_php(_config_php(forced))
    from_php = make_site(SiteBuilder(), config_php=cfg).settings.get(name, "local_x")
    (logged,) = site.populations.config_log(NOV)
    shown = MASK if secret else VALUE
    assert (site.settings.get(name, "local_x"), from_php) == (shown, shown)
    assert (logged["value"], logged["masked"]) == (shown, secret)  # masked: a value was hidden
    assert redacted(cfg.get("forced_plugin_settings"), "forced_plugin_settings") == {
        "local_x": {name: shown}
    }


@pytest.mark.parametrize("value", ["", None, "0", "1", 0, 1, True, False])
def test_empty_values_and_switches_stay_visible_on_every_path(value: Any) -> None:
    assert mask("dbpass", value) == value
    assert redacted(value, "dbpass") == value


def test_a_config_log_row_is_masked_only_when_a_value_was_hidden(
    builder: SiteBuilder, make_site: Any
) -> None:
    builder.config_log("password", "0", None, plugin="mod_lesson", timemodified=NOV.start + 1)
    builder.config_log("privatekey", "", "-----BEGIN", plugin="x", timemodified=NOV.start + 2)
    switch, key = make_site(builder).populations.config_log(NOV)
    assert (switch["value"], switch["oldvalue"], switch["masked"]) == ("0", None, False)
    assert (key["value"], key["oldvalue"], key["masked"]) == ("", MASK, True)


def test_arrays_are_masked_by_key_at_any_depth() -> None:
    options = {"dbport": 5432, "readonly": {"instance": [{"dbhost": "r", "dbpass": "rp"}]}}
    expected = {"dbport": 5432, "readonly": {"instance": [{"dbhost": "r", "dbpass": MASK}]}}
    assert mask("dboptions", options) == expected == redacted(options, "dboptions")
    assert mask("dbpass", ["a", "b"]) == MASK == redacted(["a", "b"], "dbpass")
