"""The catalogue tests itself: complete criteria, honest mappings, no dangling references."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from moodle_soc.errors import BadInputError, ExitCode
from moodle_soc.frameworks import Criterion, load_catalogue, load_framework_file

# The permanent check ids. A drift between the catalogue and the checks fails here.
EXPECTED_CHECK_IDS = frozenset(
    {
        "authentication.password_policy_enabled",
        "authentication.password_length_meets_policy",
        "authentication.password_character_classes_required",
        "authentication.password_reuse_limited",
        "authentication.account_lockout_enabled",
        "authentication.mfa_enabled",
        "authentication.mfa_factors_strong",
        "authentication.session_timeout_within_policy",
        "authentication.password_change_logs_out",
        "authentication.usernames_protected",
        "hardening.cookies_http_only",
        "webservices.services_restricted_to_users",
        "webservices.services_file_transfer_limited",
        "authentication.guest_access_disabled",
        "authentication.self_registration_disabled",
        "authentication.auth_plugins_allowed",
        "authentication.auth_none_disabled",
        "authentication.email_change_confirmed",
        "hardening.object_embedding_disabled",
        "hardening.profiles_require_login",
        "hardening.crawlers_not_admitted",
        "hardening.web_cron_protected",
        "hardening.cookies_secure",
        "hardening.wwwroot_uses_https",
        "hardening.frame_embedding_disabled",
        "hardening.executable_paths_locked",
        "hardening.debug_display_off",
        "hardening.debugging_not_developer",
        "hardening.designer_mode_off",
        "hardening.javascript_cached",
        "hardening.statistics_disabled",
        "hardening.antivirus_scanning_enabled",
        "access.site_admin_count_within_policy",
        "access.site_admins_active",
        "access.xss_trusted_users_minimal",
        "access.user_data_backup_restricted",
        "access.default_user_role_safe",
        "access.guest_role_safe",
        "access.frontpage_role_safe",
        "access.system_role_holders_approved",
        "access.role_overrides_not_risky",
        "access.authenticated_role_not_risky",
        "access.role_definitions_match_archetypes",
        "accounts.dormant_accounts_disabled",
        "accounts.never_logged_in_accounts_reviewed",
        "accounts.suspended_users_not_attempting_login",
        "webservices.protocols_allowed",
        "webservices.tokens_ip_restricted",
        "webservices.tokens_expire",
        "webservices.tokens_not_owned_by_admins",
        "webservices.expired_tokens_removed",
        "webservices.tokens_in_use",
        "webservices.token_functions_approved",
        "logging.standard_log_enabled",
        "logging.retention_covers_audit_window",
        "logging.standard_log_enabled_throughout",
        "logging.no_days_without_events",
        "logging.login_patterns_reviewed",
        "logging.admin_new_ips_acknowledged",
        "logging.logs_reviewed_within_cadence",
        "backups.automated_backups_enabled",
        "backups.course_backups_succeeding",
        "operations.cron_running",
        "operations.scheduled_tasks_not_failing",
        "operations.adhoc_queue_healthy",
        "operations.no_long_running_tasks",
        "privacy.dpo_contact_enabled",
        "privacy.site_policy_enforced",
        "privacy.data_requests_handled_timely",
        "identity.privileged_accounts_active",
        "identity.privileged_accounts_use_mfa",
        "identity.leavers_deactivated",
        "reviews.privileged_review_current",
        "reviews.revocations_carried_out",
        "changes.changes_approved",
        "changes.developer_settings_unchanged",
        "changes.staging_matches_production",
        "plugins.core_branch_supported",
        "plugins.no_known_advisories",
        "plugins.additional_plugins_reviewed",
        "web.public_paths_not_served",
        "web.dataroot_not_served",
        "web.tls_current",
        "web.hsts_enabled",
        "web.security_headers_sent",
        "web.php_version_hidden",
        "web.login_https_only",
    }
)


def _tsc_ids() -> tuple[str, ...]:
    """The 61 criteria of the 2017 TSC, in their canonical order."""
    counts = {
        "CC": (5, 3, 4, 2, 3, 8, 5, 1, 2),
        "A": (3,),
        "C": (2,),
        "PI": (5,),
        "P": (1, 1, 2, 3, 2, 7, 1, 1),
    }
    return tuple(
        f"{category}{series}.{point}"
        for category, series_sizes in counts.items()
        for series, size in enumerate(series_sizes, start=1)
        for point in range(1, size + 1)
    )


def _registered_check_ids() -> frozenset[str]:
    """Ids in the check registry; skipped locally (never in CI) while checks are unwritten."""
    try:
        from moodle_soc.checks.registry import all_checks

        return frozenset(spec.id for spec in all_checks())
    except ModuleNotFoundError as exc:
        missing_checks = (exc.name or "").startswith("moodle_soc.checks")
        if missing_checks and os.environ.get("CI") != "true":
            pytest.skip(f"the check registry is not complete yet ({exc.name} is missing)")
        raise


ALL_CRITERIA = [c for framework in load_catalogue().frameworks() for c in framework.criteria]


def test_soc2_lists_all_61_criteria_in_canonical_order() -> None:
    soc2 = load_catalogue().soc2
    assert tuple(c.id for c in soc2.criteria) == _tsc_ids()
    counts = {category: 0 for category in soc2.categories}
    for criterion in soc2.criteria:
        counts[criterion.category] += 1
        assert re.fullmatch(rf"{criterion.category}\d\.\d", criterion.id)
    assert counts == {"CC": 33, "A": 3, "C": 2, "PI": 5, "P": 18}


def test_security_is_always_in_scope_and_the_other_categories_optional() -> None:
    categories = load_catalogue().soc2.categories
    assert {key: category.optional for key, category in categories.items()} == {
        "CC": False,
        "A": True,
        "C": True,
        "PI": True,
        "P": True,
    }


def test_soc1_covers_the_itgc_domains_with_automated_evidence() -> None:
    soc1 = load_catalogue().soc1
    for domain in ("logical_access", "change_management", "computer_operations"):
        objectives = [c for c in soc1.criteria if c.category == domain]
        assert any(c.checks for c in objectives), domain
    assert {"program_development", "physical_environmental"} <= set(soc1.categories)


@pytest.mark.parametrize("criterion", ALL_CRITERIA, ids=lambda c: c.id)
def test_every_criterion_has_checks_or_manual_evidence(criterion: Criterion) -> None:
    assert criterion.checks or criterion.manual_evidence
    assert criterion.owners


def test_every_referenced_evidence_id_is_defined_and_every_definition_used() -> None:
    catalogue = load_catalogue()
    referenced = {e for c in ALL_CRITERIA for e in c.manual_evidence}
    referenced |= {e for item in catalogue.readiness for e in item.evidence}
    assert referenced <= set(catalogue.manual_evidence)
    assert set(catalogue.manual_evidence) <= referenced, "defined but never referenced"
    assert all(key == evidence.id for key, evidence in catalogue.manual_evidence.items())


def test_catalogue_maps_exactly_the_permanent_check_ids() -> None:
    catalogue = load_catalogue()
    assert len(EXPECTED_CHECK_IDS) == 87
    assert catalogue.mapped_check_ids() == EXPECTED_CHECK_IDS
    assert {c for item in catalogue.readiness for c in item.checks} <= EXPECTED_CHECK_IDS


def test_every_check_gives_evidence_for_a_soc2_criterion() -> None:
    soc2_ids = set(_tsc_ids())
    for check_id in EXPECTED_CHECK_IDS:
        assert soc2_ids & set(load_catalogue().criteria_for_check(check_id)), check_id


def test_every_check_the_catalogue_names_is_registered() -> None:
    assert load_catalogue().mapped_check_ids() <= _registered_check_ids()


def test_every_registered_check_is_mapped() -> None:
    assert _registered_check_ids() <= load_catalogue().mapped_check_ids()


def test_criteria_for_check_lists_soc2_before_soc1() -> None:
    catalogue = load_catalogue()
    assert catalogue.criteria_for_check("operations.cron_running") == (
        "A1.1",
        "A1.2",
        "PI1.3",
        "ITGC-CO-01",
    )
    assert catalogue.criteria_for_check("no.such_check") == ()
    for check_id in EXPECTED_CHECK_IDS:
        kinds = [c.startswith("ITGC-") for c in catalogue.criteria_for_check(check_id)]
        assert kinds == sorted(kinds), check_id


def test_readiness_checklist_covers_the_seed_items() -> None:
    catalogue = load_catalogue()
    assert [item.id for item in catalogue.readiness] == [
        "defined_audit_scope",
        "documented_access_policies",
        "formal_change_management",
        "centralized_logging",
        "backup_and_recovery_testing",
        "incident_response_procedures",
        "plugin_and_vendor_risk_reviews",
    ]
    for item in catalogue.readiness:
        for criterion_id in item.criteria:
            catalogue.criterion(criterion_id)  # raises KeyError when unknown


def test_catalogue_version_is_stable_across_loads() -> None:
    first = load_catalogue().version
    load_catalogue.cache_clear()
    assert load_catalogue().version == first
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", first)


def test_catalogue_is_immutable() -> None:
    with pytest.raises(ValidationError):
        setattr(load_catalogue().soc2.criteria[0], "checks", ())  # noqa: B010 - type checkers refuse


USER_FRAMEWORK = """\
id: acme
name: ACME controls
version: "1"
categories:
  SEC: {name: Security}
manual_evidence:
  badge_log: {title: Badge log, description: Door badge log., frequency: monthly}
criteria:
  - id: SEC-1
    category: SEC
    title: Strong passwords
    description: Passwords follow the policy.
    checks: [authentication.password_policy_enabled]
    manual_evidence: [badge_log, access_review_record]
    owners: [client]
"""


def test_a_user_framework_file_may_use_its_own_and_built_in_evidence(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(USER_FRAMEWORK)
    framework = load_framework_file(path)
    assert framework.id == "acme"
    assert framework.criteria[0].manual_evidence == ("badge_log", "access_review_record")
    assert framework.manual_evidence["badge_log"].frequency == "monthly"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("id: [unclosed", "is not valid YAML", id="invalid_yaml"),
        pytest.param("- just a list", "must be a YAML mapping", id="not_a_mapping"),
        pytest.param(
            USER_FRAMEWORK.replace("owners: [client]", "owners: [vendor]"),
            "criteria[SEC-1].owners[0]",
            id="unknown_owner",
        ),
        pytest.param(
            USER_FRAMEWORK.replace("category: SEC", "category: OPS"),
            "unknown category OPS",
            id="unknown_category",
        ),
        pytest.param(
            USER_FRAMEWORK.replace("badge_log, access", "tea_log, access"),
            "unknown manual evidence tea_log",
            id="undefined_evidence",
        ),
        pytest.param(
            USER_FRAMEWORK.replace(
                "checks: [authentication.password_policy_enabled]", "checks: []"
            ).replace("manual_evidence: [badge_log, access_review_record]", "manual_evidence: []"),
            "neither checks nor manual evidence",
            id="criterion_without_support",
        ),
        pytest.param(
            USER_FRAMEWORK + USER_FRAMEWORK[USER_FRAMEWORK.index("  - id: SEC-1") :],
            "lists criteria SEC-1 more than once",
            id="duplicate_criterion",
        ),
        pytest.param(
            USER_FRAMEWORK.replace('version: "1"', 'version: "1"\nname: Again'),
            "found duplicate key 'name'",
            id="duplicate_key",
        ),
        pytest.param(
            USER_FRAMEWORK.replace("authentication.password_policy_enabled", "Password Policy"),
            "criteria[SEC-1].checks[0]",
            id="malformed_check_id",
        ),
        pytest.param(
            USER_FRAMEWORK.replace("frequency: monthly", "frequency: sometimes"),
            "manual_evidence.badge_log.frequency",
            id="unknown_frequency",
        ),
        pytest.param(
            USER_FRAMEWORK.replace("title: Strong passwords", "titel: Strong passwords"),
            "criteria[SEC-1].title: Field required (and 1 more problem)",
            id="misspelt_field",
        ),
        pytest.param(
            USER_FRAMEWORK.replace("owners: [client]", "owners: []"),
            "criterion SEC-1 names no owner",
            id="no_owner",
        ),
        pytest.param(
            USER_FRAMEWORK[: USER_FRAMEWORK.index("  - id: SEC-1")].replace(
                "criteria:", "criteria: []"
            ),
            "framework acme lists no criteria",
            id="no_criteria",
        ),
    ],
)
def test_a_bad_user_framework_file_is_one_clear_sentence(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(BadInputError) as caught:
        load_framework_file(path)
    message = caught.value.message
    assert fragment in message
    assert str(path) in message
    assert message.endswith(".") and "\n" not in message
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_a_missing_user_framework_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"Cannot read framework file .*missing\.yaml"):
        load_framework_file(tmp_path / "missing.yaml")
