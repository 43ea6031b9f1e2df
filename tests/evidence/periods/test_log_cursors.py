"""The log cursor kept in the evidence store: a re-run of the same site and period groups only the
rows added since and gives the same review; another period, ``full`` or rows deleted below the
cursor mean a full run, said in a note; the cursor records verify with the chain and are never
taken for a review in the period report or the package. (Every engine, with rows added between
runs: tests/integration/test_logs.py.)"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from moodle_soc.api.evidence import export_package
from moodle_soc.api.logs import IncrementalReview, incremental_log_review, log_review
from moodle_soc.evidence.periods.timeline import period_report
from moodle_soc.evidence.store.kinds import describe
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.logs import LogReview
from moodle_soc.models.period import DateRange
from moodle_soc.models.records import RecordKind
from moodle_soc.site.connect import open_site, spec_from_url
from moodle_soc.synthetic.builder import SiteBuilder

D20 = 1795132800  # 2026-11-20
AUDIT = datetime(2026, 11, 29, 6, tzinfo=UTC)
PERIOD = (date(2026, 11, 20), date(2026, 11, 26))
LOGIN, FAILED = "\\core\\event\\user_loggedin", "\\core\\event\\user_login_failed"


def _logged(builder: SiteBuilder) -> SiteBuilder:
    user = builder.user("alice")
    for day in range(6):
        builder.log(LOGIN, timecreated=D20 + day * 86400 + 60, userid=user, ip="192.0.2.1")
        builder.log(FAILED, timecreated=D20 + day * 86400, userid=user, ip="192.0.2.9",
                    other={"username": "alice", "reason": 3})  # fmt: skip
    return builder


def _same(review: object) -> object:
    return review.model_dump(mode="json", exclude={"queries"})  # type: ignore[attr-defined]


def test_a_rerun_reads_only_new_rows_and_answers_as_a_full_run(
    builder: SiteBuilder, make_site, sqlite_store: EvidenceStore
) -> None:
    site = make_site(_logged(builder))

    first = incremental_log_review(site, *PERIOD, store=sqlite_store)
    again = incremental_log_review(site, *PERIOD, store=sqlite_store)

    assert (first.resumed_from, first.rows_read, first.notes) == (None, 12, [])
    assert (again.resumed_from, again.rows_read) == (first.review.integrity.id_gaps.last_id, 0)
    assert again.notes == [
        f"Incremental run: the grouped pass read the 0 log rows after id {again.resumed_from};"
        " the kept counts cover the rows before."
    ]
    assert _same(again.review) == _same(first.review) == _same(log_review(site, *PERIOD))
    kept = sqlite_store.payload(again.record)
    assert (again.record.kind, kept["rows"], kept["last_id"]) == (
        RecordKind.LOG_CURSOR, 12, again.resumed_from,
    )  # fmt: skip
    assert kept["purpose"].endswith("not evidence that the log was reviewed.")
    assert describe(again.record, kept).startswith(
        "Log analysis cursor for 2026-11-20 to 2026-11-26: 12 log rows counted to id"
    )
    report = verify_store(sqlite_store)
    assert report.ok and report.records == 2


def test_another_period_or_full_reads_the_whole_period(
    builder: SiteBuilder, make_site, sqlite_store: EvidenceStore
) -> None:
    site = make_site(_logged(builder))
    first = incremental_log_review(site, *PERIOD, store=sqlite_store)

    # A cursor serves only periods starting no earlier (and ending no earlier) than its own.
    other = incremental_log_review(site, date(2026, 11, 19), PERIOD[1], store=sqlite_store)
    full = incremental_log_review(site, *PERIOD, store=sqlite_store, full=True)
    later = incremental_log_review(site, date(2026, 11, 21), PERIOD[1], store=sqlite_store)

    assert other.resumed_from is None and other.rows_read == 12
    assert other.notes == [
        f"No log cursor of this site for 2026-11-19 to 2026-11-26 in the store (record"
        f" {first.record.seq} covers 2026-11-20 to 2026-11-26): the whole period was read."
    ]
    assert (full.resumed_from, full.rows_read) == (None, 12)
    assert full.notes == ["--full: the kept cursor was not used."]
    # A later start is served by the newest cursor that covers it (moved, nothing read again).
    assert later.resumed_from is not None and later.rows_read == 0
    assert (
        later.notes[0] == "The cursor kept for 2026-11-20 to 2026-11-26 was moved to this period."
    )
    assert _same(later.review) == _same(log_review(site, date(2026, 11, 21), PERIOD[1]))


def test_rows_deleted_below_the_cursor_make_a_full_run(
    builder: SiteBuilder, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    path = tmp_path / "site.sqlite"
    _logged(builder).sqlite_file(path).dispose()
    spec = spec_from_url(f"sqlite:///{path}", "mdl_", "")
    with open_site(spec, audit_time=AUDIT) as site:
        first = incremental_log_review(site, *PERIOD, store=sqlite_store)
    gaps = first.review.integrity.id_gaps
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:  # what a purge of old rows does
        connection.execute(
            sa.text(f"DELETE FROM mdl_logstore_standard_log WHERE id = {gaps.first_id}")
        )
    engine.dispose()

    with open_site(spec, audit_time=AUDIT) as site:
        again = incremental_log_review(site, *PERIOD, store=sqlite_store)
        full = log_review(site, *PERIOD)

    assert (again.resumed_from, again.rows_read) == (None, 11)
    assert again.notes == [
        "The whole period was read: log rows were deleted at or below the cursor (ids"
        f" {gaps.first_id} to {gaps.last_id}: 12 present when it was kept, 11 now)."
    ]
    assert again.review.authentication.successful_logins == 5
    assert _same(again.review) == _same(full)


def test_cursor_records_are_not_reviews_in_the_period_report_or_package(
    builder: SiteBuilder, make_site, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    done = incremental_log_review(make_site(_logged(builder)), *PERIOD, store=sqlite_store)
    key = done.record.site_key

    report = period_report(sqlite_store, key, *PERIOD)

    assert report.log_reviews == []
    assert report.logs_unreviewed == [DateRange(start=PERIOD[0], end=PERIOD[1], days=7)]
    package = tmp_path / "package.zip"
    export_package(sqlite_store, site=key, start=PERIOD[0], end=PERIOD[1], output=package)
    with zipfile.ZipFile(package) as archive:
        kinds = [e["kind"] for e in json.loads(archive.read("manifest.json"))["records"]]
    assert "log_review" not in kinds


# --- a re-run reads only the rows after the cursor, for every part of the review ---------------

E = "\\core\\event\\"
DETAIL = "logs: failed logins, administrative and role events in the period"


def _split_log(builder: SiteBuilder) -> int:
    """A log whose patterns span the cursor: before the returned id, half a burst on alice,
    six usernames tried from one IP, a lockout of bob, a "log in as", a password changed by
    the administrator and two deleted ids; after it, the rest of each, one more deleted id."""
    alice, bob = builder.user("alice"), builder.user("bob")
    at = D20 + 86400 + 7200  # ids follow time, as Moodle writes them
    for n in range(3):
        builder.log(FAILED, timecreated=at + n * 100, userid=alice, ip=f"198.51.100.{n}",
                    other={"username": "alice", "reason": 3})  # fmt: skip
    for n in range(6):
        builder.log(FAILED, timecreated=at + 210 + n * 10, ip="192.0.2.66",
                    other={"username": f"guess{n}", "reason": 1}, other_format="php")  # fmt: skip
    builder.log(FAILED, timecreated=at + 270, userid=bob, ip="192.0.2.20",
                other={"username": "bob", "reason": 4})  # fmt: skip
    builder.log(E + "user_loggedinas", timecreated=at + 280, userid=2, relateduserid=bob,
                ip="10.0.0.9")  # fmt: skip
    builder.log(E + "user_password_updated", timecreated=at + 290, userid=2,
                relateduserid=alice, ip="10.0.0.9")  # fmt: skip
    builder.reserve_ids("logstore_standard_log", 2)
    split = builder.log(LOGIN, timecreated=at + 300, userid=alice, ip="192.0.2.1")
    for n in range(3, 6):
        builder.log(FAILED, timecreated=at + n * 100 + 100, userid=alice, ip=f"198.51.100.{n}",
                    other={"username": "alice", "reason": 3})  # fmt: skip
    for n in range(6, 12):
        builder.log(FAILED, timecreated=at + 700 + n * 10, ip="192.0.2.66",
                    other={"username": f"guess{n}", "reason": 1})  # fmt: skip
    builder.reserve_ids("logstore_standard_log", 1)
    builder.log(FAILED, timecreated=at + 86400, userid=bob, ip="192.0.2.20",
                other={"username": "bob", "reason": 4})  # fmt: skip
    builder.log(E + "user_loggedinas", timecreated=at + 86400 + 60, userid=2, relateduserid=bob,
                ip="10.0.0.9")  # fmt: skip
    return split


def _held_back(path: Path, after: int) -> list[dict[str, object]]:
    """Take the log rows with an id above ``after`` out (the log as it was at the first run)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    log = sa.Table("mdl_logstore_standard_log", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        rows = [dict(r) for r in connection.execute(sa.select(log).where(log.c.id > after))
                .mappings()]  # fmt: skip
        connection.execute(log.delete().where(log.c.id > after))
    engine.dispose()
    return rows


def _put_back(path: Path, rows: list[dict[str, object]]) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    log = sa.Table("mdl_logstore_standard_log", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(log.insert(), rows)
    engine.dispose()


def _cursor_then_rerun(
    builder: SiteBuilder,
    path: Path,
    split: int,
    store: EvidenceStore,
    kept: tuple[date, date] = PERIOD,
    period: tuple[date, date] = PERIOD,
) -> tuple[IncrementalReview, IncrementalReview, LogReview, list[dict[str, object]]]:
    """The site's log as it was up to id ``split``: a cursor kept for ``kept``; then the rest
    of the log written, and ``period`` reviewed again from the cursor and in full. Returns the
    first run, the re-run, the full review and the rows written after the cursor."""
    builder.sqlite_file(path).dispose()
    later = _held_back(path, split)
    spec = spec_from_url(f"sqlite:///{path}", "mdl_", "")
    with open_site(spec, audit_time=AUDIT) as site:
        first = incremental_log_review(site, *kept, store=store)
    _put_back(path, later)
    with open_site(spec, audit_time=AUDIT) as site:
        again = incremental_log_review(site, *period, store=store)
        full = log_review(site, *period)
    return first, again, full, later


def test_patterns_lockouts_events_and_gaps_spanning_the_cursor_equal_a_full_run(
    builder: SiteBuilder, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    path = tmp_path / "site.sqlite"
    split = _split_log(builder)
    first, again, full, later = _cursor_then_rerun(builder, path, split, sqlite_store)

    assert (first.resumed_from, again.resumed_from) == (None, split)
    assert _same(again.review) == _same(full)
    auth, integrity = again.review.authentication, again.review.integrity
    assert [(b.by, b.key, b.failures) for b in auth.bursts] == [
        ("account", "alice", 6), ("ip", "192.0.2.66", 12),
    ]  # fmt: skip
    assert [(s.ip, s.usernames, s.failures) for s in auth.spraying] == [("192.0.2.66", 12, 12)]
    assert [(lock.username, lock.attempts) for lock in auth.lockouts] == [("bob", 2)]
    assert auth.failed_logins.by_reason == {"1": 12, "3": 6, "4": 2}
    assert again.review.privileged.loginas_sessions.total == 2
    assert len(again.review.privileged.loginas_sessions.items) == 2
    assert again.review.privileged.passwords_changed_by_others.total == 1
    assert (integrity.id_gaps.missing, len(integrity.id_gaps.ranges)) == (3, 2)
    # The re-run's detail stream read only the failed logins and events after the cursor.
    read = sum(q["rows"] for q in again.review.queries if q["purpose"] == DETAIL)
    assert read == len(later) == 11
    assert sum(q["rows"] for q in first.review.queries if q["purpose"] == DETAIL) == 12


def test_changed_pattern_thresholds_make_a_full_run(
    builder: SiteBuilder, make_site, sqlite_store: EvidenceStore
) -> None:
    from moodle_soc.policy import Policy

    site = make_site(_logged(builder))
    incremental_log_review(site, *PERIOD, store=sqlite_store)

    stricter = Policy(burst_failures=3)
    again = incremental_log_review(site, *PERIOD, store=sqlite_store, policy=stricter)

    assert (again.resumed_from, again.rows_read) == (None, 12)
    assert again.notes == [
        "The whole period was read: the policy's burst or spraying thresholds changed since the"
        " cursor was kept."
    ]
    assert _same(again.review) == _same(log_review(site, *PERIOD, policy=stricter))


def _rolling_log(builder: SiteBuilder) -> int:
    """Patterns across the 21st's midnight (the rolled start) and across the cursor (id
    returned): alice fails from 23:20 on the 20th into the 21st (one burst in the first
    period, a shorter one in the second); one IP tries six usernames on the 20th and six on
    the 21st (spraying only in the first period); lockouts, a "log in as" and deleted ids on
    either side."""
    alice, bob = builder.user("alice"), builder.user("bob")
    d21 = D20 + 86400
    builder.log(FAILED, timecreated=D20 + 3600, userid=bob, ip="192.0.2.20",
                other={"username": "bob", "reason": 4})  # fmt: skip
    builder.log(E + "user_loggedinas", timecreated=D20 + 3700, userid=2, relateduserid=bob,
                ip="10.0.0.9")  # fmt: skip
    builder.reserve_ids("logstore_standard_log", 2)
    for n in range(6):
        builder.log(FAILED, timecreated=D20 + 43200 + n * 600, ip="192.0.2.66",
                    other={"username": f"guess{n}", "reason": 1})  # fmt: skip
    for minute in (1400, 1410, 1420, 1430, 1445, 1450, 1455, 1460, 1465):  # from 23:20
        builder.log(FAILED, timecreated=D20 + minute * 60, userid=alice, ip="198.51.100.7",
                    other={"username": "alice", "reason": 3})  # fmt: skip
    for n in range(6, 12):
        builder.log(FAILED, timecreated=d21 + 3600 + n * 600, ip="192.0.2.66",
                    other={"username": f"guess{n}", "reason": 1})  # fmt: skip
    builder.log(FAILED, timecreated=d21 + 86400, userid=bob, ip="192.0.2.20",
                other={"username": "bob", "reason": 4})  # fmt: skip
    builder.reserve_ids("logstore_standard_log", 1)
    split = builder.log(LOGIN, timecreated=d21 + 2 * 86400, userid=alice, ip="192.0.2.1")
    for n in range(5):
        builder.log(FAILED, timecreated=D20 + 6 * 86400 + 600 + n * 60, ip="203.0.113.5",
                    other={"username": f"user{n}", "reason": 1})  # fmt: skip
    builder.log(E + "user_loggedinas", timecreated=D20 + 7 * 86400, userid=2,
                relateduserid=alice, ip="10.0.0.9")  # fmt: skip
    return split


def test_a_cursor_moves_to_a_rolled_period_and_equals_its_full_run(
    builder: SiteBuilder, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    path = tmp_path / "site.sqlite"
    split = _rolling_log(builder)
    rolled = (date(2026, 11, 21), date(2026, 11, 27))
    first, again, full, later = _cursor_then_rerun(
        builder, path, split, sqlite_store, period=rolled
    )

    old = first.review.authentication
    assert [(b.by, b.key, b.failures) for b in old.bursts] == [
        ("ip", "192.0.2.66", 6), ("account", "alice", 9), ("ip", "198.51.100.7", 9),
        ("ip", "192.0.2.66", 6),
    ]  # fmt: skip
    assert [(s.ip, s.usernames) for s in old.spraying] == [("192.0.2.66", 12)]
    assert (again.resumed_from, again.rows_read) == (split, len(later))
    assert again.notes[0] == (
        "The cursor kept for 2026-11-20 to 2026-11-26 was moved to this period."
    )
    assert _same(again.review) == _same(full)
    auth = again.review.authentication
    assert [(b.by, b.key, b.failures) for b in auth.bursts] == [
        ("account", "alice", 5), ("ip", "198.51.100.7", 5), ("ip", "192.0.2.66", 6),
        ("ip", "203.0.113.5", 5),
    ]  # fmt: skip
    assert auth.spraying == []
    assert [(lock.username, lock.attempts) for lock in auth.lockouts] == [("bob", 1)]
    assert again.review.privileged.loginas_sessions.total == 1
    assert again.review.integrity.id_gaps.missing == 1
    # Only the rows after the cursor were read one by one, beside the replayed failures.
    kept = sqlite_store.payload(again.record)
    assert kept["period"] == {"from": "2026-11-21", "to": "2026-11-27"}


def test_without_verifying_the_cursor_rows_deleted_below_it_still_count(
    builder: SiteBuilder, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    """The trade-off --no-verify-cursor makes: no count over the covered ids, so a row purged
    below the cursor since is still counted, and the note says so."""
    path = tmp_path / "site.sqlite"
    _logged(builder).sqlite_file(path).dispose()
    spec = spec_from_url(f"sqlite:///{path}", "mdl_", "")
    with open_site(spec, audit_time=AUDIT) as site:
        first = incremental_log_review(site, *PERIOD, store=sqlite_store)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM mdl_logstore_standard_log WHERE id = :id"),
            {"id": first.review.integrity.id_gaps.first_id},
        )
    engine.dispose()

    with open_site(spec, audit_time=AUDIT) as site:
        unverified = incremental_log_review(site, *PERIOD, store=sqlite_store, verify=False)

    assert unverified.resumed_from == first.review.integrity.id_gaps.last_id
    assert unverified.notes == [
        "The ids the cursor covered were not counted again (--no-verify-cursor): rows deleted"
        " below it since it was kept would still be counted.",
        f"Incremental run: the grouped pass read the 0 log rows after id"
        f" {unverified.resumed_from}; the kept counts cover the rows before.",
    ]
    assert _same(unverified.review) == _same(first.review)
    assert not any("ids present in the cursor" in q["purpose"] for q in unverified.review.queries)


def test_a_key_failing_through_the_whole_kept_run_is_replayed_and_goes_on_after_the_cursor(
    builder: SiteBuilder, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    """One IP fails every ten minutes from the 20th's evening to the 22nd: when the period
    rolls to start on the 21st, it never goes a window without failing, so its failures are all
    fed again and its burst goes on with the rows after the cursor, as in a full run."""
    path = tmp_path / "site.sqlite"
    times = range(D20 + 72000, D20 + 2 * 86400 + 80000, 600)
    split = 0
    for n, time in enumerate(times):
        row = builder.log(FAILED, timecreated=time, ip="203.0.113.9",
                          other={"username": f"bot{n % 3}", "reason": 1})  # fmt: skip
        split = row if time < D20 + 2 * 86400 + 40000 else split
    kept, rolled = (
        (date(2026, 11, 20), date(2026, 11, 22)),
        (date(2026, 11, 21), date(2026, 11, 22)),
    )
    _first, again, full, later = _cursor_then_rerun(
        builder, path, split, sqlite_store, kept=kept, period=rolled
    )

    assert again.resumed_from == split and again.rows_read == len(later) > 0
    assert _same(again.review) == _same(full)
    [burst] = again.review.authentication.bursts
    assert (burst.key, burst.failures) == ("203.0.113.9", full.authentication.failed_logins.total)


def test_rows_out_of_time_order_give_a_rolled_review_equal_to_a_full_run(
    builder: SiteBuilder, sqlite_store: EvidenceStore, tmp_path: Path, monkeypatch
) -> None:
    """The benchmark's shape: the log's first rows are one IP's failures dated the 24th; after
    them, in time order from the 20th, another IP fails every ten minutes into the 27th. The
    sweeps of idle keys (every 64 failures here) went by the newest time seen, so a full run
    cut that IP's burst into pieces where the rolled re-run's replay did not; they go by the
    earliest time of the failures still to come now, so both find one burst."""
    from moodle_soc.logreview import detect

    monkeypatch.setattr(detect, "PRUNE_EVERY", 64)
    path = tmp_path / "site.sqlite"
    for n in range(30):
        builder.log(FAILED, timecreated=D20 + 4 * 86400 + 3600 + n * 30, ip="192.0.2.66",
                    other={"username": f"admin{n % 3}", "reason": 3})  # fmt: skip
    times = range(D20 + 600, D20 + 7 * 86400 + 43200, 600)
    split = 0
    for n, time in enumerate(times):
        row = builder.log(FAILED, timecreated=time, ip="203.0.113.9",
                          other={"username": f"bot{n % 3}", "reason": 1})  # fmt: skip
        split = row if time < D20 + 5 * 86400 else split
    rolled = (date(2026, 11, 21), date(2026, 11, 27))
    first, again, full, later = _cursor_then_rerun(
        builder, path, split, sqlite_store, period=rolled
    )

    assert again.resumed_from == split and again.rows_read == len(later)
    assert (
        again.notes[0] == "The cursor kept for 2026-11-20 to 2026-11-26 was moved to this period."
    )
    assert _same(again.review) == _same(full)
    bursts = [(b.key, b.failures) for b in full.authentication.bursts]
    bot = sum(1 for t in times if t >= D20 + 86400)
    assert bursts == [("203.0.113.9", bot), ("192.0.2.66", 30)]
    kept = [(b.key, b.failures) for b in first.review.authentication.bursts]
    assert kept == [("203.0.113.9", sum(1 for t in times if t < D20 + 5 * 86400)),
                    ("192.0.2.66", 30)]  # fmt: skip


def test_failed_logins_added_with_older_dates_make_a_full_run(
    builder: SiteBuilder, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    """The kept detectors forgot keys on the ground that no failure still to come was older
    than the newest day they had counted (``detect.Horizon``): one added later with an older
    date (rows imported, a clock set back) means the whole period is read again."""
    path = tmp_path / "site.sqlite"
    _logged(builder).sqlite_file(path).dispose()
    spec = spec_from_url(f"sqlite:///{path}", "mdl_", "")
    with open_site(spec, audit_time=AUDIT) as site:
        incremental_log_review(site, *PERIOD, store=sqlite_store)
    engine = sa.create_engine(f"sqlite:///{path}")
    log = sa.Table("mdl_logstore_standard_log", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        row = connection.execute(sa.select(log).where(log.c.eventname == FAILED)).mappings().first()
        assert row is not None
        added = {**row, "id": None, "timecreated": D20 + 86400 + 300}  # the 21st
        connection.execute(log.insert(), [{k: v for k, v in added.items() if k != "id"}])
    engine.dispose()

    with open_site(spec, audit_time=AUDIT) as site:
        again = incremental_log_review(site, *PERIOD, store=sqlite_store)
        full = log_review(site, *PERIOD)

    assert (again.resumed_from, again.rows_read) == (None, 13)
    assert again.notes == [
        "The whole period was read: failed logins dated 2026-11-21 were added after the cursor,"
        " which had counted failed logins up to 2026-11-25."
    ]
    assert _same(again.review) == _same(full)


def test_a_replayed_key_out_of_id_order_makes_a_full_run(
    builder: SiteBuilder, sqlite_store: EvidenceStore, tmp_path: Path
) -> None:
    """The replay of a rolled period reads a key's failures by time (a day, then two, ...); a
    full run reads them by id. When they disagree for a replayed key (its failure of the 22nd
    written before its failure of the 21st), the rolled re-run reads the whole period instead,
    and says so."""
    path = tmp_path / "site.sqlite"
    d21 = D20 + 86400
    builder.log(FAILED, timecreated=d21 - 600, ip="203.0.113.9",
                other={"username": "bot", "reason": 1})  # fmt: skip
    for when in (d21 + 86400 + 43200, d21 + 43200):
        builder.log(FAILED, timecreated=when, ip="203.0.113.9",
                    other={"username": "bot", "reason": 1})  # fmt: skip
    builder.sqlite_file(path).dispose()
    spec = spec_from_url(f"sqlite:///{path}", "mdl_", "")
    rolled = (date(2026, 11, 21), date(2026, 11, 27))
    with open_site(spec, audit_time=AUDIT) as site:
        incremental_log_review(site, *PERIOD, store=sqlite_store)
        again = incremental_log_review(site, *rolled, store=sqlite_store)
        full = log_review(site, *rolled)

    assert again.resumed_from is None
    assert again.notes[0] == (
        "The whole period was read: the failed logins of IP 203.0.113.9 before the cursor are"
        " not in the same order by time as by id, so they cannot be replayed from the new start."
    )
    assert _same(again.review) == _same(full)
