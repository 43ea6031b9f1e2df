"""One scan asks the database each question once: the facade remembers every answer it shares."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from moodle_soc.api.demo import _CONFIG_PHP
from moodle_soc.api.scan import judge_site
from moodle_soc.evidence.store.runs import site_ref_for_site
from moodle_soc.evidence.store.store import EvidenceStore, open_store
from moodle_soc.inventory.build import build_inventory
from moodle_soc.inventory.roster import parse_roster
from moodle_soc.models.reviews import Decision, DecisionImport
from moodle_soc.policy import Policy
from moodle_soc.reviews.campaigns import close_campaign, record_decisions, start_campaign
from moodle_soc.site.cache import ById, once_per_site
from moodle_soc.synthetic.acme import build_acme
from moodle_soc.synthetic.builder import SiteBuilder

AUDIT_TIME = datetime.fromtimestamp(1795936000, UTC)  # the synthetic sites' "now"


class Asker:
    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    @once_per_site
    def answer(self, n: int, scale: int = 2, ignore: tuple[str, ...] = ()) -> int:
        self.asked.append((n, scale, ignore))
        return n * scale


def test_an_answer_is_computed_once_per_object_and_arguments():
    asker = Asker()
    assert [asker.answer(3), asker.answer(3, 2), asker.answer(n=3), asker.answer(4)] == [6, 6, 6, 8]
    asker.answer(3, ignore=["a"]), asker.answer(3, ignore=("a",))  # a list is keyed as a tuple
    assert asker.asked == [(3, 2, ()), (4, 2, ()), (3, 2, ["a"])]
    assert Asker().answer(3) == 6  # another object asks for itself


def test_by_id_reads_only_ids_never_asked_before():
    reads: list[list[int]] = []

    def read(ids: list[int]) -> dict[int, str]:
        reads.append(ids)
        return {i: f"user{i}" for i in ids if i != 9}

    known = ById[str]()
    assert known.get([3, 1, 9, 1], read) == {1: "user1", 3: "user3"}
    assert known.get({9, 3, 4}, read) == {3: "user3", 4: "user4"}
    assert known.get([1, 9], read) == {1: "user1"}
    assert reads == [[1, 3, 9], [4]]


def _closed_campaigns(store: EvidenceStore, builder: SiteBuilder, make_site: Any, cfg: str) -> None:
    """Two signed-off reviews (privileged and all accounts) that revoke everything, so the
    follow-up check builds the current inventory of both scopes during the scan."""
    started = AUDIT_TIME - timedelta(days=5)
    for scope in ("privileged", "all"):
        site = make_site(builder, config_php=cfg, audit_time=started)
        inventory = build_inventory(site, Policy(), scope=scope)
        campaign = start_campaign(
            store, site_ref_for_site(site), inventory, reviewer="r@acme.test", started_by="ops",
            now=started,
        )  # fmt: skip
        decisions = [
            Decision(key=e.key, decision="revoke", reviewer="r@acme.test", row=n)
            for n, e in enumerate(campaign.entries, start=2)
        ]
        signed = started + timedelta(days=1)
        record_decisions(store, campaign, DecisionImport(
            campaign_id=campaign.id, imported_by="r@acme.test", imported_at=signed,
            file_name="r.csv", file_sha256="0" * 64, file_format="csv",
            decisions=decisions))  # fmt: skip
        close_campaign(store, campaign, by="ciso@acme.test", now=signed, follow_up_days=14)


def test_a_full_scan_runs_no_query_twice(tmp_path: Path, make_site: Any):
    builder = build_acme(users=40)
    config_php = _CONFIG_PHP.format(prefix=builder.prefix, wwwroot=builder.wwwroot)
    store = open_store(str(tmp_path / "evidence.sqlite"), create=True)
    try:
        _closed_campaigns(store, builder, make_site, config_php)
        site = make_site(builder, config_php=config_php)
        roster = parse_roster("username,status,leave_date\nadmin,active,\nghost,left,2026-01-01\n")
        run = judge_site(site, roster=roster, store=store)
    finally:
        store.close()

    asked = Counter((q["sql"], json.dumps(q["params"], sort_keys=True)) for q in site.queries)
    repeated = {sql: n for (sql, _), n in asked.items() if n > 1}
    assert not repeated, f"queries run more than once in one scan: {repeated}"
    # the scan really reached the inventory of both scopes, the roster and the follow-ups
    assert not [c.id for c in run.checks if c.status == "error"]
    follow_ups = [f for f in run.findings if f.check_id == "reviews.revocations_carried_out"]
    assert len({f.observed.get("campaign") for f in follow_ups}) == 2
    assert any("people: users by username" in q["purpose"] for q in site.queries)
    assert any("people: every non-deleted user" in q["purpose"] for q in site.queries)


@pytest.mark.parametrize("area", ["privileges", "people", "populations"])
def test_every_area_is_one_cached_object(builder: SiteBuilder, make_site: Any, area: str):
    site = make_site(builder)
    assert getattr(site, area) is getattr(site, area)
