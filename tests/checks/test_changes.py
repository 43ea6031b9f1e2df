"""changes.* checks on synthetic sites: approvals, developer settings, staging drift."""

from __future__ import annotations

from moodle_soc.changes.approvals import parse_approvals
from moodle_soc.changes.drift import DriftSide
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import get_check
from moodle_soc.checks.runner import evaluate
from moodle_soc.results import Status
from moodle_soc.site.state import build_site_state

NOW = 1795936000
DAY = 86400
HEADER = "ticket,title,requested_by,approved_by,approved_at,deploy_from,deploy_to,scope\n"


def statuses(results) -> list[str]:
    return [r.status.value for r in results]


def test_changes_are_manual_without_approvals(builder, make_site):
    builder.config_log("forcelogin", "0", "1", timemodified=NOW - DAY)

    (result,) = evaluate(get_check("changes.changes_approved"), ScanContext(make_site(builder)))

    assert result.status is Status.MANUAL
    assert "1 change(s) were made" in result.reason and "--approvals" in result.reason


def test_each_change_is_judged_by_its_ticket(builder, make_site):
    builder.config_log("forcelogin", "0", "1", timemodified=NOW - DAY)
    builder.config_log("cachejs", "1", "0", timemodified=NOW - DAY)
    builder.config_log("old", "1", "0", timemodified=NOW - 200 * DAY)  # outside the window
    approvals = parse_approvals(
        (HEADER + "CHG-1,,dev,cab,2026-11-01,2026-11-01,2026-11-30,core/forcelogin\n").encode(),
        "approvals.csv",
    )
    scan = ScanContext(make_site(builder), approvals=approvals)

    results = evaluate(get_check("changes.changes_approved"), scan)

    assert statuses(results) == ["pass", "fail"]
    assert results[0].resource.startswith("change:config_log:")
    assert "approved" in results[0].reason and "CHG-1" in results[0].reason
    assert "unapproved" in results[1].reason and results[1].observed["name"] == "cachejs"


def test_no_change_in_the_window_passes(builder, make_site):
    approvals = parse_approvals(
        (HEADER + "CHG-1,,dev,cab,2026-11-01,2026-11-01,2026-11-30,core\n").encode(), "a.csv"
    )
    scan = ScanContext(make_site(builder), approvals=approvals)

    (result,) = evaluate(get_check("changes.changes_approved"), scan)

    assert result.status is Status.PASS and "No change" in result.reason


def test_developer_settings_turned_on_fail_and_turned_off_pass(builder, make_site):
    builder.config_log("debug", "32767", "0", timemodified=NOW - 2 * DAY)
    builder.config_log("debug", "0", "32767", timemodified=NOW - DAY)
    builder.config_log("cachejs", "0", "1", timemodified=NOW - DAY)
    builder.config_log("forcelogin", "0", "1", timemodified=NOW - DAY)  # not a developer setting

    results = evaluate(
        get_check("changes.developer_settings_unchanged"), ScanContext(make_site(builder))
    )

    assert statuses(results) == ["fail", "pass", "fail"]
    assert "a developer value in production" in results[0].reason


def test_no_developer_setting_changed_passes(builder, make_site):
    (result,) = evaluate(
        get_check("changes.developer_settings_unchanged"), ScanContext(make_site(builder))
    )

    assert result.status is Status.PASS


def test_staging_is_manual_until_configured(builder, make_site):
    (result,) = evaluate(
        get_check("changes.staging_matches_production"), ScanContext(make_site(builder))
    )

    assert result.status is Status.MANUAL


def test_a_plugin_version_staging_never_ran_fails(builder, make_site):
    staging_state = build_site_state(make_site(builder))
    builder.setting("version", "2025091100", "local_reports")
    production = make_site(builder)
    staging = DriftSide("staging", staging_state, {("core", "forcelogin"): "1"})

    results = evaluate(
        get_check("changes.staging_matches_production"), ScanContext(production, staging=staging)
    )

    assert statuses(results) == ["fail", "manual"]
    assert results[0].resource == "plugin:local_reports"
    assert "never ran version 2025091100" in results[0].reason


def test_matching_versions_pass(builder, make_site):
    site = make_site(builder)
    from moodle_soc.site.state import effective_settings

    staging = DriftSide("staging", build_site_state(site), effective_settings(site))

    results = evaluate(
        get_check("changes.staging_matches_production"), ScanContext(site, staging=staging)
    )

    assert statuses(results) == ["pass"]
