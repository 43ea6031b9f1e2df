"""Payments: whether the site takes money (Moodle 3.10+ payment subsystem), which suggests SOC 1.

Only the number of payment records is read: never amounts, payers or gateway credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from moodle_soc.site.moodle import MoodleSite


def payment_record_count(site: MoodleSite) -> int | None:
    """Rows of ``payments``; None when the site has no payment subsystem (before 3.10)."""
    if not site.has_table("payments"):
        return None
    payments = site.db.table("payments")
    value = site.db.scalar(
        sa.select(sa.func.count()).select_from(payments), "payments: number of payment records"
    )
    return int(value or 0)
