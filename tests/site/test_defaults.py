"""Install defaults and admin pages per branch, as Moodle's own admin tree declares them."""

from __future__ import annotations

import pytest

from moodle_soc.site.defaults import BRANCHES, DEFAULTS, declared, defaults_for
from moodle_soc.site.settings import Settings
from moodle_soc.synthetic.builder import SiteBuilder


@pytest.mark.parametrize(
    ("plugin", "name", "defaults"),
    [
        # passwordchangelogout became on by default in 4.5.
        (None, "passwordchangelogout", {"3.9": "0", "4.1": "0", "4.4": "0", "4.5": "1"}),
        # Core MFA arrived in 4.3 with factor_email off; 5.0 turned it on.
        ("factor_email", "enabled", {"4.2": None, "4.3": "0", "4.5": "0", "5.0": "1", "5.1": "1"}),
        # cookiehttponly was removed in 4.3 (always on from then).
        (None, "cookiehttponly", {"3.9": "0", "4.2": "0", "4.3": None, "5.1": None}),
        ("tool_mfa", "enabled", {"4.1": None, "4.3": "0"}),
        # lib/db/install.php writes auth = "email" at install (the settings page says nothing).
        (None, "auth", {"3.9": "email", "5.1": "email"}),
        # The mobile service's default follows is_https() at install: unknown from the database.
        (None, "enablemobilewebservice", {"4.1": None, "5.1": None}),
    ],
)
def test_defaults_follow_the_branch(plugin, name, defaults):
    for branch, expected in defaults.items():
        assert defaults_for(branch).get((plugin or "core", name)) == expected, branch


@pytest.mark.parametrize(
    ("plugin", "name", "sections"),
    [
        # Designer mode moved to "Advanced theme settings" in 4.4.
        (None, "themedesignermode", {"4.1": "themesettings", "4.3": "themesettings",
                                     "4.4": "themesettingsadvanced"}),
        (None, "passwordchangelogout", {"3.9": "sitepolicies", "5.1": "sitepolicies"}),
        ("logstore_standard", "loglifetime", {"4.1": "logsettingstandard"}),
        ("tool_log", "enabled_stores", {"4.1": "managelogging", "5.1": "managelogging"}),
        ("backup", "backup_auto_weekdays", {"4.1": "automated"}),
        ("factor_email", "enabled", {"4.3": "factor_email"}),
    ],
)  # fmt: skip
def test_admin_pages_follow_the_branch(plugin, name, sections):
    for branch, section in sections.items():
        page = declared(plugin, name, branch)
        assert page is not None and page.section == section, branch
        assert page.admin_path == f"admin/settings.php?section={section}"


def test_every_branch_is_covered_and_unknown_defaults_are_left_out():
    assert BRANCHES[0] == "3.9" and BRANCHES[-1] == "5.1"
    assert defaults_for("5.1") == DEFAULTS
    assert ("core", "cookiehttponly") not in DEFAULTS
    assert ("core", "debugdisplay") not in defaults_for("3.9")  # ini_get_bool('display_errors')
    assert defaults_for("3.11")[("core", "debugdisplay")] == "0"


@pytest.mark.parametrize(("release", "expected"), [("4.1", "0"), ("4.5", "1"), ("5.1", "1")])
def test_a_missing_row_takes_the_default_of_the_sites_branch(make_site, release, expected):
    site = make_site(SiteBuilder(release=release))
    assert site.settings.defaults == defaults_for(release)
    unsaved = Settings(core={}, plugins={}, defaults=site.settings.defaults)
    assert unsaved.get("passwordchangelogout") == expected
    assert unsaved.source("passwordchangelogout") == "Moodle default"
    assert unsaved.source("cookiehttponly") == ("Moodle default" if release == "4.1" else "not set")
