"""The shipped frameworks: complete, mapped only to checks that exist, resolved by id or path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moodle_soc.checks.registry import all_checks
from moodle_soc.errors import BadInputError, ExitCode, UsageError
from moodle_soc.frameworks import (
    Framework,
    builtin_framework,
    builtin_frameworks,
    builtin_ids,
    resolve_framework,
    resolve_frameworks,
)

CHECK_IDS = frozenset(spec.id for spec in all_checks())
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "moodle_soc" / "frameworks"


def _annex_a_ids() -> list[str]:
    """The 93 controls of ISO/IEC 27001:2022 Annex A: 37 organizational, 8 people,
    14 physical, 34 technological."""
    themes = ((5, 37), (6, 8), (7, 14), (8, 34))
    return [f"A.{theme}.{n}" for theme, size in themes for n in range(1, size + 1)]


def test_the_built_in_frameworks_in_order() -> None:
    assert builtin_ids() == ("soc2", "soc1", "iso27001", "nist-800-53")


@pytest.mark.parametrize("framework", builtin_frameworks(), ids=lambda f: f.id)
def test_every_mapped_check_exists(framework: Framework) -> None:
    assert framework.check_ids() <= CHECK_IDS
    assert framework.check_ids(), "a framework no check evidences is not worth shipping"


@pytest.mark.parametrize("framework", builtin_frameworks(), ids=lambda f: f.id)
def test_every_requirement_has_support_an_owner_and_a_known_category(framework: Framework) -> None:
    for criterion in framework.criteria:
        assert criterion.checks or criterion.manual_evidence, criterion.id
        assert criterion.owners, criterion.id
        assert criterion.category in framework.categories, criterion.id
    assert sum(framework.coverage().values()) == len(framework.criteria)


def test_iso27001_lists_the_93_annex_a_controls_in_order() -> None:
    iso = builtin_framework("iso27001")
    assert [c.id for c in iso.criteria] == _annex_a_ids()
    assert {c.id.rsplit(".", 1)[0] for c in iso.criteria} == set(iso.categories)
    assert all(c.id.startswith(f"{c.category}.") for c in iso.criteria)
    assert iso.coverage() == {"automated": 3, "partly": 33, "manual": 57}
    assert "ISO/IEC 27001:2022" in iso.source


def test_iso27001_physical_controls_rest_on_the_hosting_provider() -> None:
    iso = builtin_framework("iso27001")
    physical = [c for c in iso.criteria if c.category == "A.7"]
    assert len(physical) == 14
    hosted = [c for c in physical if c.owners == ("hosting",)]
    assert len(hosted) == 11 and all(not c.checks for c in hosted)


def test_nist_covers_the_families_our_checks_evidence() -> None:
    nist = builtin_framework("nist-800-53")
    families = {c.category for c in nist.criteria}
    assert {"AC", "AU", "CM", "CP", "IA", "SC", "SI"} <= families
    for criterion in nist.criteria:
        assert re.fullmatch(r"[A-Z]{2}-\d+(\(\d+\))?", criterion.id), criterion.id
        assert criterion.id.startswith(f"{criterion.category}-")
    # Each family's policy control is there, honestly manual.
    for family in nist.categories:
        policy = [c for c in nist.criteria if c.id == f"{family}-1"]
        assert not policy or policy[0].coverage == "manual"
    assert nist.coverage() == {"automated": 26, "partly": 23, "manual": 13}
    assert "doi.org/10.6028/NIST.SP.800-53r5" in nist.source


def test_every_check_gives_evidence_for_some_iso_and_some_nist_requirement() -> None:
    for framework_id in ("iso27001", "nist-800-53"):
        assert builtin_framework(framework_id).check_ids() == CHECK_IDS, framework_id


def test_a_framework_resolves_by_id_or_path(tmp_path: Path) -> None:
    assert resolve_framework("iso27001").id == "iso27001"
    assert resolve_framework(SHIPPED / "nist-800-53.yaml", CHECK_IDS).id == "nist-800-53"
    copy = tmp_path / "mine.yaml"
    copy.write_bytes((SHIPPED / "iso27001.yaml").read_bytes().replace(b"id: iso27001", b"id: mine"))
    assert resolve_framework(str(copy), CHECK_IDS).id == "mine"
    bare = tmp_path / "mine"  # no extension: still a file, not an id
    bare.write_bytes(copy.read_bytes())
    assert resolve_framework(str(bare), CHECK_IDS).id == "mine"


def test_an_unknown_framework_id_names_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        resolve_framework("iso9001")
    assert caught.value.message == (
        "Unknown framework 'iso9001'; give one of soc2, soc1, iso27001, nist-800-53"
        " or the path of a framework file."
    )
    assert caught.value.exit_code == ExitCode.USAGE


def test_a_missing_framework_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"Cannot read framework file .*nope\.yaml"):
        resolve_framework(str(tmp_path / "nope.yaml"))


def test_the_same_framework_twice_is_refused() -> None:
    with pytest.raises(UsageError, match=r"Framework 'soc2' is given twice\."):
        resolve_frameworks(["soc2", "iso27001", "soc2"])


@pytest.mark.parametrize("framework", builtin_frameworks(), ids=lambda f: f.id)
def test_every_built_in_framework_names_its_source(framework: Framework) -> None:
    assert framework.source
