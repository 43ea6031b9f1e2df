"""The review built from a synthetic site: malformed values, the store's history, retention,
secrets in configuration changes, passwords changed by others, the default period."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import NoReturn

import pytest
import sqlalchemy as sa

from moodle_soc.api.logs import log_review, review_period
from moodle_soc.logreview.build import build_log_review
from moodle_soc.logreview.detect import BurstDetector, SprayingDetector
from moodle_soc.policy import Policy
from moodle_soc.site.db import QueryFailedError
from moodle_soc.site.log_review import LogReviewQueries
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.builder import SiteBuilder

E = "\\core\\event\\"
D20 = 1795132800  # 2026-11-20 00:00 UTC
DAY = 86400
PERIOD = (date(2026, 11, 20), date(2026, 11, 28))


def test_a_malformed_other_value_is_counted_never_fatal(builder: SiteBuilder, make_site) -> None:
    row = builder.log(E + "user_login_failed", timecreated=D20, ip="192.0.2.1")
    builder.update("logstore_standard_log", row, other='a:2:{s:8:"username";broken')
    builder.log(E + "user_login_failed", timecreated=D20 + 60, other={"username": "x", "reason": 3})

    review = log_review(make_site(builder), *PERIOD)

    assert review.authentication.failed_logins.by_reason == {"3": 1, "unknown": 1}
    assert review.integrity.malformed_other == 1


def test_a_store_switched_off_before_the_period_is_off_throughout(
    builder: SiteBuilder, make_site
) -> None:
    builder.config_log("enabled_stores", "logstore_database", "logstore_standard",
                       plugin="tool_log", timemodified=D20 - 5 * DAY)  # fmt: skip
    builder.setting("enabled_stores", "logstore_database", "tool_log")

    integrity = log_review(make_site(builder), *PERIOD).integrity

    assert [(o.start, o.end) for o in integrity.store_disabled] == [(None, None)]
    assert not integrity.store_enabled_now


def test_days_after_the_audit_time_are_not_silent(builder: SiteBuilder, make_site) -> None:
    builder.log(E + "user_loggedin", timecreated=D20 + 8 * DAY, userid=2)
    site = make_site(builder)  # audit time 2026-11-29 03:06 UTC

    review = log_review(site, date(2026, 11, 28), date(2026, 12, 5))

    assert review.integrity.days_without_events == [date(2026, 11, 29)]
    assert len(review.daily) == 8


def test_retention_shorter_than_the_period_is_flagged(builder: SiteBuilder, make_site) -> None:
    builder.setting("loglifetime", 5, "logstore_standard")
    builder.log(E + "user_loggedin", timecreated=D20 + DAY, userid=2)

    integrity = log_review(make_site(builder), *PERIOD).integrity

    assert integrity.retention_days == 5 and integrity.retention_shorter_than_period
    assert integrity.oldest_row == datetime(2026, 11, 21, tzinfo=UTC)
    assert not integrity.covers_period_start


def test_secret_settings_are_masked_in_configuration_changes(
    builder: SiteBuilder, make_site
) -> None:
    builder.config_log("smtppass", "new-secret-value", "old-secret-value", timemodified=D20 + 60)

    changes = log_review(make_site(builder), *PERIOD).privileged.config_changes

    assert changes.total == 1
    assert "secret-value" not in changes.items[0].detail


def test_only_passwords_changed_by_someone_else_are_listed(builder: SiteBuilder, make_site) -> None:
    bob = builder.user("bob")
    builder.log(E + "user_password_updated", timecreated=D20, userid=bob, relateduserid=bob)
    builder.log(E + "user_password_updated", timecreated=D20 + 1, userid=2, relateduserid=bob)

    passwords = log_review(make_site(builder), *PERIOD).privileged.passwords_changed_by_others

    assert passwords.total == 1
    [change] = passwords.items
    assert (change.by_username, change.target_username) == ("admin", "bob")


def test_the_default_period_is_the_policy_window_up_to_the_audit_day(
    builder: SiteBuilder, make_site
) -> None:
    site: MoodleSite = make_site(builder)
    assert review_period(site, Policy(log_review_days=7)) == (
        date(2026, 11, 23),
        date(2026, 11, 29),
    )
    review = log_review(site)
    assert (review.period.start, review.period.end) == (date(2026, 10, 30), date(2026, 11, 29))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reading_only_candidates_finds_exactly_what_reading_every_failure_finds(
    builder: SiteBuilder, make_site, seed: int
) -> None:
    rand = random.Random(seed)
    users = [builder.user(f"user{n}") for n in range(4)]
    rows = []
    for _ in range(300):
        when = D20 + rand.randrange(2 * DAY)
        userid = rand.choice([0, *users])
        ip = f"192.0.2.{rand.randrange(5)}"
        name = f"user{users.index(userid)}" if userid else f"guess{rand.randrange(40)}"
        rows.append((when, userid, ip, name))
    for when, userid, ip, name in sorted(rows):  # Moodle's ids grow with time
        builder.log(E + "user_login_failed", timecreated=when, userid=userid, ip=ip,
                    other={"username": name, "reason": 3 if userid else 1})  # fmt: skip
    policy = Policy(burst_failures=6, burst_window_minutes=90, spraying_usernames=5,
                    spraying_window_hours=4)  # fmt: skip
    by_account = BurstDetector(6, 90 * 60)
    by_ip = BurstDetector(6, 90 * 60)
    spraying = SprayingDetector(5, 4 * 3600)
    for when, userid, ip, name in sorted(rows):
        if userid:
            by_account.add(f"user{users.index(userid)}", when)
        by_ip.add(ip, when)
        spraying.add(ip, name, when)
    expected_bursts = sorted(
        [("account", i.key, i.failures, i.first) for i in by_account.incidents()]
        + [("ip", i.key, i.failures, i.first) for i in by_ip.incidents()]
    )
    for detail in (True, False):
        builder_site = make_site(builder)
        auth = build_log_review(builder_site, *PERIOD, policy, detail=detail).authentication
        found = sorted((b.by, b.key, b.failures, int(b.first.timestamp())) for b in auth.bursts)
        assert found == expected_bursts and expected_bursts
        assert [(s.ip, s.usernames, s.failures) for s in auth.spraying] == [
            (i.key, len(i.usernames), i.failures) for i in spraying.incidents()
        ]
        assert spraying.incidents()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_pushed_down_review_equals_reading_every_failure(
    builder: SiteBuilder, make_site, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Reasons, malformed values, lockout and suspended spans, bursts and spraying from the
    grouped statement equal the stream's, also with times going back by up to ten minutes in
    id order (those keys are fed to the detectors) and equal times."""
    rand = random.Random(seed)
    users = [builder.user(f"user{n}") for n in range(4)]
    clock = D20
    for _ in range(400):
        clock += rand.choice([0, 30, 200, 900, 4000])
        userid = rand.choice([0, *users])
        when = clock - (rand.randrange(600) if rand.random() < 0.05 else 0)
        name = f"user{users.index(userid)}" if userid else f"guess{rand.randrange(30)}"
        row = builder.log(E + "user_login_failed", timecreated=when, userid=userid,
                          ip=f"192.0.2.{rand.randrange(4)}",
                          other={"username": name, "reason": rand.choice([1, 2, 3, 3, 4])},
                          other_format=rand.choice(["json", "php"]))  # fmt: skip
        if rand.random() < 0.02:
            builder.update("logstore_standard_log", row, other="{broken")
    policy = Policy(burst_failures=4, burst_window_minutes=30, spraying_usernames=4,
                    spraying_window_hours=2)  # fmt: skip
    pushed = build_log_review(make_site(builder), *PERIOD, policy)
    monkeypatch.setattr(LogReviewQueries, "pushes_down_failures", property(lambda _self: False))
    streamed = build_log_review(make_site(builder), *PERIOD, policy)

    assert pushed.authentication == streamed.authentication
    assert pushed.integrity == streamed.integrity
    assert pushed.authentication.bursts and pushed.authentication.lockouts
    queries = [q["purpose"] for q in pushed.queries]
    assert "logs: failed logins, administrative and role events in the period" not in queries
    assert "logs: failed logins, administrative and role events in the period" in [
        q["purpose"] for q in streamed.queries
    ]


@pytest.mark.parametrize("detail", [True, False])
def test_a_failed_pushed_down_statement_falls_back_to_the_stream(
    builder: SiteBuilder, make_site, monkeypatch: pytest.MonkeyPatch, detail: bool
) -> None:
    """One statement over a very large log may reach the statement timeout: the failed logins
    are then read one by one, and the review says so."""
    for n in range(8):
        builder.log(E + "user_login_failed", timecreated=D20 + n * 60, ip="192.0.2.7",
                    other={"username": f"guess{n}", "reason": 4 if n == 7 else 1})  # fmt: skip
    expected = build_log_review(make_site(builder), *PERIOD, Policy(), detail=detail)

    def timed_out(*_args: object) -> NoReturn:
        raise QueryFailedError(
            "logs: failed logins of the period, grouped and their bursts",
            sa.exc.DBAPIError("SELECT", {}, Exception("canceling statement due to timeout")),
            None,
        )

    monkeypatch.setattr(LogReviewQueries, "failure_analysis", timed_out)
    review = build_log_review(make_site(builder), *PERIOD, Policy(), detail=detail)

    assert review.authentication == expected.authentication
    assert review.authentication.bursts and (review.authentication.lockouts or not detail)
    assert review.notes[0] == (
        "Query 'logs: failed logins of the period, grouped and their bursts' failed: canceling"
        " statement due to timeout. The failed logins were read one by one instead."
    )
