"""The shipped branch, release and standard-plugin data, and the version arithmetic on it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from moodle_soc.data.releases import (
    branch_of,
    branches,
    latest_release,
    release_name,
    release_version,
    removed_plugins,
    standard_plugins,
)


def test_every_branch_from_3_9_to_5_1_has_support_dates() -> None:
    shipped = branches()

    assert list(shipped) == [
        "3.9",
        "3.10",
        "3.11",
        "4.0",
        "4.1",
        "4.2",
        "4.3",
        "4.4",
        "4.5",
        "5.0",
        "5.1",
    ]
    for branch in shipped.values():
        assert branch.released < branch.general_support_end <= branch.security_support_end
    assert shipped["4.1"].security_support_end == date(2025, 12, 8)
    assert shipped["3.9"].security_support_end == date(2023, 12, 11)
    assert shipped["4.5"].lts and not shipped["5.1"].lts


@pytest.mark.parametrize(
    ("version", "name"),
    [
        ("2022112810.00", "4.1.10"),
        ("2022112810.03", "4.1.10+"),
        ("2025100600.02", "5.1+"),
        ("2024100712.05", "4.5.12+"),
        ("2020061500", "3.9"),
    ],
)
def test_a_version_names_its_release(version: str, name: str) -> None:
    assert release_name(version) == name


def test_a_release_names_its_version() -> None:
    assert release_version("4.1.11") == 2022112811
    assert release_version("4.4") == 2024042200
    assert release_version("5.2.1") is None  # newer than the shipped data
    with pytest.raises(ValueError, match="not a Moodle release"):
        release_version("four")


def test_branch_of_and_latest_release() -> None:
    branch = branch_of(Decimal("2022112810.00"))
    assert branch is not None and branch.branch == "4.1"
    assert branch_of(2019111800) is None
    latest = latest_release("4.1", date(2024, 6, 1))
    assert latest is not None and latest.release == "4.1.10"


def test_standard_lists_tell_core_from_additional_plugins() -> None:
    assert "mod_forum" in standard_plugins("5.1")
    assert "tool_mfa" in standard_plugins("4.3") and "tool_mfa" not in standard_plugins("4.1")
    assert "local_reports" not in standard_plugins("5.1")
    assert "mod_chat" in removed_plugins("5.0")
    assert standard_plugins("9.9") == frozenset()
