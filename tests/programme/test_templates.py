"""The document templates: every one renders, filled from the site (administrators, MFA,
passwords, logs, backups, plugins), with Moodle's values kept as literal Markdown."""

from __future__ import annotations

from typing import Any

import pytest

from moodle_soc import api
from moodle_soc.errors import UsageError
from moodle_soc.reports.documents import md
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000


@pytest.fixture
def site(make_site: Any) -> Any:
    builder = SiteBuilder()
    hostile = builder.user("x|*evil*[link](http://x)", lastaccess=NOW - 86400)
    builder.make_site_admin(hostile)
    builder.setting("loglifetime", 365)
    builder.setting("backup_auto_active", 1, plugin="backup")
    builder.setting("backup_auto_weekdays", "0100010", plugin="backup")
    builder.setting("backup_auto_hour", 2, plugin="backup")
    builder.setting("enabled", 1, plugin="tool_mfa")
    builder.setting("enabled", 1, plugin="factor_totp")
    with make_site(builder) as opened:
        yield opened


@pytest.mark.parametrize("name", list(api.readiness_template_names()))
def test_every_template_renders_with_the_site_facts(site: Any, name: str) -> None:
    text = api.readiness_template(name, site)
    title = api.readiness_template_names()[name]
    assert text.startswith(f"# {title}: Acme Academy\n") or text.startswith(f"# {title}: ")
    assert "[to complete" in text
    assert "Facts read from the site | 2026-11-29" in text
    assert "{{" not in text and "{%" not in text


def test_the_access_policy_lists_admins_mfa_and_passwords(site: Any) -> None:
    text = api.readiness_template("access-control-policy", site)
    assert "| x\\|\\*evil\\*\\[link\\](http://x) | manual | 2026-11-28 | no |" in text
    mfa = "Core multi-factor authentication (tool\\_mfa) is enabled; enabled factors: email, totp."
    assert mfa in text  # e-mail is on by default in 5.1
    assert "The password policy is" in text


def test_logs_and_backups_are_stated_as_configured(site: Any) -> None:
    logs = api.readiness_template("log-review-record", site)
    assert "Moodle deletes standard log entries after 365 days (loglifetime)." in logs
    backups = api.readiness_template("backup-restore-test-record", site)
    assert "Automated course backups run on Monday, Friday at 02:00 (server time)" in backups


def test_an_unknown_template_is_refused(site: Any) -> None:
    with pytest.raises(UsageError, match="Unknown template 'security-policy'; the templates are"):
        api.readiness_template("security-policy", site)


def test_markdown_escaping_keeps_one_literal_line() -> None:
    assert md("a|b\n*c* [d](e) <script>") == "a\\|b \\*c\\* \\[d\\](e) \\<script\\>"
