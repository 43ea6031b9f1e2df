from __future__ import annotations

import re
from pathlib import Path

import pytest

from moodle_soc.checks import AREAS
from moodle_soc.checks.docs import render_checks_markdown
from moodle_soc.checks.registry import SettingFix, all_checks, check, checks_in
from moodle_soc.results import Severity

DOCS = Path(__file__).resolve().parents[2] / "docs" / "checks.md"


def test_ids_read_area_thing_expected_state():
    for spec in all_checks():
        assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", spec.id), spec.id
        assert not re.search(r"\d", spec.id.split(".", 1)[1]), f"threshold in id: {spec.id}"


def test_every_check_explains_why_and_how_to_fix():
    for spec in all_checks():
        assert spec.rationale, spec.id
        assert spec.remediation.endswith("."), spec.id
        assert spec.title, spec.id


def test_mirrored_moodle_checks_are_refs():
    refs = [s.moodle_check for s in all_checks() if s.moodle_check]
    assert len(refs) == len(set(refs)), "a Moodle check is mirrored twice"
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*_[a-z]+", ref) for ref in refs)


def test_fix_command_is_moodles_cfg_cli():
    fix = SettingFix("passwordpolicy", "1")
    assert fix.command == "php admin/cli/cfg.php --name=passwordpolicy --set=1"
    plugin_fix = SettingFix("loglifetime", "365", "logstore_standard")
    assert plugin_fix.command == (
        "php admin/cli/cfg.php --component=logstore_standard --name=loglifetime --set=365"
    )


@pytest.mark.parametrize("bad_id", ["NoDot", "area.Thing", "area.thing-x", "a.b.c"])
def test_bad_ids_are_refused(bad_id):
    with pytest.raises(ValueError, match="must read"):
        check(bad_id, title="t", severity=Severity.LOW, remediation="Fix.")


def test_a_check_without_docstring_is_refused():
    def undocumented(site, policy):  # type: ignore[no-untyped-def]
        yield from ()

    with pytest.raises(ValueError, match="docstring"):
        check("test.undocumented_ok", title="t", severity=Severity.LOW, remediation="Fix.")(
            undocumented
        )


def test_docs_checks_md_matches_the_code():
    assert DOCS.read_text(encoding="utf-8") == render_checks_markdown(), (
        "docs/checks.md is stale: run moodle-soc checks list --format markdown > docs/checks.md"
    )


def test_an_id_declared_twice_is_refused():
    from types import ModuleType

    def first(scan):  # type: ignore[no-untyped-def]
        """Why."""
        yield from ()

    def second(scan):  # type: ignore[no-untyped-def]
        """Why."""
        yield from ()

    one, two = ModuleType("one"), ModuleType("two")
    one.first = check("test.twice_ok", title="t", severity=Severity.LOW, remediation="Fix.")(first)
    two.second = check("test.twice_ok", title="t", severity=Severity.LOW, remediation="Fix.")(
        second
    )
    with pytest.raises(ValueError, match="declared twice"):
        checks_in([one, two])


def test_every_area_module_declares_checks_and_setting_checks_are_found():
    ids = {spec.id for spec in all_checks()}
    assert "authentication.password_policy_enabled" in ids  # a setting_check declaration
    assert {spec.area for spec in all_checks()} == set(AREAS)
