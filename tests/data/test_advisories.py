"""The shipped advisories, the range grammar, and installing a newer file all or nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from moodle_soc.data.advisories import (
    SHIPPED,
    install_advisories,
    load_advisories,
    parse_range,
    shipped_advisories,
)
from moodle_soc.errors import BadInputError, InvalidFileError, UsageError


def test_the_shipped_file_is_valid_and_sourced() -> None:
    shipped = shipped_advisories()

    assert len(shipped.advisories) == 40
    assert shipped.sources
    for advisory in shipped.advisories:
        assert advisory.source.startswith("https://moodle.org/")
        assert advisory.severity_moodle is None  # Moodle's own rating was not found
        if advisory.severity is not None:
            assert advisory.severity_basis  # where the severity came from


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("4.1 to 4.1.10", ["2022112800", "2022112810.00", "2022112810.05"], ["2022112811"]),
        ("4.4", ["2024042200.00", "2024042200.03"], ["2024042201"]),
        ("before 4.5.9", ["2022112810", "2024100708.02"], ["2024100709", "2025041400"]),
        ("2024010100 to 2024031500", ["2024010100", "2024031500"], ["2024031501"]),
        ("before 2024031500", ["2023010100"], ["2024031500"]),
    ],
)
def test_ranges_cover_what_moodle_means(text: str, inside: list[str], outside: list[str]) -> None:
    span = parse_range(text)
    assert span is not None
    assert all(span.holds(Decimal(v)) for v in inside)
    assert not any(span.holds(Decimal(v)) for v in outside)


def test_a_range_on_an_unknown_branch_is_skipped_and_nonsense_refused() -> None:
    assert parse_range("5.2 to 5.2.3") is None
    for bad in ("4.1 to 4.2.3", "4.1.2 to 4.1.5", "soon", "4.1 -"):
        with pytest.raises(ValueError):
            parse_range(bad)


def _file(tmp_path: Path, updated: str = "2026-12-01", **change: object) -> Path:
    data = yaml.safe_load(shipped_advisories().model_dump_json())
    data["updated"] = updated
    data["advisories"][0].update(change)
    path = tmp_path / "advisories.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_update_installs_a_newer_file(tmp_path: Path) -> None:
    target = tmp_path / "installed" / "advisories.yaml"
    installed = install_advisories(_file(tmp_path, title="Renamed"), target)

    assert installed.origin == str(target)
    assert load_advisories(target).file.advisories[0].title == "Renamed"


def test_update_refuses_an_older_file(tmp_path: Path) -> None:
    target = tmp_path / "installed.yaml"
    with pytest.raises(UsageError, match="before"):
        install_advisories(_file(tmp_path, updated="2020-01-01"), target)
    assert not target.exists()


def test_a_bad_file_is_refused_whole_with_row_level_problems(tmp_path: Path) -> None:
    data = yaml.safe_load(shipped_advisories().model_dump_json())
    for number, advisory in enumerate(data["advisories"]):
        advisory["affected"] = ["4.1 to 4.2.1"]  # every entry wrong
        advisory["id"] = f"MSA-26-{number:04d}"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    target = tmp_path / "installed.yaml"

    with pytest.raises(InvalidFileError) as raised:
        install_advisories(path, target)

    assert len(raised.value.problems) == 40
    assert "advisory 1 (MSA-26-0000) affected" in raised.value.message
    assert "and 20 more problem(s)" in raised.value.message
    assert not target.exists()


def test_not_yaml_and_missing_files_are_bad_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("advisories: [", encoding="utf-8")
    with pytest.raises(BadInputError, match="not valid YAML"):
        install_advisories(broken, tmp_path / "x.yaml")
    with pytest.raises(BadInputError, match="Cannot read"):
        install_advisories(tmp_path / "missing.yaml", tmp_path / "x.yaml")


def test_without_an_installed_file_the_shipped_one_is_in_force(tmp_path: Path) -> None:
    assert load_advisories(tmp_path / "none.yaml").origin == SHIPPED
