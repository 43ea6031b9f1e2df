"""Change management: changes of the review window matched to their approvals, developer
settings toggled in production, and drift from the staging environment.

The change population comes from ``ScanContext.changes()`` (config_log, upgrade_log, role
definitions and the states of earlier stored scans); approvals and the staging site are inputs
the caller hands in. Without them the checks cannot decide and say so (manual).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from moodle_soc.checks.registry import check
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext
    from moodle_soc.models.changes import Change

Safe = Callable[[str | None], bool]


def _is(*values: str) -> Safe:
    return lambda value: (value or "0") in values


#: Debug and developer settings, and the values that are safe in production.
DEVELOPER_SETTINGS: dict[tuple[str, str], Safe] = {
    ("core", "debug"): _is("0", "5"),  # NONE or MINIMAL
    ("core", "debugdisplay"): _is("0"),
    ("core", "debugsmtp"): _is("0"),
    ("core", "debugstringids"): _is("0"),
    ("core", "debugvalidators"): _is("0"),
    ("core", "debugpageinfo"): _is("0"),
    ("core", "debugtemplateinfo"): _is("0"),
    ("core", "perfdebug"): _is("0", "7"),  # 15 shows performance info on every page
    ("core", "themedesignermode"): _is("0"),
    ("core", "cachejs"): lambda value: value == "1",
    ("core", "cachetemplates"): lambda value: value == "1",
    ("core", "langstringcache"): lambda value: value == "1",
    ("core", "profilingenabled"): _is("0"),
    ("tool_mfa", "debugmode"): _is("0"),
}
CHANGES_DOC = "docs/changes.md"


def _window(scan: ScanContext) -> str:
    changes = scan.changes()
    return f"{changes.start} to {scan.audit_time:%Y-%m-%d %H:%M} UTC"


def _in_window(scan: ScanContext) -> list[Change]:
    return [c for c in scan.changes().changes if c.at <= scan.audit_time]


def describe(change: Change) -> str:
    """One change as a phrase: what, from what to what, when and by whom."""
    what = change.name if change.component == "core" else f"{change.component}/{change.name}"
    if change.kind == "role":
        what = f"role {change.name}"
    values = (
        f" from {change.old!r} to {change.new!r}"
        if (change.old, change.new) != (None, None)
        else ""
    )
    who = change.by_username or ("the system" if change.by_id == 0 else "an unknown user")
    when = f"{change.at:%Y-%m-%d %H:%M} UTC"
    if change.at_from is not None:
        when = f"between {change.at_from:%Y-%m-%d %H:%M} and {when}"
        who = "an unknown user"
    return f"{change.kind} change {what}{values} ({change.detail}) at {when} by {who}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _observed(change: Change) -> dict[str, object]:
    return change.model_dump(mode="json", exclude_none=True)


@check(
    "changes.changes_approved",
    severity=Severity.HIGH,
    title="Every change in the review window has an approved ticket",
    remediation="Raise and approve a ticket before each change and give the tracker's export with"
    " --approvals FILE (docs/changes.md); explain each exception to the auditor.",
)
def changes_approved(scan: ScanContext) -> Iterator[Result]:
    """Unapproved changes are how misconfigurations and malicious edits reach production."""
    changes = _in_window(scan)
    if scan.approvals is None:
        yield Result.manual(
            f"{len(changes)} change(s) were made from {_window(scan)}; matching them to"
            " approvals needs the change tracker's export: scan with --approvals FILE.",
            observed={"changes": len(changes), "window_days": scan.policy.change_review_days},
        )
        return
    if not changes:
        yield Result.passed(
            f"No change was recorded from {_window(scan)}.",
            observed={"changes": 0, "approvals": scan.approvals.source},
        )
        return
    for change in changes:
        note = change.approval_note or ""
        yield Result.pass_if(
            change.approval == "approved",
            f"{_sentence(describe(change))}: {change.approval}. {note}".rstrip(),
            resource=f"change:{change.id}",
            observed=_observed(change),
        )


@check(
    "changes.developer_settings_unchanged",
    severity=Severity.MEDIUM,
    title="Debug and developer settings were not turned on in production",
    remediation="Turn the setting back to its production value (Site administration >"
    " Development > Debugging) and make such changes on a staging site instead.",
)
def developer_settings_unchanged(scan: ScanContext) -> Iterator[Result]:
    """Developer settings switched on in production leak internals and signal untested changes
    made directly on the live site."""
    found = False
    for change in _in_window(scan):
        safe = DEVELOPER_SETTINGS.get((change.component, change.name))
        if safe is None or change.kind not in ("setting", "config_php"):
            continue
        found = True
        restored = safe(change.new)
        yield Result.pass_if(
            restored,
            f"{_sentence(describe(change))}"
            + (
                ": back to a production value."
                if restored
                else ": a developer value in production."
            ),
            resource=f"change:{change.id}",
            observed=_observed(change),
        )
    if not found:
        names = ", ".join(sorted(n for p, n in DEVELOPER_SETTINGS if p == "core"))
        yield Result.passed(
            f"No debug or developer setting ({names}, tool_mfa/debugmode) was changed from"
            f" {_window(scan)}.",
            observed={"settings": sorted(f"{p}/{n}" for p, n in DEVELOPER_SETTINGS)},
        )


@check(
    "changes.staging_matches_production",
    severity=Severity.MEDIUM,
    title="Production runs only versions that were tested on staging",
    remediation="Install and test each upgrade on the staging site first; compare them with"
    " 'moodle-soc drift --from STAGING --to PRODUCTION'.",
)
def staging_matches_production(scan: ScanContext) -> Iterator[Result]:
    """A version that never ran on staging reached production untested."""
    if scan.staging is None:
        yield Result.manual(
            "No staging site is configured for this scan (moodle-soc.yaml 'staging:'), so"
            " testing before deployment cannot be compared; provide staging evidence or"
            " configure the staging site.",
        )
        return
    from moodle_soc.changes.drift import DriftSide, compare
    from moodle_soc.site.state import effective_settings

    here = DriftSide(scan.site.identity.name, scan.state(), effective_settings(scan.site))
    drift = compare(scan.staging, here)
    versions = [item for item in drift.items if item.area in ("core", "plugin")]
    for item in versions:
        if item.flagged:
            resource = "site" if item.area == "core" else f"plugin:{item.key}"
            yield Result.failed(
                item.reason, resource=resource, observed={"staging": item.from_value,
                                                          "production": item.to_value},
            )  # fmt: skip
    if not any(item.flagged for item in versions):
        yield Result.passed(
            f"Every core and plugin version of {here.label} also ran on {scan.staging.label}"
            f" ({len(versions)} version difference(s), none untested).",
            observed={"version_differences": len(versions)},
        )
    settings = [item for item in drift.items if item.area == "setting"]
    if settings:
        yield Result.manual(
            f"{len(settings)} setting(s) differ between {scan.staging.label} and {here.label};"
            " review them with 'moodle-soc drift' (instance-specific settings are left out).",
            observed={"settings": [item.key for item in settings][:100]},
        )
