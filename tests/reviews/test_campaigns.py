"""Review campaigns on a real evidence store: snapshot and tags, decisions, close, follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from moodle_soc.errors import BadInputError, UsageError
from moodle_soc.evidence.store.runs import site_ref_for_site
from moodle_soc.evidence.store.store import StoreError, open_store
from moodle_soc.inventory.build import build_inventory
from moodle_soc.inventory.follow_ups import verify_follow_ups
from moodle_soc.models.reviews import Decision, DecisionImport
from moodle_soc.policy import Policy
from moodle_soc.reviews.campaigns import (
    close_campaign,
    get_campaign,
    load_campaigns,
    record_decisions,
    record_follow_up_check,
    start_campaign,
)
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
AUDIT = datetime.fromtimestamp(NOW, UTC)
LATER = AUDIT + timedelta(hours=2)


@pytest.fixture
def store(tmp_path):
    # The campaigns are dated from the fixture's 2026-11-29 to months later: a store whose
    # clock is a year ahead records them all as past evidence.
    later = datetime(2027, 12, 31, tzinfo=UTC)
    evidence = open_store(str(tmp_path / "evidence.sqlite"), create=True, clock=lambda: later)
    yield evidence
    evidence.close()


def weak_site(builder: SiteBuilder) -> dict[str, int]:
    """admin (installer), support (manager at system level), admin2 (site administrator)."""
    support = builder.user("support", lastaccess=NOW - 86400)
    assignment = builder.assign_role(support, "manager")
    admin2 = builder.user("admin2", lastaccess=NOW - 86400)
    builder.make_site_admin(admin2)
    return {"support": support, "admin2": admin2, "assignment": assignment}


def inventory_of(builder, make_site, audit=AUDIT, scope="privileged"):
    site = make_site(builder, audit_time=audit)
    return site_ref_for_site(site), build_inventory(site, Policy(), scope=scope)


def start(store, builder, make_site, audit=AUDIT, reviewer="rev@acme.test"):
    ref, inventory = inventory_of(builder, make_site, audit)
    return start_campaign(store, ref, inventory, reviewer=reviewer, started_by="ops", now=audit)


def decide(store, campaign, decisions: dict[str, str], *, by="rev@acme.test", at=AUDIT, **grants):
    """Record ``decisions`` (username -> decision) as one import."""
    items = []
    for number, entry in enumerate(campaign.entries, start=2):
        if entry.username in decisions:
            items.append(
                Decision(key=entry.key, decision=decisions[entry.username], reviewer=by,
                         row=number, remove_grants=grants.get(entry.username, []))
            )  # fmt: skip
    imported = DecisionImport(campaign_id=campaign.id, imported_by=by, imported_at=at,
                              file_name="r.csv", file_sha256="0" * 64, file_format="csv",
                              decisions=items)  # fmt: skip
    return record_decisions(store, campaign, imported)


ALL_KEEP = {"admin": "keep", "support": "keep", "admin2": "keep"}


def test_first_campaign_snapshots_every_entry_as_new(store, builder, make_site):
    weak_site(builder)
    campaign = start(store, builder, make_site)

    assert [e.username for e in campaign.entries] == ["admin", "support", "admin2"]
    assert {t.tag for t in campaign.start.tags} == {"new"}
    assert campaign.start.previous_campaign is None and len(campaign.id) == 12
    (record,) = store.records(kind="review_campaign")
    assert record.collected_at == AUDIT and record.effective_date == AUDIT.date()
    (loaded,) = load_campaigns(store)
    assert loaded.start == campaign.start and loaded.state == "open"


def test_second_campaign_tags_unchanged_changed_removed_and_flags_role_creep(
    store, builder, make_site
):
    ids = weak_site(builder)
    first = start(store, builder, make_site)
    decide(store, first, ALL_KEEP)
    close_campaign(store, first, by="ciso@acme.test", now=LATER)
    builder.setting("siteadmins", "2")  # admin2 loses site administration
    builder.assign_role(ids["support"], "coursecreator")  # support gains a role

    second = start(store, builder, make_site, audit=AUDIT + timedelta(days=90))

    tags = {second.entry(t.key).username: t for t in second.start.tags}
    assert {name: t.tag for name, t in tags.items()} == {"admin": "unchanged", "support": "changed"}
    assert tags["support"].grants_added == ["role:coursecreator@system"]
    creep = [f for f in second.entry(tags["support"].key).flags if f.code == "role_creep"]
    assert "gained Course creator at System since the previous review" in creep[0].reason
    assert [e.username for e in second.start.removed] == ["admin2"]
    assert second.start.previous_campaign == first.id
    assert second.counts()["role_creep"] == 1 and second.counts()["removed"] == 1


def test_previous_campaign_is_the_latest_closed_one(store, builder, make_site):
    weak_site(builder)
    closed = start(store, builder, make_site)
    decide(store, closed, ALL_KEEP)
    close_campaign(store, closed, by="ciso@acme.test", now=LATER)
    start(store, builder, make_site, audit=AUDIT + timedelta(days=1))  # left open

    third = start(store, builder, make_site, audit=AUDIT + timedelta(days=2))

    assert third.start.previous_campaign == closed.id


def test_the_same_snapshot_cannot_start_twice(store, builder, make_site):
    campaign = start(store, builder, make_site)
    with pytest.raises(BadInputError, match=f"Campaign {campaign.id} already snapshots"):
        start(store, builder, make_site)


def test_campaigns_resolve_by_unique_prefix(store, builder, make_site):
    campaign = start(store, builder, make_site)
    assert get_campaign(store, campaign.id[:4].upper()).id == campaign.id
    with pytest.raises(BadInputError, match="matches no campaign"):
        get_campaign(store, "zzzz")


def test_reviewer_must_be_an_email(store, builder, make_site):
    with pytest.raises(UsageError, match="is not an email address"):
        start(store, builder, make_site, reviewer="bob")


def test_a_later_import_supersedes_earlier_decisions(store, builder, make_site):
    weak_site(builder)
    campaign = start(store, builder, make_site)
    decide(store, campaign, ALL_KEEP)
    decide(store, campaign, {"admin2": "revoke"}, by="boss@acme.test", at=LATER)

    loaded = get_campaign(store, campaign.id)

    by_name = {loaded.entry(k).username: d for k, d in loaded.decisions.items()}
    assert (by_name["admin2"].decision, by_name["admin2"].reviewer) == ("revoke", "boss@acme.test")
    assert by_name["support"].decision == "keep" and len(loaded.imports) == 2
    assert loaded.decided_at(by_name["admin2"].key) == LATER


@pytest.mark.parametrize(
    ("decisions", "needle"),
    [
        pytest.param({"admin": "keep"}, "2 entries have no decision", id="undecided"),
        pytest.param(ALL_KEEP | {"support": "escalate"}, "still escalated", id="escalated"),
    ],
)
def test_close_needs_a_final_decision_for_every_entry(store, builder, make_site, decisions, needle):
    weak_site(builder)
    campaign = start(store, builder, make_site)
    decide(store, campaign, decisions)
    with pytest.raises(BadInputError, match=needle):
        close_campaign(store, campaign, by="ciso@acme.test")
    assert store.records(kind="review_close") == []


def test_close_turns_revoke_and_modify_into_dated_follow_ups(store, builder, make_site):
    weak_site(builder)
    campaign = start(store, builder, make_site)
    decide(store, campaign, {"admin": "keep", "support": "modify", "admin2": "revoke"},
           support=["loginas@system"])  # fmt: skip

    close = close_campaign(store, campaign, by="ciso@acme.test", follow_up_days=7, now=LATER)

    plan = {f.username: (f.decision, f.remove_grants, f.due) for f in close.follow_ups}
    due = (LATER + timedelta(days=7)).date()
    assert plan == {"support": ("modify", ["loginas@system"], due),
                    "admin2": ("revoke", ["siteadmin"], due)}  # fmt: skip
    assert close.counts["revoke"] == 1 and close.counts["modify"] == 1
    (record,) = store.records(kind="review_close")
    assert record.collected_at == LATER
    assert get_campaign(store, campaign.id).close == close


def test_sign_off_is_final(store, builder, make_site):
    campaign = start(store, builder, make_site)
    decide(store, campaign, {"admin": "keep"})
    close_campaign(store, campaign, by="ciso@acme.test", now=LATER)
    with pytest.raises(BadInputError, match="refused after sign-off"):
        decide(store, campaign, {"admin": "revoke"})
    with pytest.raises(BadInputError, match="refused after sign-off"):
        close_campaign(store, get_campaign(store, campaign.id), by="ciso@acme.test")
    assert len(store.records(kind="review_decisions")) == 1


def test_records_appended_after_the_close_change_nothing(store, builder, make_site):
    campaign = start(store, builder, make_site)
    decide(store, campaign, {"admin": "keep"})
    close_campaign(store, campaign, by="ciso@acme.test", now=LATER)
    late = DecisionImport(
        campaign_id=campaign.id,
        imported_by="x@acme.test",
        imported_at=LATER,
        file_name="late.csv",
        file_sha256="1" * 64,
        file_format="csv",
        decisions=[Decision(key="user:2", decision="revoke", reviewer="x", row=2)],
    )
    store.append(campaign.site, "review_decisions", late.model_dump(mode="json"),
                 collected_at=LATER)  # a concurrent writer  # fmt: skip

    loaded = get_campaign(store, campaign.id)

    assert loaded.decisions["user:2"].decision == "keep" and len(loaded.imports) == 1


def test_an_unreadable_review_record_is_one_clear_error(store, builder, make_site):
    campaign = start(store, builder, make_site)
    store.append(campaign.site, "review_close", {"campaign_id": campaign.id}, collected_at=LATER)
    with pytest.raises(StoreError, match=r"\(review_close\) is not a review record this version"):
        load_campaigns(store)


@pytest.fixture
def closed(store, builder, make_site):
    """A closed campaign revoking support's manager role and admin2's site administration."""
    ids = weak_site(builder)
    campaign = start(store, builder, make_site)
    decide(store, campaign, {"admin": "keep", "support": "revoke", "admin2": "revoke"},
           support=["role:manager@system"])  # fmt: skip
    close_campaign(store, campaign, by="ciso@acme.test", now=LATER)
    return campaign, ids


def _remove_manager(b: SiteBuilder, ids: dict[str, int]) -> None:
    """The manager assignment becomes a student one (the builder cannot delete rows)."""
    b.update("role_assignments", ids["assignment"], roleid=b.role_id("student"))


CARRIED_OUT = {
    "nothing_done": (lambda b, ids: None, 1, ("pending", "pending")),
    "nothing_done_late": (lambda b, ids: None, 30, ("overdue", "overdue")),
    "role_removed": (_remove_manager, 30, ("done", "overdue")),
    "admin_suspended": (
        lambda b, ids: b.update("user", ids["admin2"], suspended=1), 30, ("overdue", "done")
    ),
    "admin_removed": (lambda b, ids: b.setting("siteadmins", "2"), 1, ("pending", "done")),
}  # fmt: skip


@pytest.mark.parametrize("case", CARRIED_OUT)
def test_follow_ups_are_done_pending_or_overdue(closed, builder, make_site, case):
    campaign, ids = closed
    change, days, expected = CARRIED_OUT[case]
    change(builder, ids)
    _, now = inventory_of(builder, make_site, AUDIT + timedelta(days=days))

    statuses = verify_follow_ups(campaign, now, AUDIT + timedelta(days=days))

    assert tuple(s.status for s in statuses) == expected
    assert [s.username for s in statuses] == ["support", "admin2"]
    assert all(s.reason.endswith(".") and s.username in s.reason for s in statuses)


def test_follow_up_checks_are_stored_and_reloaded(store, closed, builder, make_site):
    campaign, _ids = closed
    _, now = inventory_of(builder, make_site)
    statuses = verify_follow_ups(campaign, now, AUDIT)

    record_follow_up_check(store, campaign, statuses, audit_time=AUDIT, checked_by="ops",
                           database="sqlite://(memory)", now=LATER)  # fmt: skip

    (check,) = get_campaign(store, campaign.id).checks
    assert check.statuses == statuses and check.counts() == {"done": 0, "pending": 2, "overdue": 0}


def test_verification_needs_an_inventory_of_the_campaigns_scope(store, builder, make_site):
    campaign = start(store, builder, make_site)
    decide(store, campaign, {"admin": "keep"})
    close_campaign(store, campaign, by="ciso@acme.test", now=LATER)
    all_campaign = campaign.start.model_copy(update={"scope": "all"})
    campaign.start = all_campaign
    _, privileged = inventory_of(builder, make_site)
    with pytest.raises(UsageError, match="verify it against an inventory of that scope"):
        verify_follow_ups(campaign, privileged, AUDIT)


def test_an_account_missing_from_a_truncated_inventory_is_not_done(
    store, closed, builder, make_site
):
    campaign, _ids = closed
    _, now = inventory_of(builder, make_site)
    note = "Only the first 10 risky role assignments were read; the list is incomplete."
    kept = [e for e in now.entries if e.username not in ("support", "admin2")]
    truncated = now.model_copy(update={"entries": kept, "notes": [*now.notes, note]})
    statuses = verify_follow_ups(campaign, truncated, AUDIT)
    assert {s.status for s in statuses} == {"pending"}
    assert all("could not be verified" in s.reason for s in statuses)
