"""Moodle versions: which release a ``config.version`` number belongs to, and its band.

A stable release N occupies ``[base, base + 100)`` in Moodle's ``YYYYMMDDRR.XX`` numbering, so
a version maps to the highest release base not above it. Features are still detected from the
schema, never inferred from the number alone (the 4.x upgrade script renumbered 3.10/3.11).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from moodle_soc.errors import NotMoodleError, UnsupportedVersionError

# (base version, release label, branch, LTS)
RELEASES: tuple[tuple[int, str, str, bool], ...] = (
    (2020061500, "3.9", "39", True),
    (2020110900, "3.10", "310", False),
    (2021051700, "3.11", "311", False),
    (2022041900, "4.0", "400", False),
    (2022112800, "4.1", "401", True),
    (2023042400, "4.2", "402", False),
    (2023100900, "4.3", "403", False),
    (2024042200, "4.4", "404", False),
    (2024100700, "4.5", "405", True),
    (2025041400, "5.0", "500", False),
    (2025100600, "5.1", "501", False),
)
OLDEST_SUPPORTED = RELEASES[0][0]

BANDS = (("3.9-3.11", 2020061500), ("4.0-4.2", 2022041900), ("4.3+", 2023100900))

# Core features that arrived in a known release (used where the schema cannot tell).
FEATURES: dict[str, int] = {
    "check_api": 2020061500,
    "payments": 2020110900,
    "core_mfa": 2023100900,
    "token_names": 2023100900,
    "sha512_passwords": 2023100900,
    "long_running_task_check": 2023100900,
}


@dataclass(frozen=True)
class MoodleVersion:
    version: Decimal
    release: str
    branch: str
    label: str  # e.g. "4.1", "5.1"
    band: str  # "3.9-3.11", "4.0-4.2" or "4.3+"
    lts: bool

    @property
    def build(self) -> int:
        return int(self.version)

    def has(self, feature: str) -> bool:
        """Whether Moodle core at this version ships ``feature`` (see ``FEATURES``)."""
        return self.build >= FEATURES[feature]

    def at_least(self, label: str) -> bool:
        return self.build >= _base_of(label)

    def describe(self) -> str:
        lts = " LTS" if self.lts else ""
        return f"Moodle {self.label}{lts} ({self.release}, version {self.version})"


def _base_of(label: str) -> int:
    for base, name, _branch, _lts in RELEASES:
        if name == label:
            return base
    raise KeyError(label)


def classify(version_text: str | None, release: str | None, branch: str | None) -> MoodleVersion:
    """Turn the ``config`` rows version/release/branch into a MoodleVersion, or refuse."""
    if version_text is None or not version_text.strip():
        raise NotMoodleError("The config table has no 'version' row: this is not a Moodle site.")
    try:
        version = Decimal(version_text.strip())
    except InvalidOperation:
        raise NotMoodleError(
            f"The config 'version' value {version_text.strip()[:30]!r} is not a Moodle version."
        ) from None
    build = int(version)
    if build < OLDEST_SUPPORTED:
        shown = release or str(version)
        raise UnsupportedVersionError(
            f"Moodle {shown} (version {version}) is older than 3.9, the oldest release"
            " moodle-soc supports."
        )
    _base, label, code, lts = max(r for r in RELEASES if r[0] <= build)
    band = max((b for b in BANDS if b[1] <= build), key=lambda b: b[1])[0]
    return MoodleVersion(
        version=version,
        release=release or label,
        branch=branch or code,
        label=label,
        band=band,
        lts=lts,
    )
