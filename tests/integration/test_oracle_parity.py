"""Our verdicts agree with Moodle's own checks (``admin/cli/checks.php``) on the real sites.

For every check that mirrors a Moodle check (``moodle_check``) present in a site's oracle:
Moodle ok/info/na means our check passes (or does not apply), warning/error/critical means it
fails. Where we deliberately judge differently for compliance, the divergence is listed once,
below, with its reason and our documented verdict, which is asserted instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_soc.checks.registry import all_checks
from moodle_soc.policy import Policy

from .conftest import restored
from .fixtures import FIXTURE_SITES, FixtureSite, RestoredSite, fixtures_dir, require
from .oracle import FAILING_LEVELS, PASSING_LEVELS, load_oracle

pytestmark = pytest.mark.integration

#: moodle-facts §1.5: decidable from the database plus config.php, so we must mirror them.
DECIDABLE = frozenset(
    {
        "core_preventexecpath",
        "core_embed",
        "core_openprofiles",
        "core_crawlers",
        "core_passwordpolicy",
        "core_emailchangeconfirmation",
        "core_webcron",
        "core_cookiesecure",
        "core_riskadmin",
        "core_riskxss",
        "core_riskbackup",
        "core_defaultuserrole",
        "core_guestrole",
        "core_frontpagerole",
        "auth_none_noauth",
        "core_antivirus",
        "tool_task_cronrunning",
        "tool_task_maxfaildelay",
        "tool_task_adhocqueue",
        "tool_task_longrunningtasks",
        "core_designermode",
        "core_cachejs",
        "core_debugging",
        "core_backups",
        "core_stats",
    }
)

#: Moodle checks a read-only database scan cannot decide, and why (fixtures README, §1.5).
NOT_DECIDABLE = {
    "core_displayerrors": "reads PHP's display_errors of the CLI that ran the check (php.ini).",
    "core_configrw": "tests whether the web server can write config.php (the file system).",
    "core_publicpaths": "fetches paths over HTTP; no web server ran, so its ERROR is an artefact.",
    "core_unsecuredataroot": "fetches a dataroot test file over HTTP.",
    "core_environment": "checks the PHP runtime and its extensions (PHP 8.2 on legacy).",
    "core_upgradecheck": "compares the code tree's version.php files with the database.",
    "core_dbschema": "compares every install.xml of the code with the live schema.",
}

#: Checks supplied by third-party plugins of a fork (moodle-facts §1.4), outside our catalogue.
THIRD_PARTY = {
    "block_configurable_reports_sql_execution": "a block_configurable_reports plugin check"
    " (the legacy site's university fork); it judges the plugin's own SQL setting.",
}


def _site_admin_count(site: RestoredSite) -> int:
    value = str(site.scalar("SELECT value FROM {p}config WHERE name = 'siteadmins'") or "")
    return len([item for item in value.split(",") if item.strip()])


Expected = Callable[[str, RestoredSite], str]

#: Where we are stricter than Moodle, or inverted for compliance: ref -> (why, our verdict).
DIVERGENCES: dict[str, tuple[str, Expected]] = {
    "core_backups": (
        "inverted: Moodle warns that enabled automated backups cost performance; for SOC 2"
        " enabled backups are the control, so enabled is our pass and disabled our fail.",
        lambda level, site: "pass" if level in FAILING_LEVELS else "fail",
    ),
    "core_riskadmin": (
        "Moodle always reports info with the number of administrators; we fail above"
        " policy.max_site_admins.",
        lambda level, site: (
            "fail" if _site_admin_count(site) > Policy().max_site_admins else "pass"
        ),
    ),
    "core_crawlers": (
        "Moodle only informs when crawlers enter as guests through the guest login button;"
        " anonymous crawler access to a SOC 2 scope fails for us.",
        lambda level, site: "pass" if level == "ok" else "fail",
    ),
    "core_antivirus": (
        "Moodle says not applicable when no scanner is enabled; no malware scanning of uploads"
        " fails for us.",
        lambda level, site: "fail" if level in {"na", "error", "critical", "warning"} else "pass",
    ),
}


def _moodle_verdict(level: str) -> set[str]:
    if level in PASSING_LEVELS:
        return {"pass", "not_applicable"}
    if level in FAILING_LEVELS:
        return {"fail"}
    return {"pass", "fail", "manual", "not_applicable", "error"}  # unknown decides nothing


def _oracle(fixture: FixtureSite) -> dict[str, str]:
    require(fixtures_dir() / f"{fixture.stem}-checks-security.txt")
    return load_oracle(fixtures_dir(), fixture.stem)


def test_divergences_and_exclusions_are_disjoint_and_decidable() -> None:
    assert set(DIVERGENCES) <= DECIDABLE
    assert not set(NOT_DECIDABLE) & DECIDABLE
    assert not set(THIRD_PARTY) & DECIDABLE


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_every_oracle_ref_is_classified(fixture: FixtureSite) -> None:
    """A ref Moodle adds to its checks must be mirrored or excluded here with a reason."""
    unknown = set(_oracle(fixture)) - DECIDABLE - set(NOT_DECIDABLE) - set(THIRD_PARTY)
    assert not unknown, f"classify these Moodle checks: {sorted(unknown)}"


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_every_decidable_oracle_ref_is_mirrored(fixture: FixtureSite) -> None:
    mirrored = {spec.moodle_check for spec in all_checks() if spec.moodle_check}
    missing = (set(_oracle(fixture)) & DECIDABLE) - mirrored
    assert not missing, f"no check mirrors {sorted(missing)}"


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_verdicts_agree_with_moodle(request: pytest.FixtureRequest, fixture: FixtureSite) -> None:
    oracle = _oracle(fixture)
    site = restored(request, fixture)
    report: dict[str, Any] = request.getfixturevalue("scans").run(site).expanded()
    verdicts = {c["id"]: c["status"] for c in report["checks"]}
    reasons: dict[str, list[str]] = {}
    for f in report["findings"]:
        reasons.setdefault(f["check_id"], []).append(f"[{f['status']}] {f['reason']}")
    disagreements = []
    compared = 0
    for spec in all_checks():
        ref = spec.moodle_check
        if ref is None or ref not in oracle or ref in NOT_DECIDABLE:
            continue
        compared += 1
        level = oracle[ref]
        ours = verdicts[spec.id]
        if ref in DIVERGENCES:
            allowed = {DIVERGENCES[ref][1](level, site)}
            basis = "documented divergence"
        else:
            allowed = _moodle_verdict(level)
            basis = "Moodle's verdict"
        if ours not in allowed:
            disagreements.append(
                f"{spec.id} ({ref}): Moodle {level.upper()}, ours {ours}, expected"
                f" {' or '.join(sorted(allowed))} by {basis}: {' | '.join(reasons[spec.id][:3])}"
            )
    assert compared >= 20, f"only {compared} mirrored checks were compared"
    assert not disagreements, "\n".join(disagreements)
