"""What a check receives: the site, the policy, and every input from outside Moodle.

A check is a pure function of its ``ScanContext``. Whatever it needs beyond the site (the HR
roster, evidence already on record such as review campaigns) is loaded by the caller before
judging and handed in here, so a test builds a context from plain values and nothing is read
from a hidden registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from moodle_soc.policy import Policy

if TYPE_CHECKING:
    from moodle_soc.changes.drift import DriftSide
    from moodle_soc.checks.exceptions import ExceptionOnRecord
    from moodle_soc.data.advisories import LoadedAdvisories
    from moodle_soc.models.access import AccessInventory, Scope
    from moodle_soc.models.changes import Approvals, ChangeSet
    from moodle_soc.models.logs import LogReview
    from moodle_soc.models.period import LogReviewSummary
    from moodle_soc.models.reviews import Campaign
    from moodle_soc.models.roster import Roster
    from moodle_soc.models.state import RecordedState, SiteState
    from moodle_soc.probes.http import WebProbe
    from moodle_soc.site.moodle import MoodleSite


@dataclass(frozen=True)
class OnRecord:
    """Evidence already on record for this site, as the scan's evidence store holds it."""

    store: str  # where it was read (for the sentences that cite it)
    campaigns: tuple[Campaign, ...] = ()
    #: Observed states of earlier stored scans (the change-review window and one before it).
    site_states: tuple[RecordedState, ...] = ()
    #: Manual evidence by control id (e.g. ``vendor_review:local_reports``): latest effective date.
    attachments: dict[str, date] = field(default_factory=dict)
    #: Risk exceptions on record (with their revocations): the runner applies them.
    exceptions: tuple[ExceptionOnRecord, ...] = ()
    #: SOC 2 categories the readiness scope leaves out, with the decision (reason, who, when).
    out_of_scope: dict[str, str] = field(default_factory=dict)
    #: Signed-off audit-log reviews (``moodle-soc logs review``).
    log_reviews: tuple[LogReviewSummary, ...] = ()


@dataclass
class ScanContext:
    """One scan's inputs. ``on_record`` is None when the scan has no evidence store, so checks
    that judge recorded evidence say they cannot decide (manual) instead of failing."""

    site: MoodleSite
    policy: Policy = field(default_factory=Policy)
    roster: Roster | None = None
    on_record: OnRecord | None = None
    #: A change tracker's approved tickets (``--approvals``); None: approvals are manual evidence.
    approvals: Approvals | None = None
    #: The staging environment to compare with; None: drift is manual evidence.
    staging: DriftSide | None = None
    #: The advisories in force; None: the ones shipped with moodle-soc.
    advisories: LoadedAdvisories | None = None
    #: ``scan --probe``: the web checks may request the wwwroot (read-only GET/HEAD).
    probe: bool = False
    #: The confined client they use; None: built from the site's wwwroot on first use.
    web: WebProbe | None = None
    _inventories: dict[str, AccessInventory] = field(default_factory=dict, repr=False)
    _state: SiteState | None = field(default=None, repr=False)
    _changes: ChangeSet | None = field(default=None, repr=False)
    _log_review: LogReview | None = field(default=None, repr=False)

    @property
    def audit_time(self) -> datetime:
        return self.site.audit_time

    def inventory(self, scope: Scope = "privileged") -> AccessInventory:
        """The access inventory, built once per scan and scope and shared by every check."""
        if scope not in self._inventories:
            from moodle_soc.inventory.build import build_inventory

            self._inventories[scope] = build_inventory(self.site, self.policy, scope=scope)
        return self._inventories[scope]

    def web_probe(self) -> WebProbe | None:
        """The wwwroot's confined HTTP client when probing is on and the wwwroot is known."""
        if not self.probe or (self.web is None and self.site.wwwroot is None):
            return None
        if self.web is None:
            from moodle_soc.probes.http import WebProbe

            assert self.site.wwwroot is not None
            self.web = WebProbe(self.site.wwwroot)
        return self.web

    def state(self) -> SiteState:
        """The site's observed state (version, plugins), built once per scan."""
        if self._state is None:
            from moodle_soc.site.state import build_site_state

            self._state = build_site_state(self.site)
        return self._state

    def changes(self) -> ChangeSet:
        """The changes of the review window (``policy.change_review_days`` up to the audit
        day), with earlier scans' states and the approvals given, built once per scan."""
        if self._changes is None:
            from moodle_soc.changes.population import build_changes
            from moodle_soc.models.state import RecordedState

            end = self.audit_time.date()
            start = end - timedelta(days=self.policy.change_review_days)
            states = list(self.on_record.site_states) if self.on_record is not None else []
            if states:  # what changed since the last stored scan counts too
                states.append(RecordedState(seq=None, record_hash=None, at=self.audit_time,
                                            state=self.state()))  # fmt: skip
            self._changes = build_changes(
                self.site, start, end, states=states, approvals=self.approvals
            )
        return self._changes

    def log_review(self) -> LogReview:
        """The audit-log review of ``policy.log_review_days`` up to the audit day, built once
        per scan and shared by the logging checks."""
        if self._log_review is None:
            from moodle_soc.logreview.build import build_log_review

            end = self.audit_time.date()
            start = end - timedelta(days=self.policy.log_review_days - 1)
            self._log_review = build_log_review(self.site, start, end, self.policy, detail=False)
        return self._log_review
