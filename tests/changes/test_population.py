"""The change population of a period from a synthetic site: every source, deduplicated."""

from __future__ import annotations

from datetime import UTC, date, datetime

from moodle_soc.changes.approvals import parse_approvals
from moodle_soc.changes.population import build_changes
from moodle_soc.models.state import RecordedState
from moodle_soc.site.state import build_site_state

NOW = 1795936000  # 2026-11-29 06:26:40 UTC
DAY = 86400
START, END = date(2026, 11, 1), date(2026, 11, 29)


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def test_every_source_lands_in_one_population(builder, make_site):
    builder.config_log("debug", "32767", "0", timemodified=NOW - DAY)
    builder.config_log("old", "1", "0", timemodified=NOW - 60 * DAY)  # before the period
    builder.upgrade_log(
        "local_reports", "2025010100", "Starting plugin upgrade", timemodified=NOW - 2 * DAY
    )
    builder.upgrade_log(
        "local_reports", "2025020100", "Plugin upgraded", timemodified=NOW - 2 * DAY
    )
    builder.upgrade_log("core", "2025100601.00", "Core upgraded", timemodified=NOW - 3 * DAY)
    builder.allow("student", "moodle/site:config")  # by admin, now
    site = make_site(builder)

    changes = build_changes(site, START, END)

    summary = [
        (c.kind, c.component, c.name, c.old, c.new, c.by_username, c.source)
        for c in changes.changes
    ]
    assert summary == [
        ("core", "core", "version", None, "2025100601.00", None, "upgrade_log"),
        ("plugin", "local_reports", "version", "2025010100", "2025020100", None, "upgrade_log"),
        ("setting", "core", "debug", "0", "32767", "admin", "config_log"),
        ("role", "role", "student", None, "allow", "admin", "role_capabilities"),
    ]
    assert changes.changes[2].id.startswith("config_log:")
    assert all(c.approval is None for c in changes.changes)
    assert any("Fewer than two stored scans" in note for note in changes.notes)


def test_runs_add_what_moodle_did_not_record_and_drop_what_it_did(builder, make_site):
    builder.setting("version", "2025091100", "local_reports")
    builder.setting("version", "2025070803", "local_status")
    before_site = make_site(builder)
    before = build_site_state(before_site)
    builder.upgrade_log(
        "local_reports", "2025091100", "Starting plugin upgrade", timemodified=NOW - DAY
    )
    builder.upgrade_log("local_reports", "2025100100", "Plugin upgraded", timemodified=NOW - DAY)
    builder.setting("version", "2025100100", "local_reports")
    status = builder.find("config_plugins", "local_status", "version")
    assert status is not None
    status["name"] = "uninstalled"  # its version row is gone: the plugin is no longer installed
    site = make_site(builder)
    states = [
        RecordedState(seq=1, record_hash=None, at=at(NOW - 5 * DAY), state=before),
        RecordedState(seq=2, record_hash=None, at=at(NOW - 60), state=build_site_state(site)),
    ]

    changes = build_changes(site, START, END, states=states)

    found = {(c.component, c.source, c.detail.split(",")[0]) for c in changes.changes}
    assert ("local_reports", "upgrade_log", "plugin local_reports upgraded") in found
    assert ("local_status", "runs", "plugin removed (Moodle logs no uninstall)") in found
    assert not any(c.source == "runs" and c.component == "local_reports" for c in changes.changes)


def test_approvals_match_each_change(builder, make_site):
    builder.user("cab", email="cab@example.test")
    builder.config_log("debug", "32767", "0", timemodified=NOW - DAY)
    builder.config_log("cachejs", "0", "1", timemodified=NOW - DAY)
    builder.config_log("forcelogin", "0", "1", timemodified=NOW - DAY)
    csv = (
        "ticket,title,requested_by,approved_by,approved_at,deploy_from,deploy_to,scope\n"
        "CHG-1,,dev,cab,2026-11-01,2026-11-01,2026-11-29,core/debug\n"
        "CHG-2,,dev,admin,2026-11-01,2026-11-01,2026-11-29,core/cachejs\n"
    )
    approvals = parse_approvals(csv.encode(), "approvals.csv")
    site = make_site(builder)

    changes = build_changes(site, START, END, approvals=approvals)

    assert {c.name: c.approval for c in changes.changes} == {
        "debug": "approved",
        "cachejs": "sod_conflict",
        "forcelogin": "unapproved",
    }
    assert changes.approvals_sha256 == approvals.sha256
    assert changes.counts() == {"approved": 1, "sod_conflict": 1, "unapproved": 1}
