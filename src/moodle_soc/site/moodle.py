"""The MoodleSite facade: the one object checks read, typed, cached, every query recorded.

Only ``site/`` knows tables, prefixes and Moodle's storage quirks. Each control area's
queries live in their own module (accounts, roles, webservices, ...) and are reached as
``site.accounts``, ``site.roles`` and so on; each is built on first use and cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from moodle_soc.errors import NotMoodleError
from moodle_soc.safety import scrub_secret
from moodle_soc.site.db import Database
from moodle_soc.site.defaults import defaults_for
from moodle_soc.site.phpconfig import PhpConfig
from moodle_soc.site.secrets import mask
from moodle_soc.site.settings import Settings
from moodle_soc.site.version import MoodleVersion, classify

if TYPE_CHECKING:
    from moodle_soc.site.accounts import Accounts
    from moodle_soc.site.backups import Backups
    from moodle_soc.site.history import History
    from moodle_soc.site.logs import Logs
    from moodle_soc.site.mfa import Mfa
    from moodle_soc.site.people import People
    from moodle_soc.site.plugins import Plugins
    from moodle_soc.site.populations import PopulationQueries
    from moodle_soc.site.privacy import Privacy
    from moodle_soc.site.privileges import Privileges
    from moodle_soc.site.roles import Roles
    from moodle_soc.site.tasks import Tasks
    from moodle_soc.site.webservices import WebServices

SYSTEM_CONTEXT_LEVEL = 10


@dataclass(frozen=True)
class SiteIdentity:
    name: str
    wwwroot: str | None
    siteidentifier: str | None
    database: str
    prefix: str


class MoodleSite:
    def __init__(
        self,
        db: Database,
        *,
        audit_time: datetime | None = None,
        config_php: PhpConfig | None = None,
        wwwroot: str | None = None,
    ) -> None:
        self.db = db
        self.config_php = config_php
        moment = audit_time or datetime.now(UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        self.audit_time = moment.astimezone(UTC)
        self._wwwroot = wwwroot
        self._require_moodle()

    def close(self) -> None:
        """Release the connection; the site cannot be read afterwards."""
        self.db.close()

    def __enter__(self) -> MoodleSite:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def queries(self) -> tuple[dict[str, Any], ...]:
        """Provenance of every query run so far: SQL, parameters, rows, time and SHA-256."""
        return self.queries_since(0)

    @property
    def query_count(self) -> int:
        """How many queries have run: mark it, then ``queries_since(mark)`` is what came after."""
        return len(self.db.records)

    def queries_since(self, count: int) -> tuple[dict[str, Any], ...]:
        """Provenance of the queries run after the first ``count`` (one population's own)."""
        return tuple(record.as_dict() for record in self.db.records[count:])

    def scrub(self, text: str) -> str:
        """``text`` with the database password masked (for error sentences)."""
        return scrub_secret(text, self.db.password)

    # --- identity and version -------------------------------------------------------------

    @property
    def now(self) -> int:
        """The audit time as a Unix timestamp: every age is judged against it."""
        return int(self.audit_time.timestamp())

    def days_ago(self, days: float) -> int:
        return self.now - int(days * 86400)

    def _require_moodle(self) -> None:
        if self.db.has_table("config") and self.db.has_table("config_plugins"):
            return
        candidates = sorted(
            name[: -len("config_plugins")]
            for name in self.db.all_table_names()
            if name.endswith("config_plugins")
        )
        if candidates:
            hint = ", ".join(repr(c) for c in candidates[:3])
            raise NotMoodleError(
                f"No Moodle tables with prefix {self.db.prefix!r} in {self.db.display_url};"
                f" tables with prefix {hint} exist: pass --prefix {candidates[0]}."
            )
        raise NotMoodleError(
            f"{self.db.display_url} is not a Moodle database: it has no"
            f" {self.db.prefix}config table."
        )

    @cached_property
    def version(self) -> MoodleVersion:
        config = self.db.table("config")
        rows = self.db.fetch_all(
            sa.select(config.c.name, config.c.value).where(
                config.c.name.in_(("version", "release", "branch"))
            ),
            "version: core version, release and branch",
        )
        values = {row["name"]: row["value"] for row in rows}
        return classify(values.get("version"), values.get("release"), values.get("branch"))

    @cached_property
    def settings(self) -> Settings:
        config = self.db.table("config")
        core = {
            row["name"]: mask(row["name"], row["value"])
            for row in self.db.fetch_all(
                sa.select(config.c.name, config.c.value), "settings: config table"
            )
        }
        plugins_table = self.db.table("config_plugins")
        plugins = {
            (row["plugin"], row["name"]): mask(row["name"], row["value"])
            for row in self.db.fetch_all(
                sa.select(plugins_table.c.plugin, plugins_table.c.name, plugins_table.c.value),
                "settings: config_plugins table",
            )
        }
        return Settings(
            core=core,
            plugins=plugins,
            config_php=self.config_php,
            defaults=defaults_for(self.version.label),
        )

    @cached_property
    def identity(self) -> SiteIdentity:
        course = self.db.table("course")
        name = self.db.scalar(
            sa.select(course.c.fullname).where(course.c.id == 1), "identity: site name"
        )
        return SiteIdentity(
            name=str(name or "Moodle site"),
            wwwroot=self.wwwroot,
            siteidentifier=self.settings.get("siteidentifier"),
            database=self.db.display_url,
            prefix=self.db.prefix,
        )

    @property
    def wwwroot(self) -> str | None:
        """wwwroot lives only in config.php (or --wwwroot); the database does not hold it."""
        if self._wwwroot:
            return self._wwwroot
        if self.config_php is not None:
            value = self.config_php.get("wwwroot")
            return value if isinstance(value, str) else None
        return None

    def has_table(self, name: str) -> bool:
        return self.db.has_table(name)

    def has_column(self, table: str, column: str) -> bool:
        return self.db.has_column(table, column)

    @cached_property
    def system_context_id(self) -> int:
        context = self.db.table("context")
        value = self.db.scalar(
            sa.select(context.c.id).where(context.c.contextlevel == SYSTEM_CONTEXT_LEVEL),
            "context: the system context",
        )
        return int(value or 1)

    @cached_property
    def install_time(self) -> int:
        """When the site was installed (Unix time; 0 when nothing records it).

        Moodle's installer leaves ``timecreated`` at 0 for the accounts it creates (admin,
        guest): their age is the site's. The front-page course and the first ``config_log``
        row are written by the installer, so the earlier of the two dates the install.
        """
        course = self.db.table("course")
        candidates = [
            self.db.scalar(
                sa.select(course.c.timecreated).where(course.c.id == 1),
                "install time: the front-page course's timecreated",
            )
        ]
        if self.db.has_table("config_log"):
            log = self.db.table("config_log")
            candidates.append(
                self.db.scalar(
                    sa.select(sa.func.min(log.c.timemodified)).where(log.c.timemodified > 0),
                    "install time: the first config_log row",
                )
            )
        known = [int(value) for value in candidates if value is not None and int(value) > 0]
        return min(known, default=0)

    def created_at(self, timecreated: int) -> int:
        """An account's creation time, the install time where Moodle stored 0."""
        return timecreated if timecreated > 0 else self.install_time

    @cached_property
    def site_admin_ids(self) -> tuple[int, ...]:
        """Ids in the ``siteadmins`` setting: admins are a setting, not a role."""
        return tuple(int(item) for item in self.settings.items("siteadmins") if item.isdigit())

    # --- control areas ------------------------------------------------------------------------

    @cached_property
    def accounts(self) -> Accounts:
        from moodle_soc.site.accounts import Accounts

        return Accounts(self)

    @cached_property
    def roles(self) -> Roles:
        from moodle_soc.site.roles import Roles

        return Roles(self)

    @cached_property
    def mfa(self) -> Mfa:
        from moodle_soc.site.mfa import Mfa

        return Mfa(self)

    @cached_property
    def webservices(self) -> WebServices:
        from moodle_soc.site.webservices import WebServices

        return WebServices(self)

    @cached_property
    def logs(self) -> Logs:
        from moodle_soc.site.logs import Logs

        return Logs(self)

    @cached_property
    def tasks(self) -> Tasks:
        from moodle_soc.site.tasks import Tasks

        return Tasks(self)

    @cached_property
    def backups(self) -> Backups:
        from moodle_soc.site.backups import Backups

        return Backups(self)

    @cached_property
    def privacy(self) -> Privacy:
        from moodle_soc.site.privacy import Privacy

        return Privacy(self)

    @cached_property
    def privileges(self) -> Privileges:
        from moodle_soc.site.privileges import Privileges

        return Privileges(self)

    @cached_property
    def people(self) -> People:
        from moodle_soc.site.people import People

        return People(self)

    @cached_property
    def populations(self) -> PopulationQueries:
        from moodle_soc.site.populations import PopulationQueries

        return PopulationQueries(self)

    @cached_property
    def plugins(self) -> Plugins:
        from moodle_soc.site.plugins import Plugins

        return Plugins(self)

    @cached_property
    def history(self) -> History:
        """What Moodle recorded about changes: config_log, upgrade_log, role definitions."""
        from moodle_soc.site.history import History

        return History(self)
