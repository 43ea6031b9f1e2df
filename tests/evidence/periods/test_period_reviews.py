"""A period report lists the access reviews started or signed off inside the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.periods.reviews import access_reviews_in_period
from moodle_soc.evidence.periods.timeline import period_report
from moodle_soc.evidence.store.runs import site_ref_for_site, store_run
from moodle_soc.inventory.build import build_inventory
from moodle_soc.models.reviews import Decision, DecisionImport
from moodle_soc.policy import Policy
from moodle_soc.reports.period import render_period_html
from moodle_soc.reviews.campaigns import close_campaign, record_decisions, start_campaign

AUDIT = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_a_signed_off_review_appears_with_its_decisions(builder, make_site, sqlite_store):
    support = builder.user("support")
    builder.assign_role(support, "manager")
    store = sqlite_store
    site = make_site(builder, audit_time=AUDIT)
    store_run(store, run_scan(ScanContext(site, Policy())))
    inventory = build_inventory(site, Policy(), scope="privileged")
    ref = site_ref_for_site(site)
    campaign = start_campaign(
        store, ref, inventory, reviewer="rev@acme.test", started_by="ops", now=AUDIT
    )
    decisions = [
        Decision(
            key=e.key,
            decision="revoke" if e.username == "support" else "keep",
            reviewer="rev@acme.test",
            row=n,
        )
        for n, e in enumerate(campaign.entries, start=2)
    ]
    record_decisions(
        store,
        campaign,
        DecisionImport(
            campaign_id=campaign.id, imported_by="rev@acme.test", imported_at=AUDIT,
            file_name="r.csv", file_sha256="0" * 64, file_format="csv", decisions=decisions,
        ),
    )  # fmt: skip
    close_campaign(store, campaign, by="ciso@acme.test", now=AUDIT + timedelta(hours=1))

    [review] = access_reviews_in_period(store, ref.key, AUDIT.date(), AUDIT.date())
    assert review.closed_by == "ciso@acme.test" and review.counts["revoke"] == 1
    assert [(f.username, f.status) for f in review.follow_ups] == [("support", "not verified")]
    assert access_reviews_in_period(store, ref.key, AUDIT.date() + timedelta(days=1),
                                    AUDIT.date() + timedelta(days=9)) == []  # fmt: skip

    report = period_report(store, ref.key, AUDIT.date() - timedelta(days=2), AUDIT.date())
    assert [r.campaign_id for r in report.access_reviews] == [campaign.id]
    html = render_period_html(report)
    assert campaign.id in html and "ciso@acme.test" in html and "not verified" in html
