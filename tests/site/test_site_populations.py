"""The site layer's population queries: period bounds, privilege, secrets, streaming."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from moodle_soc.site.populations import (
    PopulationQueries,
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
    rows = site.db.fetch_all(PopulationQueries(site).admin_role_ids(), "test")
    assert {int(r["roleid"]) for r in rows} == {builder.role_id("manager")}


def test_token_values_are_never_selected(builder: SiteBuilder, make_site: Any) -> None:
    builder.token(2, timecreated=NOV.start + 10)
    site = make_site(builder)
    (row,) = list(PopulationQueries(site).tokens(NOV))
    assert "token" not in row and "privatetoken" not in row
    (query,) = [r for r in site.db.records if "external_tokens" in r.sql]
    assert "external_tokens.token," not in query.sql and "privatetoken" not in query.sql


def test_large_sources_stream_in_keyset_pages(builder: SiteBuilder, make_site: Any) -> None:
    for n in range(5003):
        builder.config_log(f"setting{n}", n, None, timemodified=NOV.start + n)
    site = make_site(builder)
    rows = list(PopulationQueries(site).config_log(NOV))
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
    got = [
        (r["username"], r["reason"], r["ip"]) for r in PopulationQueries(site).login_failures(NOV)
    ]
    assert got == [("a", 3, ""), ("b", 4, ""), ("", None, "10.1.1.1")]
