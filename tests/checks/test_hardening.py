"""Hardening checks against synthetic sites named by their expected outcome."""

from __future__ import annotations

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import get_check
from moodle_soc.checks.runner import evaluate
from moodle_soc.policy import Policy
from moodle_soc.results import Result, Severity, Status
from moodle_soc.synthetic.builder import SiteBuilder

HTTPS = "https://acme.example.test"
HTTP = "http://acme.example.test"


@pytest.fixture
def judge(builder, make_site):
    """The results of a check on the test's site with ``settings`` applied (``site``: config)."""

    def results(check_id: str, settings=None, **site) -> list[Result]:
        for key, value in (settings or {}).items():
            plugin, _, name = key.rpartition("/")
            builder.setting(name, value, plugin or None)
        return evaluate(get_check(check_id), ScanContext(make_site(builder, **site), Policy()))

    return results


def only(results: list[Result]) -> Result:
    assert len(results) == 1, results
    return results[0]


SIMPLE = [
    # (check id, setting, failing value, passing value)
    ("hardening.object_embedding_disabled", "allowobjectembed", "1", "0"),
    ("hardening.frame_embedding_disabled", "allowframembedding", "1", "0"),
    ("hardening.debug_display_off", "debugdisplay", "1", "0"),
    ("hardening.debugging_not_developer", "debug", "32767", "15"),
    ("hardening.designer_mode_off", "themedesignermode", "1", "0"),
    ("hardening.javascript_cached", "cachejs", "0", "1"),
    ("hardening.statistics_disabled", "enablestats", "1", "0"),
]


@pytest.mark.parametrize(
    ("check_id", "name", "value", "status"),
    [pytest.param(c, n, bad, Status.FAIL, id=f"{n}_{bad}_fails") for c, n, bad, _ in SIMPLE]
    + [pytest.param(c, n, ok, Status.PASS, id=f"{n}_{ok}_passes") for c, n, _, ok in SIMPLE],
)
def test_setting_checks(judge, check_id, name, value, status):
    result = only(judge(check_id, {name: value}))
    assert result.status is status
    assert f"Setting {name} is {value!r} (database)" in result.reason
    assert result.resource == f"setting:{name}"
    assert result.observed == {name: value}


def test_config_php_overrides_the_database(judge):
    config = "<?php $CFG = new stdClass(); $CFG->debugdisplay = 0; $CFG->debug = 32767;"
    settings = {"debugdisplay": 1, "debug": 0}
    display = only(judge("hardening.debug_display_off", settings, config_php=config))
    assert display.status is Status.PASS
    assert "'0' (config.php)" in display.reason
    debug = only(judge("hardening.debugging_not_developer", config_php=config))
    assert debug.status is Status.FAIL
    assert "'32767' (config.php)" in debug.reason


@pytest.mark.parametrize(
    ("settings", "status"),
    [
        pytest.param(
            {"forcelogin": 0, "forceloginforprofiles": 0}, Status.FAIL, id="open_profiles"
        ),
        pytest.param({"forcelogin": 1, "forceloginforprofiles": 0}, Status.PASS, id="forcelogin"),
        pytest.param({}, Status.PASS, id="default_profiles_login"),
    ],
)
def test_profiles_require_login(judge, settings, status):
    result = only(judge("hardening.profiles_require_login", settings))
    assert result.status is status
    assert "forceloginforprofiles is" in result.reason
    assert set(result.observed) == {"forcelogin", "forceloginforprofiles"}


@pytest.mark.parametrize(
    ("settings", "status", "severity"),
    [
        pytest.param({"opentowebcrawlers": 0}, Status.PASS, None, id="crawlers_off"),
        pytest.param(
            {"opentowebcrawlers": 1}, Status.FAIL, Severity.LOW, id="crawlers_guest_button"
        ),
        pytest.param(
            {"opentowebcrawlers": 1, "guestloginbutton": 0},
            Status.FAIL,
            Severity.HIGH,
            id="crawlers_hidden_button",
        ),
    ],
)
def test_crawlers_not_admitted(judge, settings, status, severity):
    result = only(judge("hardening.crawlers_not_admitted", settings))
    assert (result.status, result.severity) == (status, severity)
    assert f"opentowebcrawlers is '{settings['opentowebcrawlers']}'" in result.reason
    assert set(result.observed) == {"opentowebcrawlers", "guestloginbutton"}


@pytest.mark.parametrize(
    ("settings", "status", "words"),
    [
        pytest.param({"cronclionly": 0}, Status.FAIL, "not set, so anyone", id="open_web_cron"),
        pytest.param(
            {"cronclionly": 0, "cronremotepassword": "s3cret"},
            Status.PASS,
            "is set",
            id="cron_password",
        ),
        pytest.param({}, Status.PASS, "cronclionly is '1'", id="cli_only"),
    ],
)
def test_web_cron_protected(judge, settings, status, words):
    result = only(judge("hardening.web_cron_protected", settings))
    assert result.status is status
    assert words in result.reason
    assert "s3cret" not in result.reason + repr(result.observed)


@pytest.mark.parametrize(
    ("wwwroot", "settings", "status", "severity", "words"),
    [
        pytest.param(HTTP, {}, Status.FAIL, Severity.MEDIUM, "need HTTPS", id="plain_http"),
        pytest.param(
            HTTPS,
            {"cookiesecure": 0},
            Status.FAIL,
            None,
            "cookiesecure is '0'",
            id="https_insecure_cookies",
        ),
        pytest.param(
            HTTPS, {}, Status.PASS, None, "cookiesecure is '1'", id="https_secure_cookies"
        ),
        pytest.param(
            None,
            {},
            Status.MANUAL,
            None,
            "give --config <config.php> or --wwwroot <url>",
            id="unknown_wwwroot_secure_cookies",
        ),
        pytest.param(
            None,
            {"cookiesecure": 0},
            Status.FAIL,
            None,
            "Setting cookiesecure is '0' (database): session cookies may travel over plain HTTP",
            id="unknown_wwwroot_insecure_cookies",
        ),
    ],
)
def test_cookies_secure(judge, wwwroot, settings, status, severity, words):
    result = only(judge("hardening.cookies_secure", settings, wwwroot=wwwroot))
    assert (result.status, result.severity) == (status, severity)
    assert words in result.reason
    assert result.observed["wwwroot"] == wwwroot


@pytest.mark.parametrize(
    ("wwwroot", "config_php", "status"),
    [
        pytest.param(HTTPS, None, Status.PASS, id="https_flag"),
        pytest.param(HTTP, None, Status.FAIL, id="http_flag"),
        pytest.param(
            None,
            f"<?php $CFG = new stdClass(); $CFG->wwwroot = '{HTTP}';",
            Status.FAIL,
            id="http_config_php",
        ),
        pytest.param(None, None, Status.MANUAL, id="unknown_wwwroot"),
    ],
)
def test_wwwroot_uses_https(judge, wwwroot, config_php, status):
    result = only(judge("hardening.wwwroot_uses_https", wwwroot=wwwroot, config_php=config_php))
    assert result.status is status
    assert "wwwroot" in result.reason and "wwwroot" in result.observed


LOCKED = "<?php $CFG = new stdClass(); $CFG->preventexecpath = true;"
UNLOCKED = "<?php $CFG = new stdClass(); $CFG->wwwroot = 'https://acme.example.test';"


@pytest.mark.parametrize(
    ("config_php", "settings", "status", "words"),
    [
        pytest.param(LOCKED, {}, Status.PASS, "'1' (config.php)", id="locked_in_config_php"),
        pytest.param(
            UNLOCKED, {}, Status.FAIL, "not set in config.php", id="config_php_without_it"
        ),
        pytest.param(
            None, {"preventexecpath": 1}, Status.PASS, "'1' (database)", id="locked_in_database"
        ),
        pytest.param(
            None, {}, Status.MANUAL, "cannot be decided here; give --config.", id="no_config_php"
        ),
    ],
)
def test_executable_paths_locked(judge, config_php, settings, status, words):
    result = only(judge("hardening.executable_paths_locked", settings, config_php=config_php))
    assert result.status is status
    assert words in result.reason
    assert "preventexecpath" in result.observed


def scan_error(builder: SiteBuilder, age: int, kind: str = "file") -> None:
    builder.log(f"\\core\\event\\antivirus_scan_{kind}_error", timecreated=builder.now - age)


@pytest.mark.parametrize(
    ("settings", "errors", "statuses", "words"),
    [
        pytest.param({}, [], [Status.FAIL], "no scanner", id="no_scanner"),
        pytest.param(
            {"antiviruses": "clamav"},
            [],
            [Status.PASS, Status.PASS],
            "0 antivirus",
            id="scanner_clean",
        ),
        pytest.param(
            {"antiviruses": "clamav"},
            [3600],
            [Status.PASS, Status.PASS],
            "0 antivirus",
            id="old_error",
        ),
        pytest.param(
            {"antiviruses": "clamav"},
            [60, 120],
            [Status.PASS, Status.FAIL],
            "2 antivirus",
            id="recent_errors",
        ),
        pytest.param(
            {"antiviruses": "clamav", "tool_log/enabled_stores": ""},
            [60],
            [Status.PASS, Status.NOT_APPLICABLE],
            "cannot be counted",
            id="standard_log_off",
        ),
    ],
)
def test_antivirus_scanning_enabled(builder, judge, settings, errors, statuses, words):
    for age in errors:
        scan_error(builder, age, kind="data" if age % 120 == 0 else "file")
    results = judge("hardening.antivirus_scanning_enabled", settings)
    assert [r.status for r in results] == statuses
    assert words in results[-1].reason
    assert results[0].resource == "setting:antiviruses"


@pytest.mark.parametrize(
    ("release", "settings", "status", "words"),
    [
        pytest.param("4.1", {"cookiehttponly": 0}, Status.FAIL, "is '0' (database) on Moodle 4.1",
                     id="scripts_read_cookies_41"),
        pytest.param("4.1", {"cookiehttponly": 1}, Status.PASS, "so scripts cannot read",
                     id="http_only_41"),
        pytest.param("5.1", {}, Status.PASS, "setting was removed in Moodle 4.3",
                     id="always_http_only_51"),
    ],
)  # fmt: skip
def test_cookies_http_only(builder, make_site, release, settings, status, words):
    site_builder = SiteBuilder(release=release)
    for name, value in settings.items():
        site_builder.setting(name, value)
    result = only(
        evaluate(get_check("hardening.cookies_http_only"), ScanContext(make_site(site_builder)))
    )
    assert (result.status, result.resource) == (status, "setting:cookiehttponly")
    assert words in result.reason


@pytest.mark.parametrize(
    ("release", "page"),
    [
        pytest.param("4.1", "Site administration > Appearance > Themes > Theme settings", id="41"),
        pytest.param("5.1", "Site administration > Appearance > Advanced theme settings", id="51"),
    ],
)
def test_designer_mode_names_the_page_of_the_sites_version(make_site, release, page):
    site_builder = SiteBuilder(release=release)
    site_builder.setting("themedesignermode", 1)
    result = only(
        evaluate(get_check("hardening.designer_mode_off"), ScanContext(make_site(site_builder)))
    )
    assert result.status is Status.FAIL
    assert (result.remediation or get_check("hardening.designer_mode_off").remediation).startswith(
        page
    )


def test_secure_cookies_on_http_name_no_command(judge):
    result = only(judge("hardening.cookies_secure", {"cookiesecure": 0}, wwwroot=HTTP))
    assert result.fix_command == "" and (result.remediation or "").startswith("Serve the site")
