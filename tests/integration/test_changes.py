"""Change management on the real fixtures: the change population against independent SQL over
config_log, approvals matching, core/additional plugins, support status and advisories, drift
between a fixture and a modified copy, and config.php drift between two stored CLI scans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from moodle_soc.api.changes import change_population, drift, environment_of, plugin_inventory
from moodle_soc.data.releases import release_version
from moodle_soc.evidence.periods.populations import rows_sha256

from .conftest import restored
from .fixtures import HARDENED, LEGACY, WEAK, FixtureSite, RestoredSite, describe, new_tag, run_cli
from .fixtures import restore_fixture as restore

pytestmark = pytest.mark.integration
PERIOD = (date(2026, 11, 1), date(2026, 11, 29))
# Independent of the tool's installation rule: the first time a logged-in user replaced an
# existing, non-empty value ends the installer's defaults; every row from there is a change.
POST_INSTALL = """
SELECT c.id, COALESCE(c.plugin, 'core') AS plugin, c.name, c.oldvalue, c.value, c.userid,
       u.username
FROM {p}config_log c LEFT JOIN {p}user u ON u.id = c.userid
WHERE c.id >= (SELECT MIN(id) FROM {p}config_log
               WHERE userid <> 0 AND oldvalue IS NOT NULL AND oldvalue <> '')
ORDER BY c.id
"""


@pytest.mark.parametrize("fixture", [WEAK, HARDENED], ids=lambda f: f.key)
def test_every_post_install_setting_change_appears_with_values_and_user(
    request: pytest.FixtureRequest, fixture: FixtureSite
) -> None:
    site = restored(request, fixture)
    expected = [
        (f"config_log:{r['id']}", r["plugin"], r["name"], r["oldvalue"], r["value"],
         r["userid"], r["username"])
        for r in site.rows(POST_INSTALL)
    ]  # fmt: skip
    with site.open_site() as moodle:
        report = change_population(moodle, *PERIOD)

    found = [
        (c.id, c.component, c.name, c.old, c.new, c.by_id, c.by_username)
        for c in report.changes.changes
        if c.source == "config_log"
    ]
    assert len(expected) >= 19
    assert found == expected
    assert all(c.by_username == "admin" for c in report.changes.changes if c.source == "config_log")
    install = [c for c in report.changes.changes if c.id == "upgrade_log:install"]
    assert len(install) == 1 and install[0].new == "2025100600.02"
    assert report.population.sha256 == rows_sha256(report.population.rows)


def _approvals(tmp_path: Path, admin_email: str) -> Path:
    path = tmp_path / "approvals.csv"
    path.write_text(
        "ticket,title,requested_by,approved_by,approved_at,deploy_from,deploy_to,scope\n"
        "CHG-100,Weaker password policy,helpdesk,cab.lead,2026-11-28T09:00:00Z,2026-11-29,"
        "2026-11-29,core/passwordpolicy;core/minpasswordlength;logstore_standard/loglifetime\n"
        "CHG-101,Debugging for a support case,helpdesk,cab.lead,2026-11-29T08:00:00Z,"
        "2026-11-29,2026-11-30,core/debug;core/debugdisplay\n"
        f"CHG-102,New site administrators,helpdesk,{admin_email},2026-11-28,2026-11-29,"
        "2026-11-29,core/siteadmins\n",
        encoding="utf-8",
    )
    return path


def test_approvals_leave_exactly_the_other_changes_unapproved(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    site = restored(request, WEAK)
    email = str(site.scalar("SELECT email FROM {p}user WHERE username = 'admin'"))
    with site.open_site() as moodle:
        report = change_population(moodle, *PERIOD, approvals=_approvals(tmp_path, email))

    status = {(c.component, c.name): (c.approval, c.ticket) for c in report.changes.changes
              if c.source == "config_log"}  # fmt: skip
    covered = {
        ("core", "passwordpolicy"): ("approved", "CHG-100"),
        ("core", "minpasswordlength"): ("approved", "CHG-100"),
        ("logstore_standard", "loglifetime"): ("approved", "CHG-100"),
        ("core", "debug"): ("out_of_order", "CHG-101"),
        ("core", "debugdisplay"): ("out_of_order", "CHG-101"),
        ("core", "siteadmins"): ("sod_conflict", "CHG-102"),
    }
    assert {key: status[key] for key in covered} == covered
    others = {key for key in status if key not in covered}
    assert len(others) == len(status) - len(covered) > 10
    assert all(status[key] == ("unapproved", None) for key in others)
    roles = [c for c in report.changes.changes if c.kind == "role"]
    assert roles and all(c.approval == "unapproved" for c in roles)
    assert any("SHA-256" in note for note in report.population.notes)


def test_additional_local_plugins_are_additional_and_core_plugins_are_not(
    request: pytest.FixtureRequest,
) -> None:
    site = restored(request, WEAK)
    local = {str(r["plugin"]) for r in site.rows(
        "SELECT plugin FROM {p}config_plugins WHERE name = 'version' AND plugin LIKE 'local\\_%'"
    )}  # fmt: skip
    with site.open_site() as moodle:
        inventory = plugin_inventory(moodle)

    rows = {r.component: r for r in inventory.rows}
    assert len(local) == 12
    for component in local:
        assert rows[component].origin == "additional" and "additional" in rows[component].flags
        assert rows[component].release is None
    for component in ("mod_forum", "auth_manual", "tool_mfa", "factor_totp", "logstore_standard"):
        assert rows[component].origin == "standard", component
        assert "additional" not in rows[component].flags
        assert rows[component].release == "5.1+ (Build: 20251017)"
    assert "enabled_auth" in rows["auth_email"].flags
    assert "web_services" in rows["mod_forum"].flags
    assert rows["mod_forum"].enabled is True
    assert inventory.support.supported is True


def test_legacy_4_1_10_is_unsupported_and_affected_by_later_fixes(
    request: pytest.FixtureRequest,
) -> None:
    site = restored(request, LEGACY)
    with site.open_site() as moodle:
        inventory = plugin_inventory(moodle)

    support = inventory.support
    assert (support.release, support.supported) == ("4.1.10", False)
    assert support.security_support_end == date(2025, 12, 8) < date(2026, 11, 29)
    assert inventory.matches
    for match in inventory.matches:
        fixes = [release_version(f) for f in match.fixes]
        assert all(v is not None and v > 2022112810 for v in fixes), match.advisory.id
    ids = {m.advisory.id for m in inventory.matches}
    assert {"MSA-24-0021", "MSA-24-0023", "MSA-25-0051", "MSA-26-0001"} <= ids


@pytest.fixture(scope="module")
def weak_copy() -> Iterator[RestoredSite]:
    """A copy of the weak site, modified with an administrator connection by the test."""
    copy = restore(WEAK, new_tag())
    try:
        yield copy
    finally:
        copy.drop()


def test_a_copy_with_another_plugin_version_and_setting_shows_as_drift(
    request: pytest.FixtureRequest, weak_copy: RestoredSite
) -> None:
    staging = restored(request, WEAK)
    p = weak_copy.prefix
    weak_copy.server.execute(
        f"UPDATE {p}config_plugins SET value = '2025091200'"
        " WHERE plugin = 'local_reports' AND name = 'version'",
        f"UPDATE {p}config SET value = '1' WHERE name = 'forcelogin'",
        database=weak_copy.database,
    )
    with staging.open_site() as before, weak_copy.open_site() as after:
        found = drift(environment_of(before, label="staging"),
                      environment_of(after, label="production"))  # fmt: skip

    items = {item.key: item for item in found.items}
    assert set(items) == {"local_reports", "forcelogin"}
    plugin = items["local_reports"]
    assert (plugin.from_value, plugin.to_value, plugin.flagged) == (
        "2025091100",
        "2025091200",
        True,
    )
    assert (items["forcelogin"].from_value, items["forcelogin"].to_value) == ("0", "1")
    assert found.ignored_settings > 0  # dbname, wwwroot... differ or are secrets: left out


def test_config_php_edited_between_two_stored_runs_is_a_change(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    site = restored(request, WEAK)
    config = site.write_config_php(tmp_path)
    env = {"MOODLE_SOC_DB_PASSWORD": ""}
    quick = ["--check", "plugins.core_branch_supported", "--format", "json"]
    first = run_cli("scan", "--config", config, "--as-of", "2026-11-29T07:20:00Z", *quick,
                    cwd=tmp_path, env=env)  # fmt: skip
    assert first.returncode == 0, describe(first)
    text = config.read_text(encoding="utf-8")
    edited = text.replace("require_once", "$CFG->debug = 32767;\n$CFG->debugdisplay = 1;\n"
                                          "require_once", 1)  # fmt: skip
    config.write_text(edited, encoding="utf-8")
    second = run_cli("scan", "--config", config, "--as-of", "2026-11-29T07:30:00Z", *quick,
                     cwd=tmp_path, env=env)  # fmt: skip
    assert second.returncode == 0, describe(second)

    done = run_cli("changes", "--config", config, "--as-of", "2026-11-29T07:40:00Z",
                   "--period", "2026-11-29..2026-11-29", "--format", "json", cwd=tmp_path,
                   env=env)  # fmt: skip

    assert done.returncode == 0, describe(done)
    rows = json.loads(done.stdout)["rows"]
    edits = {r["name"]: r for r in rows if r["kind"] == "config_php"}
    assert set(edits) == {"debug", "debugdisplay"}
    assert edits["debug"]["old"] is None and edits["debug"]["new"] == "32767"
    assert edits["debug"]["source"] == "runs" and edits["debug"]["by_id"] is None
    assert edits["debug"]["at"] == "2026-11-29T07:30:00Z"
    assert edits["debug"]["at_from"] == "2026-11-29T07:20:00Z"
