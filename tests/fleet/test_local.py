"""Local workers: every site gets an outcome, a bad or hung site never stops the others."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from moodle_soc.api import open_evidence_store
from moodle_soc.fleet.inventory import parse_fleet
from moodle_soc.fleet.local import run_local
from moodle_soc.fleet.runs import latest_runs

from .conftest import MakeSite

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_bad_sites_fail_alone_and_good_ones_are_stored(
    tmp_path: Path, sqlite_site: MakeSite
) -> None:
    good = [sqlite_site(n) for n in range(3)]
    weak = sqlite_site(7, minpasswordlength=4)
    not_moodle = tmp_path / "empty.sqlite"
    sqlite3.connect(not_moodle).execute("CREATE TABLE t (x)").connection.close()
    locked = sqlite_site(9)
    holder = sqlite3.connect(locked.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # readers wait for the lock: the scan hangs
    text = "sites:\n" + "".join(
        f"  - {{name: good{n}, db: '{url}', client: acme}}\n" for n, url in enumerate(good)
    )
    text += f"""\
  - {{name: weak, db: '{weak}', client: beta}}
  - {{name: down, db: 'postgresql://nobody@127.0.0.1:1/moodle', client: beta}}
  - {{name: foreign, db: 'sqlite:///{not_moodle}', client: beta}}
  - {{name: hung, db: '{locked}', client: beta, timeout: 2}}
"""
    fleet = parse_fleet(text)
    store = str(tmp_path / "evidence.sqlite")
    events: list[tuple[str, bool]] = []
    try:
        outcomes = run_local(
            fleet.sites,
            store=store,
            as_of=AS_OF,
            workers=3,
            events=lambda site, done: events.append((site.name, done is not None)),
        )
    finally:
        holder.close()
    by_name = {o.site: o for o in outcomes}
    assert [o.site for o in outcomes] == [s.name for s in fleet.sites]
    assert all(by_name[f"good{n}"].scanned for n in range(3))
    assert by_name["weak"].status == "findings" and by_name["weak"].worst
    assert "password_length_meets_policy" not in by_name["weak"].reason  # a count, not a list
    assert (by_name["down"].error_kind, by_name["down"].status) == ("connect", "error")
    assert "Cannot connect" in by_name["down"].reason
    assert by_name["foreign"].error_kind == "not_moodle"
    assert by_name["hung"].error_kind == "timeout"
    assert "timed out after 2 s" in by_name["hung"].reason
    assert sorted(name for name, done in events if done) == sorted(by_name)
    with open_evidence_store(store) as evidence:
        runs = latest_runs(evidence, [s.name for s in fleet.sites])
        assert {name for name, found in runs.items() if found} == {
            "good0", "good1", "good2", "weak",
        }  # fmt: skip
        tag = runs["weak"][0].tag
        assert (tag["site"], tag["client"]) == ("weak", "beta")
        assert runs["weak"][0].record.collected_at == AS_OF


def test_a_repeated_request_stores_nothing_twice(tmp_path: Path, sqlite_site: MakeSite) -> None:
    fleet = parse_fleet(f"sites:\n  - {{name: a, db: '{sqlite_site(1)}'}}\n")
    store = str(tmp_path / "evidence.sqlite")
    first = run_local(fleet.sites, store=store, as_of=AS_OF, workers=1)[0]
    again = run_local(fleet.sites, store=store, as_of=AS_OF, workers=1)[0]
    later = run_local(fleet.sites, store=store, as_of=AS_OF.replace(hour=13), workers=1)[0]
    assert first.stored and not again.stored and later.stored
    assert again.record_seq == first.record_seq and later.record_seq != first.record_seq
    assert "already stored by an earlier delivery" in again.line()
    with open_evidence_store(store) as evidence:
        assert len(evidence.records(kind="run")) == 2


def test_two_fleet_sites_cannot_share_one_moodle_chain(
    tmp_path: Path, sqlite_site: MakeSite
) -> None:
    url = sqlite_site(4)
    fleet = parse_fleet(
        f"sites:\n  - {{name: prod, db: '{url}', client: acme}}\n"
        f"  - {{name: clone, db: '{url}', client: other}}\n"
    )
    store = str(tmp_path / "evidence.sqlite")
    prod, clone = run_local(fleet.sites, store=store, as_of=AS_OF, workers=1)
    assert prod.scanned
    assert clone.error_kind == "input"
    assert "has the Moodle site identifier of fleet site prod" in clone.reason
