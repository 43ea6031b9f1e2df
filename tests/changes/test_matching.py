"""Each change matched to the ticket covering it: approved, unapproved, out of order, SoD."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from moodle_soc.changes.matching import match_change, match_changes, scope_covers
from moodle_soc.models.changes import Approvals, Change, Ticket

AT = datetime(2026, 11, 29, 7, 15, tzinfo=UTC)


def change(
    kind: str = "setting", component: str = "core", name: str = "debug", **extra: object
) -> Change:
    values: dict[str, object] = {
        "id": f"config_log:{name}",
        "kind": kind,
        "component": component,
        "name": name,
        "old": "0",
        "new": "1",
        "at": AT,
        "by_id": 2,
        "by_username": "admin",
        "source": "config_log",
    }
    values.update(extra)
    return Change.model_validate(values)


def ticket(
    scope: str,
    *,
    approved_by: str = "cab-lead",
    approved_at: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Ticket:
    return Ticket(
        ticket="CHG-1",
        title="",
        requested_by="dev",
        approved_by=approved_by,
        approved_at=approved_at or datetime(2026, 11, 28, tzinfo=UTC),
        deploy_from=start or datetime(2026, 11, 28, tzinfo=UTC),
        deploy_to=end or datetime(2026, 11, 30, tzinfo=UTC),
        scope=tuple(scope.split(";")),
        line=2,
    )


@pytest.mark.parametrize(
    ("entry", "kind", "component", "name", "covered"),
    [
        ("core/debug", "setting", "core", "debug", True),
        ("core/debug", "config_php", "core", "debug", True),
        ("core/*", "setting", "core", "cachejs", True),
        ("core", "core", "core", "version", True),
        ("core", "setting", "core", "debug", False),
        ("local_reports", "plugin", "local_reports", "version", True),
        ("local_reports", "setting", "local_reports", "enable", False),
        ("local_reports/*", "setting", "local_reports", "enable", True),
        ("role/manager", "role", "role", "manager", True),
        ("role/manager", "role", "role", "student", False),
        ("tool_mfa/enabled", "plugin", "tool_mfa", "version", False),
    ],
)
def test_scope_entries(entry: str, kind: str, component: str, name: str, covered: bool) -> None:
    assert scope_covers(entry, change(kind, component, name)) is covered


def test_approved_when_covered_in_window_after_approval_by_someone_else() -> None:
    matched = match_change(change(), [ticket("core/debug")], ("admin", "admin@example.test"))

    assert (matched.approval, matched.ticket) == ("approved", "CHG-1")
    assert matched.approval_note == "Approved by cab-lead in ticket CHG-1."


def test_unapproved_outside_the_window_or_scope() -> None:
    late = ticket("core/debug", start=datetime(2026, 11, 30, tzinfo=UTC))
    other = ticket("core/debugdisplay")

    for tickets in ([late], [other], []):
        assert match_change(change(), tickets).approval == "unapproved"


def test_out_of_order_when_deployed_before_approval() -> None:
    after = ticket("core/debug", approved_at=datetime(2026, 11, 29, 8, tzinfo=UTC))

    matched = match_change(change(), [after])

    assert matched.approval == "out_of_order"
    assert "before ticket CHG-1 was approved" in (matched.approval_note or "")


@pytest.mark.parametrize("approver", ["admin", "ADMIN@example.test"])
def test_sod_conflict_when_the_changer_approved(approver: str) -> None:
    matched = match_change(
        change(), [ticket("core/debug", approved_by=approver)], ("admin", "admin@example.test")
    )

    assert matched.approval == "sod_conflict"


def test_a_clean_ticket_beats_an_exception() -> None:
    tickets = [ticket("core/debug", approved_by="admin"), ticket("core/*")]

    assert match_change(change(), tickets, ("admin",)).approval == "approved"


def test_a_change_between_two_scans_matches_an_overlapping_window() -> None:
    between = change(
        kind="config_php",
        source="runs",
        by_id=None,
        by_username=None,
        at_from=datetime(2026, 11, 20, tzinfo=UTC),
    )
    window = ticket(
        "core/debug",
        start=datetime(2026, 11, 21, tzinfo=UTC),
        end=datetime(2026, 11, 22, tzinfo=UTC),
        approved_at=datetime(2026, 11, 21, tzinfo=UTC),
    )

    assert match_change(between, [window]).approval == "approved"


def test_match_changes_uses_usernames_and_emails_by_user_id() -> None:
    approvals = Approvals(
        source="a.csv",
        sha256="0" * 64,
        tickets=(ticket("core/debug", approved_by="root@example.test"),),
    )

    (matched,) = match_changes([change()], approvals, {2: ("admin", "root@example.test")})

    assert matched.approval == "sod_conflict"
