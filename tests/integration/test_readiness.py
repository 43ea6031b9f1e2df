"""The readiness programme on the real fixtures: the sites' payment records decide SOC 1 when
the answers leave it out (the 5.1 sites take payments, the legacy 4.1 site does not), and a
risk exception turns a real failing finding into ``accepted`` in a stored scan."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from moodle_soc import api
from moodle_soc.results import Status

from .conftest import restored
from .fixtures import HARDENED, LEGACY, WEAK, FixtureSite, RestoredSite

pytestmark = pytest.mark.integration
AUDIT = datetime(2026, 11, 29, 12, tzinfo=UTC)
ANSWERS: dict[str, Any] = {
    "hosted_for_customers": True, "availability_commitments": True, "confidential_data": False,
    "processes_transactions": False, "personal_information": True, "revenue_recognition": False,
    "erp_integration": False, "customers_under_financial_audit": False,
    "hosting_model": "managed-carve-out", "report_type": "type2",
    "period": "2026-01-01..2026-12-31",
}  # fmt: skip


def open_at(site: RestoredSite, moment: datetime) -> Any:
    """The tool's read-only site over the copy, judged at ``moment``."""
    from moodle_soc.site.connect import open_site, spec_from_url
    from moodle_soc.site.phpconfig import parse_config_php

    config_php = parse_config_php(site.config_php_text(None), str(site.fixture.config_file))
    return open_site(spec_from_url(site.url(), site.prefix, ""), config_php=config_php,
                     audit_time=moment)  # fmt: skip


@pytest.mark.parametrize(
    ("fixture", "soc1"), [(WEAK, True), (HARDENED, True), (LEGACY, False)], ids=lambda f: str(f)
)
def test_payment_records_decide_soc1_when_the_answers_leave_it_out(
    request: pytest.FixtureRequest, fixture: FixtureSite, soc1: bool, tmp_path: Path
) -> None:
    site = restored(request, fixture)
    payments = site.scalar("SELECT COUNT(*) FROM {p}payments")
    assert (int(payments) > 0) is soc1  # type: ignore[call-overload]
    with (
        api.open_evidence_store(str(tmp_path / "evidence.sqlite"), create=True) as store,
        site.open_site() as moodle,
    ):
        scope = api.decide_readiness_scope(store, answers=ANSWERS, site=moodle, decided_by="cco")
    assert scope.payment_records == payments
    assert scope.soc1 is soc1 and scope.answers.takes_payments is soc1
    assert scope.soc2_categories == ("CC", "A", "P")


def test_a_real_failing_finding_is_accepted_until_the_exception_expires(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    site = restored(request, WEAK)
    with api.open_evidence_store(str(tmp_path / "evidence.sqlite"), create=True) as store:
        # The last scan is dated 2027: a store clock past it records every scan (late).
        store.clock = lambda: datetime(2027, 3, 1, tzinfo=UTC)
        with site.open_site() as moodle:
            first = api.judge_site(moodle, checks=["authentication"], store=store)
        failing = next(f for f in first.findings if f.status is Status.FAIL)
        exception = api.add_exception(
            store, site="weak", check=failing.check_id, resource=failing.resource,
            reason="Accepted while the identity provider migration runs.", owner="IT",
            approver="CISO", approved_at=date(2026, 11, 1), expires=date(2026, 11, 20),
            created_by="cco", now=datetime(2026, 11, 2, tzinfo=UTC),
        )  # fmt: skip
        # Evidence never describes the future: both scans are dated before today.
        with open_at(site, datetime(2026, 11, 10, tzinfo=UTC)) as moodle:
            during = api.judge_site(moodle, checks=[failing.check_id], store=store)
        with open_at(site, datetime(2026, 11, 21, tzinfo=UTC)) as moodle:
            after = api.judge_site(moodle, checks=[failing.check_id], store=store)
    (accepted,) = [f for f in during.findings if f.resource == failing.resource]
    assert accepted.status is Status.ACCEPTED and accepted.reason == failing.reason
    assert accepted.exception is not None and accepted.exception.id == exception.id
    others = [f for f in during.findings if f.resource != failing.resource]
    assert all(f.status is not Status.ACCEPTED for f in others)
    (expired,) = [f for f in after.findings if f.resource == failing.resource]
    assert expired.status is Status.FAIL
    assert expired.exception is not None and expired.exception.state == "expired"


@pytest.mark.parametrize("fixture", [WEAK, LEGACY], ids=lambda f: str(f))
def test_templates_are_filled_from_the_real_site(
    request: pytest.FixtureRequest, fixture: FixtureSite
) -> None:
    site = restored(request, fixture)
    (admins,) = site.rows("SELECT value FROM {p}config WHERE name = 'siteadmins'")
    expected = len([i for i in str(admins["value"]).split(",") if i])
    with site.open_site() as moodle:
        policy = api.readiness_template("access-control-policy", moodle)
        plugins = api.readiness_template("plugin-vendor-review-record", moodle)
    assert f"The site administrators today ({expected}):" in policy
    if fixture is LEGACY:
        assert "The tool\\_mfa plugin" in policy or "has no core multi-factor" in policy
    else:
        assert "Core multi-factor authentication (tool\\_mfa)" in policy
    assert "| local\\_" in plugins  # the additional local_* plugins are listed for review
