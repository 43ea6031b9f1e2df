"""The terminal report: failures first, Moodle data printed literally, readable at 80 columns."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console

from moodle_soc.models.run import AuditRun, Finding
from moodle_soc.reports import render_terminal
from moodle_soc.results import Severity, Status

RunFactory = Callable[..., AuditRun]
FindingFactory = Callable[..., Finding]


def rendered(run: AuditRun, *, verbose: bool = False, **console_options: object) -> str:
    out = io.StringIO()
    options: dict[str, object] = {"width": 80, "no_color": True, **console_options}
    render_terminal(run, Console(file=out, **options), verbose=verbose)  # type: ignore[arg-type]
    return out.getvalue()


def test_header_names_site_version_time_and_catalogue(audit_run: AuditRun) -> None:
    out = rendered(audit_run)

    for expected in (
        "Acme Academy",
        "https://moodle.example.edu",
        "Moodle",
        "4.5 LTS",
        "band 4.3+",
        "2026-11-29 10:30:00 UTC",
        "2017 TSC, 2022 points of focus",
    ):
        assert expected in out


def test_readiness_table_has_every_category_and_the_overall_score(audit_run: AuditRun) -> None:
    out = rendered(audit_run)

    for name in (
        "CC Security",
        "A Availability",
        "C Confidentiality",
        "PI Processing",
        "P Privacy",
    ):
        assert name in out
    assert "76.9%" in out
    assert "Overall" in out and "79.5%" in out


def test_failures_come_first_worst_severity_first(audit_run: AuditRun) -> None:
    out = rendered(audit_run, verbose=True)
    order = [
        "security.debug_display_disabled",  # critical
        "access.site_admins_active",  # high
        "authentication.lockout_enabled",  # medium
        "access.guest_login_disabled",  # low
        "Could not run",
        "operations.scheduled_tasks_running",
        "Passed",
        "authentication.password_min_length",
    ]

    positions = [out.index(text) for text in order]

    assert positions == sorted(positions)
    assert "CRITICAL" in out and "MEDIUM" in out


def test_failures_show_reason_remediation_and_fix_command(audit_run: AuditRun) -> None:
    out = rendered(audit_run)

    assert "Setting debugdisplay is '1' (config.php)" in out
    assert "Fix security.debug_display_disabled in Site administration." in out
    assert "php admin/cli/cfg.php --name=debugdisplay --set=0" in out
    assert "no such column: nextruntime" in out


def test_passes_are_listed_only_when_verbose(audit_run: AuditRun) -> None:
    quiet = rendered(audit_run)
    verbose = rendered(audit_run, verbose=True)

    assert "authentication.password_min_length" not in quiet
    assert "1 manual, 3 passed, 1 not applicable" in quiet
    assert "--verbose" in quiet
    for text in (
        "authentication.password_min_length",
        "governance.risk_assessment_documented",
        "payments.gateway_accounts_reviewed",
    ):
        assert text in verbose


def test_rich_markup_in_moodle_data_prints_literally(audit_run: AuditRun) -> None:
    plain = rendered(audit_run)
    coloured = rendered(audit_run, force_terminal=True, no_color=False, color_system="truecolor")

    assert "Guest account [bold]x[/] can log in." in plain
    assert "user:[bold]x[/]" in plain
    assert "[bold]x[/]" in coloured


def test_no_escape_codes_when_not_a_terminal(audit_run: AuditRun) -> None:
    assert "\x1b" not in rendered(audit_run, verbose=True)
    assert "\x1b" not in rendered(audit_run, no_color=False)


def test_control_characters_from_moodle_are_shown_not_sent(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    hostile = "User evil\x1b[2J\x1b]0;pwned\x07 is odd."
    run = make_run([make_finding("access.odd_user_reviewed", Status.FAIL, reason=hostile)])

    out = rendered(run, force_terminal=True, no_color=False, color_system="truecolor")

    assert "\\x1b[2J" in out and "\\x1b]0;pwned\\x07" in out
    assert "\x1b[2J" not in out and "\x07" not in out


def test_fits_80_columns(audit_run: AuditRun) -> None:
    out = rendered(audit_run, verbose=True)

    assert max(len(line) for line in out.splitlines()) <= 80


def test_a_clean_run_says_so(make_run: RunFactory, make_finding: FindingFactory) -> None:
    run = make_run([make_finding("access.fine_reviewed", Status.PASS, Severity.HIGH)])

    out = rendered(run)

    assert "No failed findings." in out
    assert "1 passed" in out


HOSTILE_NAME = "\x1b[2J\x1b]0;pwned\x07<b>x</b>"


def test_a_hostile_username_and_site_name_render_inert(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    item = make_finding(
        "access.site_admins_active",
        Status.FAIL,
        resource=f"user:{HOSTILE_NAME}",
        reason=f"Site administrator {HOSTILE_NAME} (user:7) never logged in.",
    )
    run = make_run([item])
    run = run.model_copy(update={"site": run.site.model_copy(update={"name": HOSTILE_NAME})})

    plain = rendered(run)
    coloured = rendered(run, force_terminal=True, no_color=False, color_system="truecolor")

    assert "\x1b" not in plain and "\x07" not in plain
    assert "\\x1b[2J\\x1b]0;pwned\\x07<b>x</b>" in plain
    assert "\x07" not in coloured and "\x1b[2J" not in coloured and "\x1b]" not in coloured


def test_a_failing_check_is_one_headline_with_every_resource_and_one_fix(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    """MFA off makes many privileged accounts fail: one problem, its population, one fix."""
    accounts = [
        make_finding(
            "identity.privileged_accounts_use_mfa", Status.FAIL, Severity.HIGH,
            resource=f"user:{uid}", reason=f"Account u{uid} signs in with a password alone.",
            fix_command="php admin/cli/cfg.php --component=tool_mfa --name=enabled --set=1",
        )
        for uid in (2, 3, 4)
    ]  # fmt: skip
    other = make_finding("access.other_ok", Status.FAIL, Severity.LOW)
    out = rendered(make_run([*accounts, other]), width=200)
    assert "Failures: fix these first (2 checks, 4 findings)" in out
    assert "4 failed in 2 checks" in out
    assert out.count("identity.privileged_accounts_use_mfa · Title") == 1
    assert "Title of identity.privileged_accounts_use_mfa (3 resources)" in out
    for uid in (2, 3, 4):
        assert f"user:{uid}: Account u{uid} signs in with a password alone." in out
    assert out.count("Fix identity.privileged_accounts_use_mfa in Site administration.") == 1
    assert out.count("--name=enabled --set=1") == 1
    assert out.index("identity.privileged_accounts_use_mfa") < out.index("access.other_ok")


def test_a_huge_population_prints_twenty_examples_and_the_count(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    """100,000 affected accounts must not print 100,000 lines: 20 examples, then the rest
    counted, with where every finding is (the full population)."""
    failing = [
        make_finding(
            "identity.privileged_accounts_use_mfa", Status.FAIL, Severity.HIGH,
            resource=f"user:{uid}", reason=f"Account u{uid} signs in with a password alone.",
        )
        for uid in range(1, 46)
    ]  # fmt: skip
    passing = [
        make_finding("identity.privileged_accounts_active", Status.PASS, resource=f"user:{uid}")
        for uid in range(1, 26)
    ]
    out = rendered(make_run([*failing, *passing]), verbose=True, width=200)

    assert "Title of identity.privileged_accounts_use_mfa (45 resources)" in out
    assert "user:20: Account u20" in out and "user:21:" not in out
    assert (
        "… and 25 more resources: the full population (--format csv or xlsx) lists every"
        " finding" in out
    )
    assert out.count("identity.privileged_accounts_active · user:") == 20
    assert (
        "… and 5 more resources: the full population (--format csv or xlsx) lists every"
        " finding (identity.privileged_accounts_active)" in out
    )


def test_errors_list_twenty_per_check_and_count_the_rest(
    make_run: RunFactory, make_finding: FindingFactory
) -> None:
    errors = [
        make_finding("logging.log_kept", Status.ERROR, resource=f"table:{n}") for n in range(23)
    ]
    out = rendered(make_run(errors), width=200)

    assert "Could not run (23)" in out
    assert out.count("logging.log_kept · table:") == 20
    assert (
        "… and 3 more resources: the full population (--format csv or xlsx) lists every"
        " finding" in out
    )


def test_an_incomplete_scan_opens_with_a_banner_and_the_grants(audit_run: AuditRun) -> None:
    from moodle_soc.models.run import Incomplete

    grants = ("GRANT SELECT ON mdl_task_scheduled TO ro;", "GRANT SELECT ON mdl_user TO ro;")
    run = audit_run.model_copy(
        update={
            "incomplete": Incomplete(
                unreadable_tables=("mdl_task_scheduled", "mdl_user"), grants=grants
            )
        }
    )
    out = " ".join(rendered(run, width=200).split())

    assert (
        "This scan is incomplete: 2 tables could not be read (mdl_task_scheduled, mdl_user),"
        " so the checks that need them are errors. Grant read access and scan again:"
        f" {grants[0]} {grants[1]}"
    ) in out
    assert "incomplete" not in rendered(audit_run)
