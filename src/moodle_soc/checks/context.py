"""What a check receives: the site, the policy, and every input from outside Moodle.

A check is a pure function of its ``ScanContext``. Whatever it needs beyond the site (the HR
roster, evidence already on record such as review campaigns) is loaded by the caller before
judging and handed in here, so a test builds a context from plain values and nothing is read
from a hidden registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from moodle_soc.policy import Policy

if TYPE_CHECKING:
    from moodle_soc.models.access import AccessInventory, Scope
    from moodle_soc.models.reviews import Campaign
    from moodle_soc.models.roster import Roster
    from moodle_soc.site.moodle import MoodleSite


@dataclass(frozen=True)
class OnRecord:
    """Evidence already on record for this site, as the scan's evidence store holds it."""

    store: str  # where it was read (for the sentences that cite it)
    campaigns: tuple[Campaign, ...] = ()


@dataclass
class ScanContext:
    """One scan's inputs. ``on_record`` is None when the scan has no evidence store, so checks
    that judge recorded evidence say they cannot decide (manual) instead of failing."""

    site: MoodleSite
    policy: Policy = field(default_factory=Policy)
    roster: Roster | None = None
    on_record: OnRecord | None = None
    _inventories: dict[str, AccessInventory] = field(default_factory=dict, repr=False)

    @property
    def audit_time(self) -> datetime:
        return self.site.audit_time

    def inventory(self, scope: Scope = "privileged") -> AccessInventory:
        """The access inventory, built once per scan and scope and shared by every check."""
        if scope not in self._inventories:
            from moodle_soc.inventory.build import build_inventory

            self._inventories[scope] = build_inventory(self.site, self.policy, scope=scope)
        return self._inventories[scope]
