"""Antivirus evidence: scan failures Moodle recorded in its standard log.

Moodle's own ``core_antivirus`` check counts standard-log rows written by the events
``antivirus_scan_file_error`` and ``antivirus_scan_data_error`` (target ``antivirus_scan_file``
or ``antivirus_scan_data``, action ``error``) newer than ``antivirus/threshold`` seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite

STANDARD_STORE = "logstore_standard"
LOG_TABLE = "logstore_standard_log"
SCAN_TARGETS = ("antivirus_scan_file", "antivirus_scan_data")
# Moodle's default for antivirus/threshold: 20 minutes.
DEFAULT_THRESHOLD_SECONDS = 1200


def threshold_seconds(site: MoodleSite) -> int:
    """``antivirus/threshold``: how far back a scan error still counts (as Moodle reads it)."""
    return site.settings.int("threshold", "antivirus", default=DEFAULT_THRESHOLD_SECONDS)


def recent_antivirus_errors(site: MoodleSite, since: int) -> int | None:
    """Scan-error log rows created after ``since``; None when the standard log is not readable.

    Like Moodle, which reports ``unknown`` without an SQL log reader: the standard log store must
    be enabled (``tool_log/enabled_stores``) and its table present.
    """
    if STANDARD_STORE not in site.settings.items("enabled_stores", "tool_log"):
        return None
    if not site.has_table(LOG_TABLE):
        return None
    log = site.db.table(LOG_TABLE)
    count = site.db.scalar(
        sa.select(sa.func.count())
        .select_from(log)
        .where(
            log.c.target.in_(SCAN_TARGETS),
            log.c.action == "error",
            log.c.timecreated > since,
        ),
        "antivirus: scan errors in the standard log since the threshold",
    )
    return int(count or 0)
