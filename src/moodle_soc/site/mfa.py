"""Multi-factor authentication: which factors are enabled and who has enrolled in them.

MFA is the ``tool_mfa`` admin tool, in core since Moodle 4.3 and available before as a
Catalyst plugin with the same storage. Settings live in ``config_plugins`` (``tool_mfa/enabled``,
``factor_<name>/enabled``, ``factor_<name>/weight``); a user is enrolled in a factor when a
``tool_mfa`` row with ``revoked = 0`` exists. The ``secret`` columns are never selected.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

FACTOR_PREFIX = "factor_"
# Moodle's default factor weight: a login passes once enabled factors add up to 100.
DEFAULT_WEIGHT = 100


class Mfa:
    """MFA configuration and enrolment of one site, read from settings and ``tool_mfa``."""

    def __init__(self, site: MoodleSite) -> None:
        self._site = site

    @property
    def available(self) -> bool:
        """Whether the MFA tables exist (core 4.3+, or the tool_mfa plugin on older sites)."""
        return self._site.has_table("tool_mfa")

    @property
    def absent_reason(self) -> str | None:
        """Why this site has no MFA to read (older than 4.3, no plugin), or None when it has."""
        if self._site.version.has("core_mfa") or self.available:
            return None
        return (
            f"{self._site.version.describe()} has no built-in multi-factor authentication (it"
            " arrived in Moodle 4.3) and the tool_mfa plugin is not installed"
        )

    @property
    def enabled(self) -> bool:
        """The master switch ``tool_mfa/enabled``."""
        return self._site.settings.flag("enabled", "tool_mfa")

    @property
    def enabled_setting(self) -> str | None:
        return self._site.settings.get("enabled", "tool_mfa")

    @cached_property
    def installed_factors(self) -> tuple[str, ...]:
        """Factor plugins with a version row, by short name (``totp``, ``email`` ...)."""
        names = self._site.settings.plugin_names(FACTOR_PREFIX)
        return tuple(name[len(FACTOR_PREFIX) :] for name in names)

    @cached_property
    def enabled_factors(self) -> tuple[str, ...]:
        """Installed factors whose ``factor_<name>/enabled`` is on."""
        settings = self._site.settings
        return tuple(
            name
            for name in self.installed_factors
            if settings.flag("enabled", FACTOR_PREFIX + name)
        )

    @cached_property
    def weights(self) -> dict[str, int]:
        """``factor_<name>/weight`` of every enabled factor."""
        settings = self._site.settings
        return {
            name: settings.int("weight", FACTOR_PREFIX + name, default=DEFAULT_WEIGHT)
            for name in self.enabled_factors
        }

    @cached_property
    def enrolled_counts(self) -> dict[str, int]:
        """Per factor, how many distinct users hold a non-revoked ``tool_mfa`` row."""
        table = self._site.db.table("tool_mfa")
        rows = self._site.db.fetch_all(
            sa.select(table.c.factor, sa.func.count(sa.distinct(table.c.userid)).label("users"))
            .where(table.c.revoked == 0)
            .group_by(table.c.factor)
            .order_by(table.c.factor),
            "mfa: users enrolled per factor (non-revoked tool_mfa rows)",
        )
        return {str(row["factor"]): int(row["users"]) for row in rows}

    def factors_within(self, population: sa.Select[Any] | None) -> dict[int, list[str]]:
        """The factors held non-revoked by each user whose id is in ``population`` (a
        one-column SELECT of user ids; None: every user), read in one query joined against it
        in the database. Users without a factor are absent."""
        table = self._site.db.table("tool_mfa")
        statement = sa.select(table.c.userid, table.c.factor).where(table.c.revoked == 0)
        if population is not None:
            statement = statement.where(table.c.userid.in_(population))
        rows = self._site.db.fetch_all(
            statement.distinct().order_by(table.c.userid, table.c.factor),
            "mfa: factors held by the users of a population (non-revoked tool_mfa rows)",
        )
        held: dict[int, list[str]] = {}
        for row in rows:
            held.setdefault(int(row["userid"]), []).append(str(row["factor"]))
        return held
