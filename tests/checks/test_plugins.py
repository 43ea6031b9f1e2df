"""plugins.* checks on synthetic sites: support status, advisories and vendor reviews."""

from __future__ import annotations

from datetime import date

from moodle_soc.checks.context import OnRecord, ScanContext
from moodle_soc.checks.registry import get_check
from moodle_soc.checks.runner import evaluate
from moodle_soc.results import Severity, Status
from moodle_soc.synthetic.builder import SiteBuilder


def run(check_id: str, scan: ScanContext):
    return evaluate(get_check(check_id), scan)


def test_a_4_1_site_is_out_of_security_support(make_site):
    (result,) = run(
        "plugins.core_branch_supported", ScanContext(make_site(SiteBuilder(release="4.1")))
    )

    assert result.status is Status.FAIL
    assert "out of security support since 2025-12-08" in result.reason


def test_a_5_1_site_is_supported(builder, make_site):
    (result,) = run("plugins.core_branch_supported", ScanContext(make_site(builder)))

    assert result.status is Status.PASS and "until 2027-04-19" in result.reason


def test_known_advisories_fail_with_their_own_severity(make_site):
    results = run("plugins.no_known_advisories", ScanContext(make_site(SiteBuilder(release="4.1"))))

    by_id = {r.observed["advisory"]: r for r in results}
    assert all(r.status is Status.FAIL for r in results)
    assert by_id["MSA-24-0023"].severity is Severity.HIGH
    assert by_id["MSA-24-0023"].resource == "advisory:MSA-24-0023"
    assert "upgrade to 4.1.11 or later" in by_id["MSA-24-0023"].reason
    assert by_id["MSA-24-0040"].severity is Severity.MEDIUM  # core_h5p, from its CVE
    unrated = by_id["MSA-24-0022"]
    assert unrated.severity is None and "not rated in the data" in unrated.reason


def test_vendor_reviews_need_the_store(builder, make_site):
    builder.setting("version", "2025091100", "local_reports")
    site = make_site(builder)

    (manual,) = run("plugins.additional_plugins_reviewed", ScanContext(site))
    assert manual.status is Status.MANUAL

    reviewed = OnRecord(store="s", attachments={"vendor_review:local_reports": date(2026, 6, 1)})
    (result,) = run("plugins.additional_plugins_reviewed", ScanContext(site, on_record=reviewed))
    assert result.status is Status.PASS and "last reviewed 2026-06-01" in result.reason

    stale = OnRecord(store="s", attachments={"vendor_review:local_reports": date(2025, 1, 1)})
    (result,) = run("plugins.additional_plugins_reviewed", ScanContext(site, on_record=stale))
    assert result.status is Status.FAIL

    empty = OnRecord(store="s", attachments={})
    (result,) = run("plugins.additional_plugins_reviewed", ScanContext(site, on_record=empty))
    assert (result.status, result.resource) == (Status.MANUAL, "plugin:local_reports")
    assert result.reason == (
        "Additional plugin local_reports (2025091100): no vendor review is on record; provide"
        " one kept elsewhere, or attach it with 'moodle-soc evidence attach FILE --control"
        " vendor_review:local_reports'."
    )


def test_only_standard_plugins_need_no_review(builder, make_site):
    (result,) = run("plugins.additional_plugins_reviewed", ScanContext(make_site(builder)))

    assert result.status is Status.PASS
