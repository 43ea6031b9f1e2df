"""Every check's fix, on every branch 3.9–5.1: valid ``admin/cli/cfg.php`` syntax for a setting
that branch declares, and an admin page that exists on that branch (site/setting_versions.yaml,
read from Moodle's own admin tree of each branch)."""

from __future__ import annotations

import re

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import CheckSpec, all_checks
from moodle_soc.checks.runner import run_scan
from moodle_soc.policy import Policy
from moodle_soc.results import Status
from moodle_soc.site.defaults import BRANCHES, declared
from moodle_soc.synthetic.builder import SiteBuilder
from moodle_soc.synthetic.install import RELEASES

CFG = re.compile(
    r"^php admin/cli/cfg\.php(?: --component=([a-z0-9_]+))? --name=([a-z0-9_]+) --set=\S+$"
)
#: (check, branch) where the fix's setting does not exist: the check must not fail there.
NOT_ON_BRANCH = {
    # Moodle 4.3 removed cookiehttponly: session cookies are always HttpOnly from then.
    **{("hardening.cookies_http_only", b): "removed in 4.3" for b in BRANCHES[6:]},
}
FIXED = [spec for spec in all_checks() if spec.fix is not None]


@pytest.mark.parametrize("branch", BRANCHES)
@pytest.mark.parametrize("spec", FIXED, ids=lambda spec: spec.id)
def test_the_declared_fix_exists_on_every_branch_the_check_applies_to(
    spec: CheckSpec, branch: str
) -> None:
    assert spec.fix is not None and spec.fix_command is not None
    match = CFG.match(spec.fix_command)
    assert match, spec.fix_command
    assert (match.group(1), match.group(2)) == (spec.fix.plugin, spec.fix.name)
    page = declared(spec.fix.plugin, spec.fix.name, branch)
    if (spec.id, branch) in NOT_ON_BRANCH:
        assert page is None, f"{spec.fix.name} exists on {branch}: drop it from NOT_ON_BRANCH"
        return
    assert page is not None, f"{spec.fix.name} does not exist on Moodle {branch}"
    assert re.fullmatch(r"admin/settings\.php\?section=[a-z0-9_]+", page.admin_path)


def _failing_site(release: str) -> SiteBuilder:
    """A default install of ``release`` with every declared fix's setting stored wrong."""
    builder = SiteBuilder(release=release)
    for spec in FIXED:
        assert spec.fix is not None
        wrong = {"0": "1", "1": "0"}.get(spec.fix.value, "")
        builder.setting(spec.fix.name, wrong, spec.fix.plugin)
    builder.setting("debug", "32767")
    return builder


@pytest.mark.parametrize("release", [r for r in RELEASES if r in BRANCHES])
def test_failures_carry_fixes_and_admin_pages_of_the_sites_branch(make_site, release):
    """On each synthetic branch, every failed finding's command sets settings that branch has,
    and a failed setting names the admin page that shows it there."""
    site = make_site(_failing_site(release))
    run = run_scan(ScanContext(site, Policy()))
    failed = [f for f in run.findings if f.status is Status.FAIL]
    by_id = {spec.id: spec for spec in FIXED}
    named = set()
    for finding in failed:
        for part in (finding.fix_command or "").split(" && "):
            if not part:
                continue
            match = CFG.match(part)
            assert match, (finding.check_id, part)
            assert declared(match.group(1), match.group(2), release), (finding.check_id, part)
        spec = by_id.get(finding.check_id)
        if spec is not None and spec.fix is not None:
            page = declared(spec.fix.plugin, spec.fix.name, release)
            assert page is not None and page.admin_path in finding.remediation, finding
            named.add(finding.check_id)
    assert len(named) >= 12, sorted(named)  # most settings checks failed on this site
    if release == "4.1":
        designer = [f for f in failed if f.check_id == "hardening.designer_mode_off"]
        assert designer and "Themes > Theme settings" in designer[0].remediation
        assert "section=themesettings." in designer[0].remediation
    if release in ("4.5", "5.1"):
        assert not [f for f in failed if f.check_id == "hardening.cookies_http_only"]
