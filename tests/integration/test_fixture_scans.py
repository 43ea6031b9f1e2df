"""End-to-end scans of the three real Moodle sites find their documented weaknesses.

Each site is scanned twice: in-process through ``run_scan`` and through the ``moodle-soc`` CLI
(``--config`` with a rewritten config.php, ``--format json``). Both must report the same
verdicts. Resources that depend on ids (users, tokens, overrides) are looked up in the restored
database with a separate administrator connection, never copied from the tool's output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from moodle_soc.policy import Policy

from .conftest import Scans, readonly_user, restored
from .fixtures import (
    FIXTURE_SITES,
    HARDENED,
    LEGACY,
    WEAK,
    FixtureSite,
    RestoredSite,
    describe,
    run_cli,
)

pytestmark = pytest.mark.integration

STATUSES = {"pass", "fail", "manual", "not_applicable", "error"}
SOURCES = ("run_scan", "cli")
POLICY = Policy()
DAY = 86400


def _report(request: pytest.FixtureRequest, fixture: FixtureSite, source: str) -> dict[str, Any]:
    scans: Scans = request.getfixturevalue("scans")
    site = restored(request, fixture)
    if source == "run_scan":
        data: dict[str, Any] = scans.run(site).expanded()
        return data
    scan = scans.cli(site, "config-json", readonly_user(request, site))
    assert scan.done.returncode == 0, describe(scan.done)
    return scan.json()


@dataclass(frozen=True)
class Expect:
    """A finding the scan must contain: check, status, resource and words of its reason."""

    check: str
    status: str
    resource: str | None = None
    words: tuple[str, ...] = ()
    severity: str | None = None

    def verify(self, report: dict[str, Any]) -> None:
        findings = [f for f in report["findings"] if f["check_id"] == self.check]
        assert findings, f"{self.check}: no finding (known checks: {_ids(report)})"
        if self.resource is not None:
            found = [f for f in findings if f["resource"] == self.resource]
            assert found, f"{self.check}: no finding on {self.resource}: {_brief(findings)}"
            findings = found
        summary = next(c for c in report["checks"] if c["id"] == self.check)
        if self.status == "pass":  # a pass is a pass of every finding of the check
            assert summary["status"] == "pass", f"{self.check}: {_brief(findings)}"
        assert any(f["status"] == self.status for f in findings), (
            f"{self.check} on {self.resource or 'site'}: expected {self.status}: {_brief(findings)}"
        )
        chosen = [f for f in findings if f["status"] == self.status]
        for word in self.words:
            pattern = re.compile(rf"(?<![\w.]){re.escape(word)}(?!\w)", re.I)
            assert any(pattern.search(f["reason"]) for f in chosen), (
                f"{self.check}: reason does not name {word!r}: {_brief(chosen)}"
            )
        if self.severity is not None:
            assert {f["severity"] for f in chosen} == {self.severity}, _brief(chosen)


def _ids(report: dict[str, Any]) -> list[str]:
    return sorted({f["check_id"] for f in report["findings"]})


def _brief(findings: list[dict[str, Any]]) -> str:
    return "; ".join(f"[{f['status']} {f['resource']}] {f['reason']}" for f in findings[:6])


def _verify(report: dict[str, Any], expectations: list[Expect]) -> None:
    problems = []
    for expect in expectations:
        try:
            expect.verify(report)
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def _usernames(site: RestoredSite, ids: list[int]) -> list[str]:
    rows = site.rows("SELECT id, username FROM {p}user")
    by_id = {int(r["id"]): str(r["username"]) for r in rows}
    return [by_id[i] for i in ids]


def _site_admin_ids(site: RestoredSite) -> list[int]:
    value = str(site.scalar("SELECT value FROM {p}config WHERE name = 'siteadmins'"))
    return [int(item) for item in value.split(",") if item.strip()]


# --- every finding of every fixture ------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_every_finding_is_well_formed(
    request: pytest.FixtureRequest, fixture: FixtureSite, source: str
) -> None:
    report = _report(request, fixture, source)
    assert report["findings"], "the scan produced no findings"
    bad = []
    for f in report["findings"]:
        if f["status"] not in STATUSES:
            bad.append(f"{f['check_id']}: status {f['status']!r}")
        if not f["reason"].endswith("."):
            bad.append(
                f"{f['check_id']}: reason is not a sentence ending with '.': {f['reason']!r}"
            )
        if not f["criteria"]:
            bad.append(f"{f['check_id']}: no criteria")
        if not f["resource"]:
            bad.append(f"{f['check_id']}: no resource")
    assert not bad, "\n".join(bad)
    assert report["site"]["prefix"] == fixture.prefix
    assert report["audit_time"].startswith(fixture.as_of[:19])


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_no_check_errors_on_a_real_site(
    request: pytest.FixtureRequest, fixture: FixtureSite
) -> None:
    """A real, complete Moodle database leaves no check unable to decide."""
    report = _report(request, fixture, "run_scan")
    errors = [f for f in report["findings"] if f["status"] == "error"]
    assert not errors, _brief(errors)


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_cli_and_in_process_scans_agree(
    request: pytest.FixtureRequest, fixture: FixtureSite
) -> None:
    in_process = _report(request, fixture, "run_scan")
    cli = _report(request, fixture, "cli")

    def verdicts(report: dict[str, Any]) -> dict[str, str]:
        return {c["id"]: c["status"] for c in report["checks"]}

    def keyed(report: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {(f["check_id"], f["resource"], f["status"]) for f in report["findings"]}

    assert verdicts(cli) == verdicts(in_process)
    assert keyed(cli) == keyed(in_process)


def test_check_ids_match_the_catalogue_listing(
    request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    """The ids these tests use are the ones ``moodle-soc checks list`` publishes."""
    listed = run_cli("checks", "list", "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, describe(listed)
    known = {row["id"] for row in json.loads(listed.stdout)}
    report = _report(request, WEAK, "run_scan")
    assert {c["id"] for c in report["checks"]} == known


# --- the weak site (5.1, PostgreSQL) -----------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_weak_site_weaknesses_are_found(request: pytest.FixtureRequest, source: str) -> None:
    site = restored(request, WEAK)
    report = _report(request, WEAK, source)
    now = int(WEAK.audit_time.timestamp())

    admins = _site_admin_ids(site)
    admin_names = _usernames(site, admins)
    generic = [name for name in admin_names if name != "admin"]
    assert len(admins) == 4 and len(generic) == 3, admin_names
    support = site.scalar("SELECT id FROM {p}user WHERE username = 'support' AND deleted = 0")
    manager_at_system = site.rows(
        "SELECT ra.userid FROM {p}role_assignments ra JOIN {p}role r ON r.id = ra.roleid"
        " JOIN {p}context c ON c.id = ra.contextid"
        " WHERE r.shortname = 'manager' AND c.contextlevel = 10 AND ra.userid = :u",
        u=support,
    )
    assert manager_at_system, "fixture changed: support no longer manager at system level"
    open_tokens = [
        int(r["id"])
        for r in site.rows(
            "SELECT id FROM {p}external_tokens WHERE (iprestriction IS NULL OR iprestriction = '')"
            " AND (validuntil IS NULL OR validuntil = 0 OR validuntil >= :now)",  # expired: refused
            now=now,
        )
    ]
    assert open_tokens
    risky_override = site.scalar(
        "SELECT rc.id FROM {p}role_capabilities rc JOIN {p}context c ON c.id = rc.contextid"
        " WHERE c.contextlevel <> 10 AND rc.permission = 1"
        " AND rc.capability = 'moodle/site:trustcontent'"
    )
    assert risky_override is not None
    dormant = [
        str(r["username"])
        for r in site.rows(
            "SELECT username FROM {p}user WHERE deleted = 0 AND suspended = 0"
            " AND auth <> 'nologin' AND lastaccess > 0 AND lastaccess < :before",
            before=now - POLICY.dormant_days * DAY,
        )
    ]
    # The installer leaves admin's timecreated 0: it is as old as the site (the front page).
    installed = site.scalar("SELECT timecreated FROM {p}course WHERE id = 1")
    never = [
        str(r["username"])
        for r in site.rows(
            "SELECT username FROM {p}user WHERE deleted = 0 AND suspended = 0"
            " AND auth <> 'nologin' AND username <> 'guest' AND lastaccess = 0"
            " AND (CASE WHEN timecreated = 0 THEN :installed ELSE timecreated END) < :before",
            before=now - POLICY.never_logged_in_grace_days * DAY,
            installed=installed,
        )
    ]
    assert dormant and never

    _verify(
        report,
        [
            Expect("authentication.password_policy_enabled", "fail", "setting:passwordpolicy"),
            Expect(
                "authentication.password_length_meets_policy",
                "fail",
                "setting:minpasswordlength",
                ("4",),
            ),
            Expect(
                "authentication.self_registration_disabled",
                "fail",
                "setting:registerauth",
                ("email",),
            ),
            Expect(
                "access.site_admin_count_within_policy",
                "fail",
                "setting:siteadmins",
                ("4", *generic),
            ),
            Expect(
                "access.system_role_holders_approved", "manual", f"user:{support}", ("support",)
            ),
            Expect("accounts.dormant_accounts_disabled", "fail", None, tuple(dormant[:5])),
            Expect("accounts.never_logged_in_accounts_reviewed", "fail", None, tuple(never[:5])),
            *[
                Expect("webservices.tokens_ip_restricted", "fail", f"token:{t}")
                for t in open_tokens
            ],
            Expect("access.role_overrides_not_risky", "fail", f"role_override:{risky_override}"),
            Expect("webservices.protocols_allowed", "pass", "plugin:webservice_rest", ("rest",)),
            Expect(
                "logging.retention_covers_audit_window",
                "fail",
                "setting:logstore_standard/loglifetime",
                ("30", "365"),
            ),
            Expect("operations.cron_running", "fail", "site", severity="high"),
            Expect("hardening.debugging_not_developer", "fail", "setting:debug"),
            Expect("hardening.debug_display_off", "fail", "setting:debugdisplay"),
            Expect("hardening.frame_embedding_disabled", "fail", "setting:allowframembedding"),
            Expect("hardening.cookies_secure", "fail", "setting:cookiesecure"),
            Expect(
                "authentication.session_timeout_within_policy",
                "fail",
                "setting:sessiontimeout",
                ("604800",),
            ),
            Expect("hardening.crawlers_not_admitted", "fail", "setting:opentowebcrawlers"),
            Expect(
                "authentication.email_change_confirmed", "fail", "setting:emailchangeconfirmation"
            ),
            Expect("authentication.mfa_enabled", "fail"),
        ],
    )
    # Web services are on, with REST: the evidence the protocol check keeps.
    protocols = next(
        f for f in report["findings"] if f["check_id"] == "webservices.protocols_allowed"
    )
    assert str(protocols["observed"].get("enablewebservices")) == "1", protocols["observed"]
    dormant_seen = next(
        f for f in report["findings"] if f["check_id"] == "accounts.dormant_accounts_disabled"
    )
    assert dormant_seen["observed"].get("dormant") == len(dormant), dormant_seen["observed"]


# --- the hardened site (5.1, MariaDB) ----------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_hardened_site_controls_pass(request: pytest.FixtureRequest, source: str) -> None:
    site = restored(request, HARDENED)
    report = _report(request, HARDENED, source)
    tokens = [int(r["id"]) for r in site.rows("SELECT id FROM {p}external_tokens")]
    assert tokens
    assert len(_site_admin_ids(site)) == 1
    _verify(
        report,
        [
            Expect("authentication.mfa_enabled", "pass", None, ("totp",)),
            Expect("authentication.mfa_factors_strong", "fail", None, ("totp", "email")),
            Expect("authentication.account_lockout_enabled", "pass", None, ("5",)),
            Expect("authentication.password_length_meets_policy", "pass", None, ("14",)),
            Expect("authentication.password_reuse_limited", "pass", None, ("5",)),
            Expect(
                "authentication.session_timeout_within_policy",
                "pass",
                "setting:sessiontimeout",
                ("7200",),
            ),
            Expect("hardening.profiles_require_login", "pass"),
            Expect("access.site_admin_count_within_policy", "pass", "setting:siteadmins", ("1",)),
            *[Expect("webservices.tokens_ip_restricted", "pass", f"token:{t}") for t in tokens],
            *[Expect("webservices.tokens_expire", "pass", f"token:{t}") for t in tokens],
            Expect("logging.retention_covers_audit_window", "pass", None, ("365",)),
            Expect("backups.automated_backups_enabled", "pass"),
            Expect("backups.course_backups_succeeding", "pass"),
            Expect("privacy.dpo_contact_enabled", "pass"),
            Expect("privacy.site_policy_enforced", "pass"),
            Expect(
                "hardening.wwwroot_uses_https", "pass", None, ("https://hardened.example.test",)
            ),
        ],
    )


# --- the legacy site (4.1, PostgreSQL, prefix m41_) --------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_legacy_site_drift_is_found(request: pytest.FixtureRequest, source: str) -> None:
    site = restored(request, LEGACY)
    report = _report(request, LEGACY, source)
    info = report["site"]
    assert info["moodle_label"] == "4.1", info
    assert info["moodle_band"] == "4.0-4.2", info
    assert info["moodle_version"].startswith("2022112810"), info
    assert info["prefix"] == "m41_"
    admins = _usernames(site, _site_admin_ids(site))
    assert len(admins) == 2
    _verify(
        report,
        [
            Expect("authentication.mfa_enabled", "manual", None, ("identity provider",)),
            Expect("authentication.auth_none_disabled", "fail", "setting:auth", ("none",)),
            Expect("hardening.object_embedding_disabled", "fail", "setting:allowobjectembed"),
            Expect("hardening.designer_mode_off", "fail", "setting:themedesignermode"),
            Expect("hardening.javascript_cached", "fail", "setting:cachejs"),
            Expect("hardening.statistics_disabled", "fail", "setting:enablestats"),
            Expect("logging.standard_log_enabled", "fail", "setting:tool_log/enabled_stores"),
            Expect("hardening.cookies_secure", "fail", "setting:cookiesecure"),
            Expect("access.site_admin_count_within_policy", "pass", "setting:siteadmins", ("2",)),
        ],
    )
    count = next(
        f for f in report["findings"] if f["check_id"] == "access.site_admin_count_within_policy"
    )
    assert sorted(count["observed"]["usernames"]) == sorted(admins)
    mfa = next(f for f in report["findings"] if f["check_id"] == "authentication.mfa_enabled")
    assert "4.3" in mfa["reason"], mfa["reason"]


@pytest.mark.parametrize("fixture", [WEAK, LEGACY], ids=lambda f: f.key)
def test_failed_logins_of_suspended_users_are_decoded(
    request: pytest.FixtureRequest, fixture: FixtureSite
) -> None:
    """The log's ``other`` column is PHP-serialized on legacy (and mixed elsewhere): the
    failure reason (2 = suspended) must be decoded from it, not guessed."""
    site = restored(request, fixture)
    since = int(fixture.audit_time.timestamp()) - POLICY.suspended_login_window_days * DAY
    rows = site.rows(
        "SELECT l.userid, l.other FROM {p}logstore_standard_log l"
        " JOIN {p}user u ON u.id = l.userid"
        " WHERE l.eventname = :event AND u.suspended = 1 AND u.deleted = 0"
        " AND l.timecreated >= :since",
        event="\\core\\event\\user_login_failed",
        since=since,
    )
    report = _report(request, fixture, "run_scan")
    findings = [
        f
        for f in report["findings"]
        if f["check_id"] == "accounts.suspended_users_not_attempting_login"
    ]
    if not rows:
        assert {f["status"] for f in findings} == {"pass"}, _brief(findings)
        return
    suspended_reason = re.compile(r'"reason"(?:;i:|\s*:\s*)2\b')
    refused = sum(1 for r in rows if suspended_reason.search(str(r["other"] or "")))
    assert refused, "fixture changed: no failed login refused as suspended"
    for userid in {int(r["userid"]) for r in rows}:
        Expect("accounts.suspended_users_not_attempting_login", "fail", f"user:{userid}").verify(
            report
        )
    summary = next(f for f in findings if f["resource"] == "site")
    assert summary["observed"].get("reason_suspended") == refused, summary


def test_wrong_prefix_on_the_legacy_site_suggests_m41(
    request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    site = restored(request, LEGACY)
    done = run_cli(
        "scan", "--db", site.url(), "--prefix", "mdl_", "--as-of", LEGACY.as_of, cwd=tmp_path
    )
    assert done.returncode == 4, describe(done)
    assert "m41_" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
