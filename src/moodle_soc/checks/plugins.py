"""Plugins and patches: the core branch still receives security fixes, nothing installed is
affected by a known advisory, and every additional plugin has a recorded vendor review.

Support dates, standard plugin lists and advisories are data shipped with moodle-soc
(``moodle_soc/data``); a newer advisories file installed with ``moodle-soc advisories update``
is handed in by the caller (``ScanContext.advisories``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from moodle_soc.changes.advisories import matching_advisories, support_status
from moodle_soc.changes.plugin_risk import origin_of
from moodle_soc.checks.registry import check
from moodle_soc.data.advisories import SHIPPED, shipped_advisories
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext

VENDOR_REVIEW = "vendor_review:"


@check(
    "plugins.core_branch_supported",
    severity=Severity.HIGH,
    title="Moodle's branch still receives security fixes",
    remediation="Upgrade to a Moodle branch that is in security support (see"
    " https://moodledev.io/general/releases).",
)
def core_branch_supported(scan: ScanContext) -> Iterator[Result]:
    """A branch out of security support gets no fixes for newly found vulnerabilities."""
    state = scan.state()
    on = scan.audit_time.date()
    status = support_status(state, on)
    observed = {
        "branch": status.branch, "release": status.release,
        "security_support_end": status.security_support_end.isoformat()
        if status.security_support_end else None,
        "latest_release": status.latest,
    }  # fmt: skip
    if not status.known or status.security_support_end is None:
        yield Result.error(
            f"Branch {status.branch} is not in the support data shipped with moodle-soc, so its"
            " security support cannot be judged.",
            observed=observed,
        )
        return
    end = status.security_support_end
    name = f"Moodle {status.release or state.moodle_release} (branch {status.branch})"
    if not status.supported:
        yield Result.failed(
            f"{name} has been out of security support since {end}, {(on - end).days} day(s)"
            f" before the audit date {on}.",
            observed=observed,
        )
        return
    behind = (
        f"; the latest {status.branch} release is {status.latest}" if status.behind_latest else ""
    )
    yield Result.passed(
        f"{name} receives security fixes until {end} ({(end - on).days} day(s) after the audit"
        f" date){behind}.",
        observed=observed,
    )


@check(
    "plugins.no_known_advisories",
    severity=Severity.HIGH,
    title="Core and plugins are not affected by known security advisories",
    remediation="Upgrade to a release that fixes each advisory (the advisory's forum post"
    " names them); keep the advisories current with 'moodle-soc advisories update'.",
)
def no_known_advisories(scan: ScanContext) -> Iterator[Result]:
    """A published vulnerability is the first thing an attacker tries."""
    loaded = scan.advisories
    advisories = loaded.file if loaded is not None else shipped_advisories()
    origin = loaded.origin if loaded is not None else SHIPPED
    state = scan.state()
    matches = matching_advisories(state, advisories)
    for match in matches:
        advisory = match.advisory
        cve = f" ({advisory.cve})" if advisory.cve else ""
        rated = f"rated {advisory.severity}" if advisory.severity else "not rated in the data"
        yield Result.failed(
            f"{advisory.id}{cve} '{advisory.title}' affects {match.component} at version"
            f" {match.version} (affected: {match.range}; {rated}): {match.remedy}.",
            resource=f"advisory:{advisory.id}",
            severity=Severity(advisory.severity) if advisory.severity else None,
            observed={
                "advisory": advisory.id, "cve": advisory.cve, "component": match.component,
                "version": match.version, "range": match.range, "fixed": list(advisory.fixed),
                "source": advisory.source, "severity_basis": advisory.severity_basis,
            },
        )  # fmt: skip
    if not matches:
        yield Result.passed(
            f"None of the {len(advisories.advisories)} known advisories in {origin} (updated"
            f" {advisories.updated}) applies to Moodle {state.moodle_release} or its plugins;"
            " the list is curated, not complete.",
            observed={"advisories": len(advisories.advisories), "source": origin},
        )


@check(
    "plugins.additional_plugins_reviewed",
    severity=Severity.MEDIUM,
    title="Every additional plugin has a current vendor review",
    remediation="Review each additional plugin (maintainer, supported versions, security"
    " history, need) and attach the review: moodle-soc evidence attach FILE --control"
    " vendor_review:<component>.",
)
def additional_plugins_reviewed(scan: ScanContext) -> Iterator[Result]:
    """Third-party plugins run with Moodle's full privileges outside its security process."""
    state = scan.state()
    additional = [c for c in state.plugins if origin_of(c, state.moodle_label) == "additional"]
    if not additional:
        yield Result.passed(
            f"Every installed plugin ships with Moodle {state.moodle_label}; none needs a vendor"
            " review.",
            observed={"additional": 0},
        )
        return
    if scan.on_record is None:
        yield Result.manual(
            f"{len(additional)} additional plugin(s) are installed; their vendor reviews are"
            " evidence in the store, and this scan has none (scan without --no-store).",
            observed={"additional": additional},
        )
        return
    on = scan.audit_time.date()
    oldest = on - timedelta(days=scan.policy.vendor_review_max_age_days)
    for component in additional:
        reviewed = scan.on_record.attachments.get(f"{VENDOR_REVIEW}{component}")
        seen = {"component": component, "version": state.plugins.get(component), "reviewed": None}
        if reviewed is None or reviewed > on:
            # Nothing on record is no evidence either way: the review may be kept elsewhere.
            yield Result.manual(
                f"Additional plugin {component} ({state.plugins.get(component)}): no vendor"
                " review is on record; provide one kept elsewhere, or attach it with"
                f" 'moodle-soc evidence attach FILE --control {VENDOR_REVIEW}{component}'.",
                resource=f"plugin:{component}",
                observed=seen,
            )
            continue
        current = oldest <= reviewed
        when = f"last reviewed {reviewed}"
        yield Result.pass_if(
            current,
            f"Additional plugin {component} ({state.plugins.get(component)}): {when}; the policy"
            f" asks for one every {scan.policy.vendor_review_max_age_days} days.",
            resource=f"plugin:{component}",
            observed={"component": component, "version": state.plugins.get(component),
                      "reviewed": reviewed.isoformat() if reviewed else None},
        )  # fmt: skip
