"""Exceptions as evidence: recorded, listed with their state, revoked by a second record, and
applied by every scan judged with the store: ``accepted`` until expiry, then ``fail`` again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from moodle_soc import api
from moodle_soc.errors import UsageError
from moodle_soc.evidence.periods.timeline import _verdict
from moodle_soc.evidence.store.runs import site_ref_for_site
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.results import Status
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.builder import SiteBuilder

CHECK = "authentication.mfa_enabled"
RECORDED = datetime(2026, 11, 2, 9, tzinfo=UTC)


def scan(store: EvidenceStore, make_site: Any, day: str) -> Any:
    """A scan on ``day``, recorded live that day (the store's clock is set for it)."""
    moment = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    site: MoodleSite = make_site(SiteBuilder(), audit_time=moment)
    kept, store.clock = store.clock, lambda: moment + timedelta(minutes=1)
    try:
        with site:
            return api.judge_site(site, checks=[CHECK], store=store)
    finally:
        store.clock = kept


def add(store: EvidenceStore, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "site": "Acme", "check": CHECK, "reason": "SSO enforces MFA until the rollout.",
        "owner": "IT lead", "approver": "CISO", "expires": date(2027, 3, 31),
        "approved_at": date(2026, 11, 1), "created_by": "cco", "now": RECORDED,
        "compensating_control": "IdP MFA.",
    }  # fmt: skip
    return api.add_exception(store, **{**values, **changes})


def test_a_finding_is_accepted_until_the_exception_expires_then_fails_again(
    store: EvidenceStore, make_site: Any
) -> None:
    # Evidence never describes the future: every scan here is dated before today.
    first = scan(store, make_site, "2026-10-01")  # the site's chain exists now
    assert [f.status for f in first.findings] == [Status.FAIL]
    exception = add(store, approved_at=date(2026, 10, 1), expires=date(2026, 11, 15),
                    now=datetime(2026, 10, 2, tzinfo=UTC))  # fmt: skip
    during = scan(store, make_site, "2026-11-15")  # the expiry day is still covered
    (finding,) = during.findings
    assert finding.status is Status.ACCEPTED and during.checks[0].status is Status.ACCEPTED
    assert finding.exception is not None
    assert (finding.exception.id, finding.exception.approver, finding.exception.expires) == (
        exception.id, "CISO", date(2026, 11, 15),
    )  # fmt: skip
    assert during.summary.by_status["accepted"] == 1 and during.summary.by_status["pass"] == 0
    after = scan(store, make_site, "2026-11-16")
    (lapsed,) = after.findings
    assert lapsed.status is Status.FAIL
    assert lapsed.exception is not None and lapsed.exception.state == "expired"
    listed = api.list_exceptions(store, site="Acme", as_of=datetime(2026, 11, 16, tzinfo=UTC))
    assert [(v.exception.id, v.state) for v in listed] == [(exception.id, "expired")]
    # A Type II period never counts an accepted day as operating.
    period = api.period_report(store, site="Acme", start=date(2026, 10, 1), end=date(2026, 11, 16))
    (control,) = [c for c in period.controls if c.check_id == CHECK]
    assert (control.days_pass, control.operated_throughout) == (0, False)
    assert _verdict([Status.ACCEPTED, Status.PASS]) == "fail"


def test_a_revoked_exception_stops_accepting_and_stays_on_record(
    store: EvidenceStore, make_site: Any
) -> None:
    scan(store, make_site, "2026-11-01")
    exception = add(store)
    view = api.revoke_exception(store, site="Acme", exception_id=exception.id.lower(),
                                reason="MFA is on.", revoked_by="ciso",
                                now=datetime(2026, 11, 20, tzinfo=UTC))  # fmt: skip
    assert view.state == "revoked"
    (finding,) = scan(store, make_site, "2026-11-29").findings
    assert finding.status is Status.FAIL and finding.exception is not None
    assert finding.exception.revoked_reason == "MFA is on."
    kinds = [r.kind for r in store.records(kind=None)]
    assert kinds.count("risk_exception") == 1 and kinds.count("exception_revocation") == 1
    with pytest.raises(UsageError, match=f"Exception {exception.id} was already revoked."):
        api.revoke_exception(store, site="Acme", exception_id=exception.id, reason="x",
                             revoked_by="ciso")  # fmt: skip
    with pytest.raises(UsageError, match="Exception 'EXC-ffffffff' is not on record for"):
        api.revoke_exception(store, site="Acme", exception_id="EXC-ffffffff", reason="x",
                             revoked_by="ciso")  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"check": "authentication.nothing"}, "--check 'authentication.nothing' is not a check"),
        ({"reason": "  "}, "--reason must not be empty: an exception names who and why."),
        ({"approver": ""}, "--approver must not be empty"),
        ({"expires": date(2026, 10, 1)}, "--expires 2026-10-01 is before the approval"),
        ({"expires": date(2027, 11, 3)}, "--expires 2027-11-03 is more than 366 days after"),
        ({"approved_at": date(2026, 12, 1)}, "--approved-at 2026-12-01 is in the future"),
        ({"approved_at": date(2025, 1, 1), "expires": date(2025, 6, 1)}, "has already passed"),
    ],
)
def test_bad_exceptions_are_refused(
    store: EvidenceStore, make_site: Any, changes: dict[str, Any], message: str
) -> None:
    scan(store, make_site, "2026-11-01")
    with pytest.raises(UsageError, match=message):
        add(store, **changes)
    assert not store.records(kind="risk_exception")


def test_an_exception_keeps_its_approval_and_its_own_creation_time(
    store: EvidenceStore, make_site: Any
) -> None:
    scan(store, make_site, "2026-11-01")
    exception = add(store, resource="plugin:tool_mfa")
    (record,) = store.records(kind="risk_exception")
    assert record.effective_date == date(2026, 11, 1) and record.collected_at == RECORDED
    stored = store.payload(record)
    assert stored["approved_at"] == "2026-11-01" and stored["created_at"].startswith("2026-11-02")
    assert stored["resource"] == "plugin:tool_mfa" and exception.created_by == "cco"
    site = make_site(SiteBuilder())
    assert record.site_key == site_ref_for_site(site).key
