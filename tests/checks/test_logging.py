"""Logging checks, one parametrized test each, on records named by their outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_soc.checks import logging as checks
from moodle_soc.checks.context import ScanContext
from moodle_soc.policy import Policy
from moodle_soc.results import Status
from moodle_soc.synthetic.builder import SiteBuilder

PASS, FAIL = Status.PASS, Status.FAIL
NOW = 1795936000
DAY = 86400
Case = tuple[Callable[[SiteBuilder], Any], Status, str]


def old_logs(b: SiteBuilder) -> None:
    b.log("\\core\\event\\user_loggedin", timecreated=NOW - 500 * DAY, userid=2)


STORES: dict[str, Case] = {
    "standard_store_enabled": (lambda b: None, PASS, "(logstore_standard) includes"),
    "stores_disabled": (
        lambda b: b.setting("enabled_stores", "", "tool_log"),
        FAIL,
        "Setting tool_log/enabled_stores (none) does not include the standard log store.",
    ),
    "only_database_store": (
        lambda b: b.setting("enabled_stores", "logstore_database", "tool_log"),
        FAIL,
        "(logstore_database) does not include",
    ),
}


@pytest.mark.parametrize("record", STORES)
def test_standard_log_enabled(builder, make_site, record):
    build, status, says = STORES[record]
    build(builder)
    (result,) = checks.standard_log_enabled(ScanContext(make_site(builder), Policy()))
    assert (result.status, result.resource) == (status, "setting:tool_log/enabled_stores")
    assert says in result.reason


RETENTION: dict[str, Case] = {
    "logs_kept_forever": (
        old_logs,
        PASS,
        "retention is 'never delete' (logstore_standard/loglifetime 0); the policy requires 365"
        " days; the oldest row is from 2025-07-17 (500.0 days ago).",
    ),
    "kept_a_year": (
        lambda b: b.setting("loglifetime", 365, "logstore_standard"),
        PASS,
        "retention is 365 days (logstore_standard/loglifetime 365); the policy requires 365 days;"
        " the standard log is empty.",
    ),
    "kept_30_days": (
        lambda b: b.setting("loglifetime", 30, "logstore_standard"),
        FAIL,
        "retention is 30 days",
    ),
    "standard_store_disabled": (
        lambda b: (b.setting("enabled_stores", "", "tool_log"), old_logs(b)),
        FAIL,
        "The standard log store is disabled (tool_log/enabled_stores is empty), so no events",
    ),
}


@pytest.mark.parametrize("record", RETENTION)
def test_retention_covers_audit_window(builder, make_site, record):
    build, status, says = RETENTION[record]
    build(builder)
    (result,) = checks.retention_covers_audit_window(ScanContext(make_site(builder), Policy()))
    assert (result.status, result.resource) == (status, "setting:logstore_standard/loglifetime")
    assert says in result.reason
    assert "oldest_log" in result.observed and "logstore_standard/loglifetime" in result.observed
