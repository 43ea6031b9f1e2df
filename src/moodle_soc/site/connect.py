"""From what the user gives (``--db URL`` or ``--config config.php``) to a read-only Database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from moodle_soc.errors import ConfigPhpError, UsageError
from moodle_soc.site.db import Database
from moodle_soc.site.phpconfig import PhpConfig, Unknown
from moodle_soc.site.session import STATEMENT_TIMEOUT_SECONDS, is_plain_identifier, make_engine

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

PASSWORD_ENV = "MOODLE_SOC_DB_PASSWORD"

_SCHEMES = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mysql+pymysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "mariadb+pymysql": "mariadb+pymysql",
    "sqlite": "sqlite",
}
# Moodle's $CFG->dbtype values and the driver that reads them.
_DBTYPES = {
    "pgsql": "postgresql+psycopg",
    "mariadb": "mariadb+pymysql",
    "mysqli": "mysql+pymysql",
    "auroramysql": "mysql+pymysql",
}


# How a config.php connection is shown: the plain scheme of its dbtype.
_SHOWN_SCHEME = {"pgsql": "postgresql", "mariadb": "mariadb", "mysqli": "mysql",
                 "auroramysql": "mysql"}  # fmt: skip


@dataclass(frozen=True)
class ConnectionSpec:
    url: sa.URL
    prefix: str
    schema: str | None = None
    statement_timeout: float = STATEMENT_TIMEOUT_SECONDS  # seconds any one query may take
    scheme: str | None = None  # as the user wrote it (postgresql, mysql+pymysql, ...)
    shown_query: tuple[tuple[str, str], ...] = ()  # the query options the user wrote
    typed_password: bool = False  # a password was written into the URL (shown as ***)

    @property
    def display(self) -> str:
        """The URL as the user typed it, without its password: safe to print, and no driver
        name, added option or ``***`` the user never wrote."""
        if self.url.get_backend_name() == "sqlite":
            return f"sqlite:///{(self.url.database or '').removeprefix('file:')}"
        shown = sa.URL.create(
            self.scheme or self.url.get_backend_name(),
            username=self.url.username,
            password="hidden" if self.typed_password else None,
            host=self.url.host,
            port=self.url.port,
            database=self.url.database,
            query=dict(self.shown_query),
        )
        return shown.render_as_string(hide_password=True)


def spec_from_url(url_text: str, prefix: str, password: str | None = None) -> ConnectionSpec:
    malformed = UsageError(
        "--db must be a URL such as postgresql://user@host/db, mysql://user@host/db or"
        " sqlite:///path/site.sqlite."
    )
    try:
        url = sa.make_url(url_text)
        port = url.port  # parsed lazily: a port such as ':5432:1' fails here
    except (sa.exc.ArgumentError, ValueError):
        raise malformed from None
    if "@" in (url.host or ""):
        # 'u:p@ss@host': the password holds an '@'. Never echo any part of it.
        raise UsageError(
            "--db: the password seems to contain '@'; write it as %40 in the URL, or give it"
            " with MOODLE_SOC_DB_PASSWORD or --ask-password."
        )
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"--db: port {port} is not between 1 and 65535.")
    driver = _SCHEMES.get(url.drivername)
    if driver is None:
        raise UsageError(
            f"Unsupported database URL scheme {url.drivername!r}; use postgresql://,"
            " mysql://, mariadb:// or sqlite:///."
        )
    typed, typed_password = url.drivername, url.password is not None
    typed_query = tuple((k, str(v)) for k, v in url.query.items() if isinstance(v, str))
    url = url.set(drivername=driver)
    if driver == "sqlite":
        if not url.database or url.database == ":memory:":
            raise UsageError("A sqlite:/// URL must name a database file.")
        if not Path(url.database).is_file():
            raise UsageError(f"SQLite database {url.database} does not exist.")
        url = url.set(database=f"file:{url.database}", query={"mode": "ro", "uri": "true"})
    elif driver.startswith(("mysql", "mariadb")):
        url = url.update_query_dict({"charset": "utf8mb4"})
    if password is not None:
        url = url.set(password=password)
    elif url.password is None and os.environ.get(PASSWORD_ENV):
        url = url.set(password=os.environ[PASSWORD_ENV])
    return ConnectionSpec(
        url=url,
        prefix=prefix,
        scheme=typed,
        shown_query=typed_query,
        typed_password=typed_password,
    )


def _literal(cfg: PhpConfig, key: str, *, required: bool) -> str | None:
    value = cfg.get(key)
    if isinstance(value, Unknown):
        raise ConfigPhpError(
            f"config.php computes $CFG->{key} at runtime ({value.expression}); pass --db instead."
        )
    if value is None or value == "":
        if required:
            raise ConfigPhpError(f"config.php does not set $CFG->{key}.")
        return None
    return str(value)


def spec_from_config(cfg: PhpConfig, password: str | None = None) -> ConnectionSpec:
    """Map ``dbtype``, ``dbhost``, ``dbname``, ``dbuser``, ``dboptions`` to a connection.

    The password comes from (in order) the explicit argument, the MOODLE_SOC_DB_PASSWORD
    environment variable, then config.php's ``dbpass`` when it is a literal.
    """
    dbtype = _literal(cfg, "dbtype", required=True) or ""
    driver = _DBTYPES.get(dbtype)
    if driver is None:
        known = ", ".join(sorted(_DBTYPES))
        raise ConfigPhpError(
            f"config.php sets dbtype {dbtype!r}, which moodle-soc cannot read (supported: {known})."
        )
    host = _literal(cfg, "dbhost", required=False) or "localhost"
    database = _literal(cfg, "dbname", required=True)
    user = _literal(cfg, "dbuser", required=False)
    options: Any = cfg.get("dboptions") or {}
    if not isinstance(options, dict):
        options = {}
    port_value = options.get("dbport")
    port = (
        int(port_value)
        if isinstance(port_value, (int, str)) and str(port_value).isdigit()
        else None
    )
    if password is None:
        password = os.environ.get(PASSWORD_ENV)
    if password is None:
        raw = cfg.get("dbpass")
        password = raw if isinstance(raw, str) else None
    query: dict[str, str] = {}
    socket = options.get("dbsocket")
    if driver.startswith(("mysql", "mariadb")):
        query["charset"] = "utf8mb4"
        if isinstance(socket, str) and socket.startswith("/"):
            query["unix_socket"] = socket
    elif isinstance(socket, str) and socket.startswith("/"):
        query["host"] = socket
    schema = _schema(options.get("dbschema"))
    url = sa.URL.create(
        driver,
        username=user,
        password=password,
        host=host if "host" not in query else None,
        port=port,
        database=database,
        query=query,
    )
    prefix = _literal(cfg, "prefix", required=False)
    return ConnectionSpec(
        url=url,
        prefix="mdl_" if prefix is None else prefix,
        schema=schema,
        scheme=_SHOWN_SCHEME[dbtype],
    )


def _schema(value: Any) -> str | None:
    """``dboptions['dbschema']``: a plain SQL name, or refused (it reaches the server)."""
    if value is None or value == "":
        return None
    if isinstance(value, Unknown):
        raise ConfigPhpError(
            f"config.php computes dboptions['dbschema'] at runtime ({value.expression});"
            " pass --db instead."
        )
    if not isinstance(value, str) or not is_plain_identifier(value):
        raise ConfigPhpError(
            "config.php sets dboptions['dbschema'] to something other than a plain schema name"
            " (letters, digits, _ and $, at most 63), so moodle-soc will not pass it on."
        )
    return value


def open_database(spec: ConnectionSpec) -> Database:
    return Database(
        engine=make_engine(spec.url),
        prefix=spec.prefix,
        display_url=spec.display,
        password=spec.url.password,
        schema=spec.schema,
        statement_timeout=spec.statement_timeout,
    )


def open_site(
    spec: ConnectionSpec,
    *,
    config_php: PhpConfig | None = None,
    audit_time: datetime | None = None,
    wwwroot: str | None = None,
) -> MoodleSite:
    """Connect read-only, confirm this is a supported Moodle site, and return its facade."""
    from moodle_soc.site.moodle import MoodleSite

    site = MoodleSite(
        open_database(spec), audit_time=audit_time, config_php=config_php, wwwroot=wwwroot
    )
    site.version  # noqa: B018 - refuse non-Moodle and too-old sites up front
    return site
