"""The site layer's population queries: period bounds, privilege, secrets, streaming."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from moodle_soc.site.populations import (
    Window,
    context_label,
    iso,
    masked,
)
from moodle_soc.synthetic.builder import SiteBuilder

NOV = Window.for_days(date(2026, 11, 1), date(2026, 11, 30))


def test_a_window_is_whole_utc_days_start_inclusive_end_exclusive() -> None:
    assert NOV.start == int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
    assert NOV.end == int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    one = Window.for_days(date(2026, 11, 29), date(2026, 11, 29))
    assert one.end - one.start == 86400


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, None),
        (None, None),
        (1795936000, "2026-11-29T07:06:40Z"),
        ("1795936000", "2026-11-29T07:06:40Z"),
    ],
)
def test_iso(value: Any, shown: str | None) -> None:
    assert iso(value) == shown


@pytest.mark.parametrize(
    ("level", "instance", "label"),
    [(10, 0, "system"), (40, 3, "category:3"), (50, 12, "course:12"), (99, 5, "context:5")],
)
def test_context_label(level: int, instance: int, label: str) -> None:
    assert context_label(level, instance) == label


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("passwordsaltmain", "abc", "********"),
        ("bind_pw", "abc", "********"),
        ("bind_pw", "", ""),  # an empty secret stays visibly empty
        ("passwordpolicy", "1", "1"),  # mentions a password, holds none
        ("siteadmins", "2,5", "2,5"),
    ],
)
def test_config_log_values_of_secret_settings_are_masked(name: str, value: str, shown: str) -> None:
    assert masked(name, value) == shown


def test_admin_roles_are_those_allowing_config_or_trust_risks(
    builder: SiteBuilder, make_site: Any
) -> None:
    site = make_site(builder)
    rows = site.db.fetch_all(site.populations.admin_role_ids(), "test")
    assert {int(r["roleid"]) for r in rows} == {builder.role_id("manager")}


def test_token_values_are_never_selected(builder: SiteBuilder, make_site: Any) -> None:
    builder.token(2, timecreated=NOV.start + 10)
    site = make_site(builder)
    (row,) = list(site.populations.tokens(NOV))
    assert "token" not in row and "privatetoken" not in row
    (query,) = [r for r in site.db.records if "external_tokens" in r.sql]
    assert "external_tokens.token," not in query.sql and "privatetoken" not in query.sql


def test_user_rows_and_events_speak_the_populations_names(
    builder: SiteBuilder, make_site: Any
) -> None:
    uid = builder.user("ann", timecreated=NOV.start + 5, suspended=1)
    builder.log("\\core\\event\\user_created", timecreated=NOV.start + 6, objecttable="user",
                objectid=uid, relateduserid=uid, userid=2, crud="c")  # fmt: skip
    site = make_site(builder)
    (row,) = site.populations.users_created(NOV)
    assert row == {
        "userid": uid, "username": "ann", "firstname": row["firstname"],
        "lastname": row["lastname"], "auth": "manual", "deleted": False, "suspended": True,
        "timecreated": NOV.start + 5, "timemodified": row["timemodified"],
    }  # fmt: skip
    (event,) = site.populations.account_events("created", NOV)
    assert (event["userid"], event["actor_id"], event["actor"]) == (uid, 2, "admin")


def test_siteadmins_changes_are_one_row_per_user_at_system_level(
    builder: SiteBuilder, make_site: Any
) -> None:
    builder.config_log("siteadmins", "2,7,9", "2,5", userid=2, timemodified=NOV.start + 9)
    builder.config_log("siteadmins", "2", "2", userid=2, timemodified=NOV.start + 10)
    rows = list(make_site(builder).populations.siteadmin_changes(NOV))
    assert [(r["userid"], r["change"], r["context"], r["contextlevel"]) for r in rows] == [
        (5, "unassigned", "system", 10),
        (7, "assigned", "system", 10),
        (9, "assigned", "system", 10),
    ]
    assert {(r["role"], r["source"], r["actor"]) for r in rows} == {
        ("siteadmin", "config_log", "admin")
    }


def test_large_sources_stream_in_keyset_pages(builder: SiteBuilder, make_site: Any) -> None:
    for n in range(5003):
        builder.config_log(f"setting{n}", n, None, timemodified=NOV.start + n)
    site = make_site(builder)
    rows = list(site.populations.config_log(NOV))
    assert [r["name"] for r in rows] == [f"setting{n}" for n in range(5003)]
    pages = [r for r in site.db.records if "config_log" in r.sql]
    assert [p.rows for p in pages] == [5000, 3]


def test_login_failures_decode_both_formats_and_survive_bad_rows(
    builder: SiteBuilder, make_site: Any
) -> None:
    event = "\\core\\event\\user_login_failed"
    builder.log(event, timecreated=NOV.start + 1, other={"username": "a", "reason": "3"},
                other_format="php")  # fmt: skip
    builder.log(event, timecreated=NOV.start + 2, other={"username": "b", "reason": 4})
    row = builder.log(event, timecreated=NOV.start + 3, ip="10.1.1.1")
    builder.update("logstore_standard_log", row, other="a:1:{broken")
    site = make_site(builder)
    got = [(r["username"], r["reason"], r["ip"]) for r in site.populations.login_failures(NOV)]
    assert got == [("a", 3, ""), ("b", 4, ""), ("", None, "10.1.1.1")]
