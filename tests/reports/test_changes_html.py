"""The change-management pages: self-contained, and Moodle data shown as text, never markup."""

from __future__ import annotations

from datetime import UTC, date, datetime

from moodle_soc.changes.drift import Drift, DriftItem
from moodle_soc.models.changes import Change, ChangeSet
from moodle_soc.reports.changes import render_changes_html, render_drift_html

HOSTILE = "<script>alert(1)</script>"


def test_hostile_setting_values_are_escaped_in_the_change_page() -> None:
    change = Change(
        id="config_log:1",
        kind="setting",
        component="core",
        name="sitename",
        old=HOSTILE,
        new="x",
        at=datetime(2026, 11, 29, tzinfo=UTC),
        by_id=2,
        by_username=HOSTILE,
        source="config_log",
        approval="unapproved",
        approval_note="No ticket covers this change in its deploy window.",
    )
    changes = ChangeSet(
        site=HOSTILE,
        audit_time=datetime(2026, 11, 29, tzinfo=UTC),
        start=date(2026, 11, 1),
        end=date(2026, 11, 29),
        changes=(change,),
        notes=(HOSTILE,),
    )

    page = render_changes_html(changes, sha256="ab" * 32)

    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "default-src 'none'" in page  # nothing is loaded from elsewhere
    assert "Exceptions" in page and "unapproved" in page


def test_flagged_drift_rows_are_marked() -> None:
    drift = Drift(
        "staging",
        "production",
        [
            DriftItem("plugin", "local_x", "differs", "1", "2", True, "Plugin local_x is newer."),
            DriftItem("setting", "forcelogin", "differs", "0", HOSTILE, False, "Setting differs."),
        ],
    )

    page = render_drift_html(drift)

    assert page.count('class="flag"') == 1 and "<script>" not in page
