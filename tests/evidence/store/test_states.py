"""Earlier evidence a scan judges with: stored runs' states and the latest attachments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from moodle_soc.api.scan import evidence_on_record, judge_site
from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store.attachments import attach_file
from moodle_soc.evidence.store.runs import site_ref_for_site
from moodle_soc.evidence.store.states import latest_attachments, recorded_states
from moodle_soc.evidence.store.store import open_store

TIMES = [
    datetime(2026, 8, 1, tzinfo=UTC),
    datetime(2026, 10, 1, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
]


def test_states_of_the_window_and_the_run_before_it(builder, make_site, tmp_path: Path):
    store = open_store(str(tmp_path / "e.sqlite"), create=True)
    for moment in TIMES:
        with make_site(builder, audit_time=moment) as site:
            judge_site(site, store=store, checks=["plugins.core_branch_supported"])
            key = site_ref_for_site(site).key

    def seen(start: datetime) -> list[datetime]:
        return [s.at for s in recorded_states(store, key, start, TIMES[-1])]

    assert seen(datetime(2026, 10, 15, tzinfo=UTC)) == TIMES[1:]  # with the run before it
    assert seen(datetime(2026, 9, 15, tzinfo=UTC)) == TIMES
    assert seen(datetime(2026, 12, 1, tzinfo=UTC)) == TIMES[-1:]
    store.close()


def test_vendor_reviews_are_attachments_by_plugin(builder, make_site, tmp_path: Path):
    store = open_store(str(tmp_path / "e.sqlite"), create=True)
    review = tmp_path / "review.pdf"
    review.write_bytes(b"%PDF-1.4 review")
    with make_site(builder) as site:
        ref = site_ref_for_site(site)
        for day in (date(2026, 1, 10), date(2026, 6, 1), date(2027, 1, 1)):
            attach_file(
                store,
                ref,
                review,
                control="vendor_review:local_reports",
                effective_date=day,
                collected_by="auditor",
            )
        with pytest.raises(BadInputError, match="Unknown control"):
            attach_file(
                store,
                ref,
                review,
                control="vendor_review:Not A Plugin",
                effective_date=day,
                collected_by="auditor",
            )
        on_record = evidence_on_record(store, site)

    latest = latest_attachments(store, ref.key, date(2026, 11, 29))
    assert latest == {"vendor_review:local_reports": date(2026, 6, 1)}
    assert on_record.attachments == latest
    store.close()
