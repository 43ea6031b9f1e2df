"""A decision made in the browser follows the review file's rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store.runs import site_ref_for_site
from moodle_soc.inventory.build import build_inventory
from moodle_soc.policy import Policy
from moodle_soc.reviews.browser import browser_decision
from moodle_soc.reviews.campaigns import start_campaign

NOW = 1795936000
AUDIT = datetime.fromtimestamp(NOW, UTC)


@pytest.fixture
def campaign(builder, make_site, tmp_path):  # type: ignore[no-untyped-def]
    from moodle_soc.evidence.store.store import open_store

    support = builder.user("support", lastaccess=NOW - 86400)
    builder.assign_role(support, "manager")
    site = make_site(builder, audit_time=AUDIT)
    with open_store(str(tmp_path / "e.sqlite"), create=True) as store:
        yield start_campaign(store, site_ref_for_site(site),
                             build_inventory(site, Policy(), scope="privileged"),
                             reviewer="rev@acme.test", started_by="ops", now=AUDIT)  # fmt: skip


def _entry(campaign, username):  # type: ignore[no-untyped-def]
    return next(e for e in campaign.entries if e.username == username)


def test_a_valid_decision_becomes_a_web_import(campaign) -> None:  # type: ignore[no-untyped-def]
    entry = _entry(campaign, "support")
    made = browser_decision(campaign, key=entry.key, decision="revoke", comment="left the team",
                            remove_grants=[], by="rev@acme.test", now=AUDIT)  # fmt: skip
    assert (made.file_format, made.file_name, made.imported_by) == ("web", "", "rev@acme.test")
    assert [(d.key, d.decision, d.comment, d.row) for d in made.decisions] == [
        (entry.key, "revoke", "left the team", 0)
    ]


@pytest.mark.parametrize(
    ("decision", "grants", "message"),
    [
        ("approve", [], "Decision 'approve' is not one of keep, revoke, modify, escalate"),
        ("keep", ["x"], "Remove grants must be empty for decision keep"),
        ("modify", [], "decision modify needs the grants to take away"),
        ("revoke", ["not-held"], "not-held is not held by support"),
    ],
)
def test_a_decision_breaking_a_rule_is_refused(campaign, decision, grants, message) -> None:  # type: ignore[no-untyped-def]
    entry = _entry(campaign, "support")
    with pytest.raises(BadInputError, match=message):
        browser_decision(campaign, key=entry.key, decision=decision, comment="",
                         remove_grants=grants, by="rev@acme.test")  # fmt: skip


def test_an_unknown_entry_and_a_long_comment_are_refused(campaign) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        BadInputError, match=r"'nobody' is not an entry to review.*longer than 2000"
    ):
        browser_decision(campaign, key="nobody", decision="keep", comment="x" * 2001,
                         remove_grants=[], by="rev@acme.test")  # fmt: skip
