"""What Moodle itself recorded about changes: ``config_log`` settings, ``upgrade_log``
installs and upgrades (``site/upgrades.py``), role definition changes (``site/role_history.py``).

``config_log`` also holds the installer's defaults: hundreds of rows written while Moodle
installed itself, with no previous value. They are the installation (one change), not changes
an administrator made, so the rows up to the end of the installation are set apart:

* the installation starts at the first ``config_log`` row and Moodle's "Core installed" entry in
  ``upgrade_log`` (written just after the core defaults);
* it continues while rows follow each other within ``INSTALL_GAP_SECONDS``;
* it ends earlier at a row that changes an existing, non-empty value, made by a logged-in user
  more than ``INSTALL_SETTLE_SECONDS`` after the last plugin was installed: an administrator's
  first edit (the installer's second pass over random defaults, such as new salts, comes sooner).

Values of secret settings are masked here (``site.secrets``), so none leaves the site layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from moodle_soc.site.secrets import mask
from moodle_soc.site.upgrades import INSTALL_GAP_SECONDS, Installation, Upgrades

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.site.populations import Window
    from moodle_soc.site.role_history import RoleHistory

INSTALL_SETTLE_SECONDS = 60
_INSTALL_SCAN_LIMIT = 50_000
_ID_CHUNK = 1000


@dataclass(frozen=True)
class InstallDefaults:
    """The installer's config_log rows: ids ``first_id`` to ``last_id``."""

    first_id: int
    last_id: int
    first_at: int
    last_at: int
    rows: int


@dataclass(frozen=True)
class SettingChange:
    id: int
    time: int
    plugin: str  # "core" for core settings (stored as NULL or 'core')
    name: str
    old: str | None
    new: str | None
    masked: bool
    userid: int
    username: str | None


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    email: str


class History:
    def __init__(self, site: MoodleSite) -> None:
        self.site = site
        self.db = site.db

    @cached_property
    def upgrades(self) -> Upgrades:
        return Upgrades(self.site)

    @cached_property
    def roles(self) -> RoleHistory:
        from moodle_soc.site.role_history import RoleHistory

        return RoleHistory(self.site)

    @property
    def installation(self) -> Installation | None:
        return self.upgrades.installation

    @cached_property
    def install_defaults(self) -> InstallDefaults | None:
        """The installer's default-settings rows (see the module docstring)."""
        install = self.installation
        if install is None or not self.db.has_table("config_log"):
            return None
        log = self.db.table("config_log")
        had_value = sa.case(
            (sa.or_(log.c.oldvalue.is_(None), log.c.oldvalue == ""), 0), else_=1
        ).label("had_value")
        rows = self.db.fetch_all(
            sa.select(log.c.id, log.c.userid, log.c.timemodified, had_value)
            .where(log.c.timemodified <= install.ended_at + 3600)
            .order_by(log.c.id)
            .limit(_INSTALL_SCAN_LIMIT),
            "config_log: rows written around the installation",
        )
        if not rows or int(rows[0]["timemodified"]) < install.at - 3600:
            return None  # settings older than the installation: not a fresh install here
        first = last = rows[0]
        for row in rows[1:]:
            time = int(row["timemodified"])
            if time - int(last["timemodified"]) > INSTALL_GAP_SECONDS:
                break
            edited = int(row["userid"] or 0) != 0 and int(row["had_value"]) == 1
            if edited and time > install.ended_at + INSTALL_SETTLE_SECONDS:
                break
            last = row
        count = sum(1 for row in rows if int(first["id"]) <= int(row["id"]) <= int(last["id"]))
        return InstallDefaults(
            int(first["id"]),
            int(last["id"]),
            int(first["timemodified"]),
            int(last["timemodified"]),
            count,
        )

    def setting_changes(self, window: Window) -> Iterator[SettingChange]:
        """config_log rows in ``window`` after the installer's defaults, secrets masked."""
        if not self.db.has_table("config_log"):
            return
        log, actor = self.db.table("config_log"), self.db.table("user").alias("actor")
        statement = (
            sa.select(*log.c, actor.c.username.label("actor"))
            .select_from(log.outerjoin(actor, actor.c.id == log.c.userid))
            .where(window.holds(log.c.timemodified))
        )
        defaults = self.install_defaults
        if defaults is not None:
            statement = statement.where(log.c.id > defaults.last_id)
        purpose = "changes: config_log rows in the period after the installation"
        for row in self.db.stream(statement, log.c.id, purpose):
            name = str(row["name"])
            plugin = str(row["plugin"] or "core")
            old, new = _masked(name, row["oldvalue"]), _masked(name, row["value"])
            yield SettingChange(
                id=int(row["id"]),
                time=int(row["timemodified"]),
                plugin="core" if plugin == "moodle" else plugin,
                name=name,
                old=old,
                new=new,
                masked=(old, new) != (_text(row["oldvalue"]), _text(row["value"])),
                userid=int(row["userid"] or 0),
                username=row["actor"],
            )

    def actors(self, ids: Iterable[int]) -> dict[int, Actor]:
        """Username and e-mail of the users who made changes (to match approvers)."""
        user = self.db.table("user")
        wanted = sorted({i for i in ids if i})
        found: dict[int, Actor] = {}
        for at in range(0, len(wanted), _ID_CHUNK):
            rows = self.db.fetch_all(
                sa.select(user.c.id, user.c.username, user.c.email).where(
                    user.c.id.in_(wanted[at : at + _ID_CHUNK])
                ),
                "changes: usernames and e-mails of the users who made changes",
            )
            for row in rows:
                found[int(row["id"])] = Actor(
                    int(row["id"]), str(row["username"] or ""), str(row["email"] or "")
                )
        return found


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _masked(name: str, value: Any) -> str | None:
    """The one secrets policy (``site.secrets``): a secret setting's value becomes the mask."""
    shown = mask(name, _text(value))
    return None if shown is None else str(shown)
