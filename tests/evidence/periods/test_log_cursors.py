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
from moodle_soc.api.logs import incremental_log_review, log_review
from moodle_soc.evidence.periods.timeline import period_report
from moodle_soc.evidence.store.kinds import describe
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.evidence.store.verify import verify_store
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

    other = incremental_log_review(site, date(2026, 11, 21), PERIOD[1], store=sqlite_store)
    full = incremental_log_review(site, *PERIOD, store=sqlite_store, full=True)
    newest = incremental_log_review(site, date(2026, 11, 21), PERIOD[1], store=sqlite_store)

    assert other.resumed_from is None and other.rows_read == 10
    assert other.notes == [
        f"No log cursor of this site for 2026-11-21 to 2026-11-26 in the store (record"
        f" {first.record.seq} covers 2026-11-20 to 2026-11-26): the whole period was read."
    ]
    assert (full.resumed_from, full.rows_read) == (None, 12)
    assert full.notes == ["--full: the kept cursor was not used."]
    # The newest cursor kept for a period wins, whatever was stored after it for others.
    assert newest.resumed_from is not None and newest.rows_read == 0


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
