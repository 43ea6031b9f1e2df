"""Open a Moodle site read-only from what a caller has: a config.php path or a database URL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from moodle_soc.errors import UsageError

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite


def open_moodle_site(
    *,
    config: Path | None = None,
    db: str | None = None,
    prefix: str | None = None,
    wwwroot: str | None = None,
    password: str | None = None,
    as_of: datetime | None = None,
    statement_timeout: float | None = None,
) -> MoodleSite:
    """Connect read-only to the site named by exactly one of ``config`` or ``db``.

    The password is ``password``, else $MOODLE_SOC_DB_PASSWORD, else the URL's or config.php's.
    The caller closes the site (``with open_moodle_site(...) as site:``). Raises the project's
    typed errors (``UsageError``, ``ConfigPhpError``, ``CannotConnectError``, ``NotMoodleError``,
    ``UnsupportedVersionError``); it never prompts. ``statement_timeout`` (seconds) bounds
    every query (default: the site layer's ``STATEMENT_TIMEOUT_SECONDS``).
    """
    from dataclasses import replace

    from moodle_soc.site.connect import open_site, spec_from_config, spec_from_url

    if (db is None) == (config is None):
        raise UsageError("Give exactly one of --db URL or --config /path/to/config.php.")
    config_php = None
    if config is not None:  # the parser is imported only when there is a file to parse
        from moodle_soc.site.phpconfig import load_config_php

        config_php = load_config_php(config)
    if config_php is not None:
        spec = spec_from_config(config_php, password)
        if prefix is not None:
            spec = replace(spec, prefix=prefix)
    else:
        spec = spec_from_url(db or "", prefix if prefix is not None else "mdl_", password)
    if statement_timeout is not None:
        if statement_timeout <= 0:
            raise UsageError("The statement timeout must be a positive number of seconds.")
        spec = replace(spec, statement_timeout=statement_timeout)
    return open_site(spec, config_php=config_php, audit_time=as_of, wwwroot=wwwroot)
