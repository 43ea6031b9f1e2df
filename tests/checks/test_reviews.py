"""Access-review checks: a current signed-off privileged review, revocations carried out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import moodle_soc.checks.reviews  # noqa: F401 - registers the area's checks
from moodle_soc.api.scan import evidence_on_record
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import get_check
from moodle_soc.evidence.store.runs import site_ref_for_site
from moodle_soc.evidence.store.store import open_store
from moodle_soc.inventory.build import build_inventory
from moodle_soc.models.reviews import Decision, DecisionImport
from moodle_soc.policy import Policy
from moodle_soc.results import Result
from moodle_soc.reviews.campaigns import close_campaign, record_decisions, start_campaign

NOW = 1795936000
AUDIT = datetime.fromtimestamp(NOW, UTC)
DAY = timedelta(days=1)


@pytest.fixture
def store(tmp_path):
    evidence = open_store(str(tmp_path / "evidence.sqlite"), create=True)
    yield evidence
    evidence.close()


def run(check_id: str, target, policy: Policy | None = None) -> list[Result]:
    """Run the check on a site (no evidence store) or on a scan context."""
    scan = target if isinstance(target, ScanContext) else ScanContext(target)
    scan.policy = policy or scan.policy
    return list(get_check(f"reviews.{check_id}").run(scan))


def review(store, builder, make_site, *, closed_days_ago=10, scope="privileged", revoke=()):
    """A campaign started and closed ``closed_days_ago`` before the audit time."""
    closed_at = AUDIT - closed_days_ago * DAY
    site = make_site(builder, audit_time=closed_at - DAY)
    inventory = build_inventory(site, Policy(), scope=scope)
    campaign = start_campaign(store, site_ref_for_site(site), inventory, reviewer="rev@acme.test",
                              started_by="ops", now=closed_at - DAY)  # fmt: skip
    items = [
        Decision(key=e.key, decision="revoke" if e.username in revoke else "keep",
                 reviewer="rev@acme.test", row=n)
        for n, e in enumerate(campaign.entries, start=2)
    ]  # fmt: skip
    record_decisions(store, campaign, DecisionImport(
        campaign_id=campaign.id, imported_by="rev@acme.test", imported_at=closed_at,
        file_name="r.csv", file_sha256="0" * 64, file_format="csv", decisions=items))  # fmt: skip
    close_campaign(store, campaign, by="ciso@acme.test", now=closed_at, follow_up_days=14)
    return campaign


def scanned(builder, make_site, store) -> ScanContext:
    """A scan of the site with the campaigns ``store`` holds on record, as the API loads them."""
    site = make_site(builder)
    return ScanContext(site, on_record=evidence_on_record(store, site))


@pytest.mark.parametrize("check_id", ["privileged_review_current", "revocations_carried_out"])
def test_without_an_evidence_store_the_checks_cannot_decide(builder, make_site, check_id):
    (result,) = run(check_id, make_site(builder))
    assert result.status == "manual" and "No evidence store is attached" in result.reason


def test_no_review_yet(builder, make_site, store):
    site = scanned(builder, make_site, store)
    (current,) = run("privileged_review_current", site)
    (carried,) = run("revocations_carried_out", site)
    assert current.status == "manual" and current.reason == (
        "No privileged access review of Acme Academy signed off by 2026-11-29 is on record;"
        " provide the evidence of a review kept elsewhere, or record one: run one with"
        " 'moodle-soc review start --scope privileged --reviewer EMAIL', then export, import"
        " the decisions and 'review close'."
    )
    assert carried.status == "manual" and "cannot be followed up here" in carried.reason


REVIEW_AGES = {
    "recent_review": ({"closed_days_ago": 10}, "pass", "10 day(s) before the audit time"),
    "stale_review": ({"closed_days_ago": 120}, "fail", "requires one every 90 days"),
    "review_after_audit_time": ({"closed_days_ago": -3}, "manual", "is on record"),
    "all_accounts_review_covers_privileged": ({"scope": "all"}, "pass", "signed off by"),
}


@pytest.mark.parametrize("case", REVIEW_AGES)
def test_privileged_review_current(builder, make_site, store, case):
    options, status, needle = REVIEW_AGES[case]
    campaign = review(store, builder, make_site, **options)
    (result,) = run("privileged_review_current", scanned(builder, make_site, store))
    assert result.status == status and needle in result.reason, result.reason
    if status == "pass":
        assert result.resource == f"review_campaign:{campaign.id}"


def test_the_interval_comes_from_the_policy(builder, make_site, store):
    review(store, builder, make_site, closed_days_ago=40)
    policy = Policy(access_review_interval_days=30)
    (result,) = run("privileged_review_current", scanned(builder, make_site, store), policy)
    assert result.status == "fail" and "one every 30 days" in result.reason


def test_an_open_campaign_does_not_count(builder, make_site, store):
    site = make_site(builder)
    start_campaign(store, site_ref_for_site(site), build_inventory(site, Policy()),
                   reviewer="rev@acme.test", started_by="ops", now=AUDIT - DAY)  # fmt: skip
    (result,) = run("privileged_review_current", scanned(builder, make_site, store))
    assert result.status == "manual"


def _support(builder) -> tuple[int, int]:
    uid = builder.user("support", lastaccess=NOW - 86400)
    return uid, builder.assign_role(uid, "manager")


FOLLOW_UPS = {
    "revoked_role_still_held_past_due": (20, False, "fail", "overdue"),
    "revoked_role_still_held_before_due": (5, False, "pass", "pending"),
    "revoked_role_removed": (20, True, "pass", "done"),
}


@pytest.mark.parametrize("case", FOLLOW_UPS)
def test_revocations_carried_out(builder, make_site, store, case):
    days, removed, status, state = FOLLOW_UPS[case]
    uid, assignment = _support(builder)
    review(store, builder, make_site, closed_days_ago=days, revoke=("support",))
    if removed:
        builder.update("role_assignments", assignment, roleid=builder.role_id("student"))

    (result,) = run("revocations_carried_out", scanned(builder, make_site, store))

    assert (result.status, result.resource) == (status, f"user:{uid}")
    assert f"follow-up ({state}): Account support (user:{uid})" in result.reason
    assert result.observed["status"] == state


def test_a_review_without_revocations_passes(builder, make_site, store):
    campaign = review(store, builder, make_site)
    (result,) = run("revocations_carried_out", scanned(builder, make_site, store))
    assert (result.status, result.resource) == ("pass", f"review_campaign:{campaign.id}")
    assert "decided no revocation" in result.reason
