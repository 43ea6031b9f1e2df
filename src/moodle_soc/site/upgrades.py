"""``upgrade_log``: Moodle's own record of each core and plugin installation and upgrade.

Moodle writes "Starting plugin upgrade" (with the version in the database before), then
savepoints, then "Plugin upgraded" (with the new version); installations say "installed", core
says "Core upgraded" / "Core installed" with plugin ``core``. Moodle never logs an uninstall
here, and cannot downgrade, so removals only show between two stored scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.site.populations import Window

CORE_INSTALLED = "Core installed"
DONE = ("Core installed", "Core upgraded", "Plugin installed", "Plugin upgraded")
STARTING = ("Starting core upgrade", "Starting plugin upgrade", "Starting plugin installation")
ERROR_TYPE = 2
#: The installer writes upgrade_log continuously; a pause this long ends the installation.
INSTALL_GAP_SECONDS = 60


@dataclass(frozen=True)
class Installation:
    """Moodle's own installation on this database: when, which version, how many plugins."""

    at: int  # 'Core installed'
    ended_at: int  # the last plugin installed with it
    version: str
    plugins: int


@dataclass(frozen=True)
class UpgradeEvent:
    id: int
    time: int
    component: str  # "core" or the plugin
    action: str  # "installed" or "upgraded"
    old_version: str | None
    new_version: str | None
    userid: int
    username: str | None


class Upgrades:
    def __init__(self, site: MoodleSite) -> None:
        self.db = site.db

    @property
    def available(self) -> bool:
        return self.db.has_table("upgrade_log")

    @cached_property
    def installation(self) -> Installation | None:
        """The first 'Core installed' and the plugin installations that followed it without
        a pause; None when upgrade_log has no installation (a site installed before it)."""
        if not self.available:
            return None
        log = self.db.table("upgrade_log")
        core = self.db.fetch_one(
            sa.select(log.c.timemodified, log.c.version)
            .where(log.c.plugin == "core", log.c.info == CORE_INSTALLED)
            .order_by(log.c.id)
            .limit(1),
            "upgrade_log: the core installation",
        )
        if core is None:
            return None
        start = int(core["timemodified"])
        rows = self.db.fetch_all(
            sa.select(log.c.timemodified, log.c.info)
            .where(log.c.timemodified >= start, log.c.timemodified < start + 86400)
            .order_by(log.c.timemodified, log.c.id),
            "upgrade_log: rows of the installation day",
        )
        ended, plugins = start, 0
        for row in rows:
            time = int(row["timemodified"])
            if time - ended > INSTALL_GAP_SECONDS:
                break
            ended = time
            plugins += row["info"] == "Plugin installed"
        return Installation(start, ended, str(core["version"] or ""), plugins)

    def events(self, window: Window) -> list[UpgradeEvent]:
        """Installs and upgrades finished in ``window`` (the installation itself excluded),
        each with the version the database had before."""
        if not self.available:
            return []
        log, user = self.db.table("upgrade_log"), self.db.table("user")
        rows = self.db.fetch_all(
            sa.select(*log.c, user.c.username)
            .select_from(log.outerjoin(user, user.c.id == log.c.userid))
            .where(
                window.holds(log.c.timemodified),
                log.c.info.in_((*DONE, *STARTING)),
                log.c.type != ERROR_TYPE,
            )
            .order_by(log.c.id),
            "upgrade_log: installs and upgrades in the period",
        )
        install = self.installation
        before: dict[str, Any] = {}
        events = []
        for row in rows:
            component = str(row["plugin"] or "core")
            if component == "moodle":
                component = "core"
            if row["info"] in STARTING:
                before[component] = row["version"]
                continue
            time = int(row["timemodified"])
            if install is not None and install.at <= time <= install.ended_at:
                continue  # part of the installation, reported as one change
            action = "installed" if "installed" in str(row["info"]) else "upgraded"
            old = None if action == "installed" else before.pop(component, None)
            events.append(
                UpgradeEvent(
                    id=int(row["id"]),
                    time=time,
                    component=component,
                    action=action,
                    old_version=_text(old),
                    new_version=_text(row["version"] or row["targetversion"]),
                    userid=int(row["userid"] or 0),
                    username=row["username"],
                )
            )
        return events

    def error_count(self, window: Window) -> int:
        """Upgrade errors Moodle logged in ``window`` (type 2)."""
        if not self.available:
            return 0
        log = self.db.table("upgrade_log")
        count = self.db.scalar(
            sa.select(sa.func.count())
            .select_from(log)
            .where(window.holds(log.c.timemodified), log.c.type == ERROR_TYPE),
            "upgrade_log: errors in the period",
        )
        return int(count or 0)


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
