"""Imported by the local workers' forkserver (only there): warm every cache a scan fills.

Each site is scanned in a fresh process forked from the forkserver, so whatever the first scan
of a process loads (check modules, the framework catalogue, the database drivers, pydantic
validators) would otherwise be loaded again for every site: on a small site that is most of
the scan's time. Scanning a tiny synthetic site here, once, before any fork, leaves it all in
memory that every forked worker shares.
"""

from __future__ import annotations

import contextlib


def warm() -> None:
    from moodle_soc.checks.context import ScanContext
    from moodle_soc.checks.runner import run_scan
    from moodle_soc.policy import Policy
    from moodle_soc.site.db import Database
    from moodle_soc.site.moodle import MoodleSite
    from moodle_soc.synthetic.builder import SiteBuilder

    for driver in ("psycopg", "pymysql"):
        with contextlib.suppress(ImportError):
            __import__(driver)
    import sqlalchemy.dialects.mysql
    import sqlalchemy.dialects.postgresql  # noqa: F401

    builder = SiteBuilder()
    db = Database(engine=builder.sqlite_memory(), prefix=builder.prefix, display_url="warm-up")
    site = MoodleSite(db)
    try:
        run_scan(ScanContext(site=site, policy=Policy()))
    finally:
        db.close()


with contextlib.suppress(Exception):  # best effort: a cold worker is slower, not wrong
    warm()
