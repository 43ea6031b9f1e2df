from decimal import Decimal

import pytest

from moodle_soc.errors import NotMoodleError, UnsupportedVersionError
from moodle_soc.site.version import classify


@pytest.mark.parametrize(
    ("version", "release", "label", "band", "lts"),
    [
        ("2020061500.00", "3.9 (Build: 20200615)", "3.9", "3.9-3.11", True),
        ("2020110900.03", "3.10.3", "3.10", "3.9-3.11", False),
        ("2021051718.00", "3.11.18", "3.11", "3.9-3.11", False),
        ("2021052500.42", "4.0dev", "3.11", "3.9-3.11", False),
        ("2022041900.00", "4.0", "4.0", "4.0-4.2", False),
        ("2022112810.00", "4.1.10 (Build: 20240422)", "4.1", "4.0-4.2", True),
        ("2023042400.00", "4.2", "4.2", "4.0-4.2", False),
        ("2023100900.00", "4.3", "4.3", "4.3+", False),
        ("2024042200.00", "4.4", "4.4", "4.3+", False),
        ("2024100712.05", "4.5.12+", "4.5", "4.3+", True),
        ("2025041400.00", "5.0", "5.0", "4.3+", False),
        ("2025100600.02", "5.1+ (Build: 20251017)", "5.1", "4.3+", False),
    ],
)
def test_versions_map_to_release_and_band(version, release, label, band, lts):
    result = classify(version, release, None)
    assert (result.label, result.band, result.lts) == (label, band, lts)
    assert result.version == Decimal(version)
    assert label in result.describe()


def test_core_mfa_arrives_in_4_3():
    assert not classify("2023042400.00", None, None).has("core_mfa")
    assert classify("2023100900.00", None, None).has("core_mfa")


def test_older_than_3_9_is_refused():
    with pytest.raises(UnsupportedVersionError, match=r"older than 3\.9"):
        classify("2019111800.00", "3.8", None)


@pytest.mark.parametrize("value", [None, "", "banana"])
def test_missing_or_garbage_version_is_not_moodle(value):
    with pytest.raises(NotMoodleError):
        classify(value, None, None)
