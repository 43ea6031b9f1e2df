"""Remediation: failing findings become items with a due date from severity and policy; an
assignment records owner, due date and ticket; the next scan that passes closes an item (never
by hand); a failure after that reopens it; the CSV is safe to import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest

from moodle_soc import api
from moodle_soc.errors import UsageError
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.policy import Policy
from moodle_soc.programme.remediation import CSV_COLUMNS
from moodle_soc.synthetic.builder import SiteBuilder

CHECK = "authentication.mfa_enabled"  # critical: 7 days by default


@pytest.fixture(autouse=True)
def _recorded_later(store: EvidenceStore) -> None:
    """The scans and assignments are dated into December 2026: a store whose clock is past
    them records them (as reconstructions, which remediation does not mind)."""
    store.clock = lambda: datetime(2027, 1, 1, tzinfo=UTC)


def scan(store: EvidenceStore, make_site: Any, day: str, *, mfa: bool = False) -> Any:
    builder = SiteBuilder()
    if mfa:
        builder.setting("enabled", 1, plugin="tool_mfa")
        builder.setting("enabled", 1, plugin="factor_totp")
    site = make_site(builder, audit_time=datetime.fromisoformat(f"{day}T12:00:00+00:00"))
    with site:
        return api.judge_site(site, checks=[CHECK, "authentication.mfa_factors_strong"],
                              store=store)  # fmt: skip


def items(store: EvidenceStore, day: str, **kwargs: Any) -> list[Any]:
    moment = datetime.fromisoformat(f"{day}T23:00:00+00:00")
    return api.remediation_items(store, site="Acme", as_of=moment, **kwargs)


def mfa_item(found: list[Any]) -> Any:
    (item,) = [i for i in found if i.check_id == CHECK]
    return item


@pytest.mark.parametrize(
    ("day", "status"),
    [("2026-12-01", "open"), ("2026-12-08", "open"), ("2026-12-09", "overdue")],
)
def test_due_date_from_severity_at_and_over_the_threshold(
    store: EvidenceStore, make_site: Any, day: str, status: str
) -> None:
    scan(store, make_site, "2026-12-01")
    item = mfa_item(items(store, day))
    assert (item.severity, item.due, item.status) == ("critical", date(2026, 12, 8), status)
    assert item.due_source == "policy (critical: 7 days from first seen)"
    assert item.owner == "unassigned" and item.id.startswith("REM-")
    shorter = mfa_item(items(store, day, policy=Policy(remediation_days_critical=3)))
    assert shorter.due == date(2026, 12, 4)


def test_an_item_closes_on_the_passing_scan_and_reopens_on_a_new_failure(
    store: EvidenceStore, make_site: Any
) -> None:
    first = scan(store, make_site, "2026-11-01")
    scan(store, make_site, "2026-11-05")  # still failing: same item
    item = mfa_item(items(store, "2026-11-05"))
    assert (item.first_seen_run, item.status) == (1, "open")
    assert item.last_failed_run == 2 and item.reason == first.findings[0].reason
    scan(store, make_site, "2026-11-09", mfa=True)  # fixed
    closed = mfa_item(items(store, "2026-11-09"))
    assert (closed.status, closed.closed_by_run) == ("closed", 3)
    assert closed.closed_at == datetime(2026, 11, 9, 12, tzinfo=UTC)
    with pytest.raises(UsageError, match=f"{closed.id} was closed by scan record 3."):
        api.assign_remediation(
            store, site="Acme", item=closed.id, owner="IT", assigned_by="cco",
            now=datetime(2026, 11, 10, tzinfo=UTC),
        )  # fmt: skip
    scan(store, make_site, "2026-11-20")  # broken again
    reopened = mfa_item(items(store, "2026-11-20"))
    assert (reopened.status, reopened.recurrences, reopened.first_seen_run) == ("open", 1, 4)
    assert reopened.due == date(2026, 11, 27)
    # Looking back, the item was open before the fix: every view is rebuilt from the chain.
    assert mfa_item(items(store, "2026-11-06")).status == "open"


def test_an_assignment_sets_owner_due_date_and_ticket(store: EvidenceStore, make_site: Any) -> None:
    scan(store, make_site, "2026-12-01")
    item = mfa_item(items(store, "2026-12-01"))
    updated = api.assign_remediation(
        store, site="Acme", item=item.id.lower(), owner="IT lead", assigned_by="cco",
        due=date(2026, 12, 15), ticket="SEC-42", now=datetime(2026, 12, 2, tzinfo=UTC),
    )  # fmt: skip
    assert (updated.owner, updated.due, updated.ticket) == ("IT lead", date(2026, 12, 15), "SEC-42")
    assert updated.due_source == "set by cco on 2026-12-02"
    assert mfa_item(items(store, "2026-12-16")).status == "overdue"
    by_check = api.assign_remediation(
        store, site="Acme", item=CHECK, owner="Ops", assigned_by="cco",
        now=datetime(2026, 12, 3, tzinfo=UTC),
    )  # fmt: skip
    assert by_check.owner == "Ops" and by_check.due == date(2026, 12, 8)  # policy again
    with pytest.raises(UsageError, match="'REM-00000000' matches no item"):
        api.assign_remediation(store, site="Acme", item="REM-00000000", owner="x",
                               assigned_by="cco")  # fmt: skip
    with pytest.raises(UsageError, match="--status 'late' must be open, overdue, accepted"):
        items(store, "2026-12-01", status="late")


def test_an_accepted_risk_stays_an_item_marked_accepted(
    store: EvidenceStore, make_site: Any
) -> None:
    scan(store, make_site, "2026-11-20")
    exception = api.add_exception(
        store, site="Acme", check=CHECK, reason="IdP MFA meanwhile.", owner="IT",
        approver="CISO", approved_at=date(2026, 11, 21), expires=date(2027, 2, 1),
        created_by="cco", now=datetime(2026, 11, 21, tzinfo=UTC),
    )  # fmt: skip
    scan(store, make_site, "2026-12-01")
    item = mfa_item(items(store, "2027-01-15"))
    assert (item.status, item.exception_id) == ("accepted", exception.id)


def test_the_csv_imports_into_a_tracker_and_neutralises_formulas(
    store: EvidenceStore, make_site: Any
) -> None:
    scan(store, make_site, "2026-12-01")
    item = mfa_item(items(store, "2026-12-01"))
    api.assign_remediation(store, site="Acme", item=item.id, owner="=HYPERLINK(\"x\")",
                           assigned_by="cco", ticket="SEC-1")  # fmt: skip
    found = items(store, "2026-12-31")
    text = api.remediation_export(found, "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    row = dict(zip(rows[0], next(r for r in rows[1:] if r[8] == CHECK), strict=True))
    assert row["Summary"].startswith("[critical] ") and row["Priority"] == "Highest"
    assert row["Assignee"] == '\'=HYPERLINK("x")' and row["Ticket"] == "SEC-1"
    assert row["Due Date"] == "2026-12-08" and row["Item ID"] == item.id
    assert api.remediation_export(found, "json").startswith("[")
    with pytest.raises(UsageError, match=r"--format 'xml' must be csv or json\."):
        api.remediation_export(found, "xml")
