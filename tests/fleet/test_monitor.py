"""The monitor: schedules, missed runs, and alerts raised once, by e-mail and webhooks."""

from __future__ import annotations

import email
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from moodle_soc.api import open_evidence_store
from moodle_soc.evidence.store.runs import load_run
from moodle_soc.fleet.inventory import Fleet, FleetSite, parse_fleet
from moodle_soc.fleet.monitor import due_sites, schedule_times, tick
from moodle_soc.fleet.outcome import SiteOutcome
from moodle_soc.fleet.scanning import scan_fleet_site
from moodle_soc.fleet.state import MonitorState, locked_state, read_state
from moodle_soc.models.run import AuditRun

from .conftest import MakeSite
from .servers import http_sink, smtp_sink

T0 = datetime(2026, 11, 29, 3, 0, 30, tzinfo=UTC)
#: The synthetic sites' own "now": scans judge ages against it (a monitor day is a minute),
#: so that only what a test changes changes.
AUDIT = datetime.fromtimestamp(1795936000, UTC)


def _fleet(sites: str, alerts: str) -> Fleet:
    return parse_fleet(f"defaults: {{schedule: '0 3 * * *'}}\nalerts:\n{alerts}sites:\n{sites}")


def _runner(store: str):  # type: ignore[no-untyped-def]
    def run(sites: list[FleetSite], now: datetime) -> list[SiteOutcome]:
        as_of = AUDIT + (now - T0) / 1440
        return [scan_fleet_site(site, store=store, as_of=as_of) for site in sites]

    return run


def _loader(store: str):  # type: ignore[no-untyped-def]
    def load(seq: int) -> AuditRun | None:
        with open_evidence_store(store) as evidence:
            return load_run(evidence, evidence.get(str(seq)))

    return load


def _set(url: str, name: str, value: str) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE mdl_config SET value = ? WHERE name = ?", (value, name))


def test_schedules_and_missed_runs() -> None:
    fleet = parse_fleet(
        "sites:\n  - {name: a, db: 'sqlite:///x', schedule: '0 3 * * *'}\n"
        "  - {name: b, db: 'sqlite:///y'}\n"
    )
    state = MonitorState()
    due, missed = due_sites(fleet.sites, state, T0)
    assert [s.name for s in due] == ["a"] and not missed  # b has no schedule
    state.site("a").last_attempt = T0
    assert due_sites(fleet.sites, state, T0 + timedelta(hours=23)) == ([], {})
    due, missed = due_sites(fleet.sites, state, T0 + timedelta(days=3, hours=1))
    assert [s.name for s in due] == ["a"]
    assert missed["a"] == schedule_times("0 3 * * *", T0, T0 + timedelta(days=2, hours=1))
    assert len(missed["a"]) == 2


def test_alerts_are_raised_once_and_delivered_everywhere(
    tmp_path: Path, sqlite_site: MakeSite
) -> None:
    weak = sqlite_site(1)
    store = str(tmp_path / "evidence.sqlite")
    with smtp_sink() as (port, mails), http_sink() as (base, posts):
        alerts = (
            f"  email: {{smtp_host: 127.0.0.1, smtp_port: {port}, from: soc@example.org,"
            " to: [ops@example.org]}\n"
            f"  webhooks:\n    - {{kind: slack, url: '{base}/slack'}}\n"
            f"    - {{kind: teams, url: '{base}/teams'}}\n"
            f"    - {{kind: json, url: '{base}/json'}}\n"
        )
        sites = (
            f"  - {{name: weak, db: '{weak}', client: acme}}\n"
            "  - {name: down, db: 'postgresql://nobody@127.0.0.1:1/x', client: beta}\n"
        )
        fleet = _fleet(sites, alerts)
        state = MonitorState()
        run, load = _runner(store), _loader(store)

        first = tick(fleet, state, now=T0, runner=run, load_run=load)
        assert sorted(a.kind for a in first.alerts) == ["baseline", "unscanned"]
        assert not first.problems and len(mails) == 1 and len(posts) == 3
        message = email.message_from_bytes(mails[0])
        assert message["To"] == "ops@example.org" and "2 alerts" in message["Subject"]
        assert "down could not be scanned" in message.get_payload()
        hooks = dict(posts)
        assert "First scan of weak" in hooks["/slack"]["text"]
        assert hooks["/teams"]["@type"] == "MessageCard"
        assert {a["kind"] for a in hooks["/json"]["alerts"]} == {"baseline", "unscanned"}

        # The next day nothing changed: both sites are scanned again, nothing is re-sent.
        second = tick(fleet, state, now=T0 + timedelta(days=1), runner=run, load_run=load)
        assert len(second.outcomes) == 2 and second.alerts == []
        assert len(mails) == 1 and len(posts) == 3

        # A fix, a new failure, and the site that was down comes back.
        _set(weak, "minpasswordlength", "20")
        _set(weak, "debugdisplay", "1")
        fixed_site = sites.replace("postgresql://nobody@127.0.0.1:1/x", sqlite_site(2))
        fleet = _fleet(fixed_site, alerts)
        third = tick(fleet, state, now=T0 + timedelta(days=2), runner=run, load_run=load)
        kinds = {(a.kind, a.check_id) for a in third.alerts}
        assert ("fixed", "authentication.password_length_meets_policy") in kinds
        assert ("new_failure", "hardening.debug_display_off") in kinds
        assert ("recovered", None) in kinds
        assert ("baseline", None) in kinds  # the site that was down, scanned at last
        assert len(mails) == 2

        # Two scheduled days missed (the monitor was stopped): one alert for them.
        fourth = tick(fleet, state, now=T0 + timedelta(days=5), runner=run, load_run=load)
        missed = [a for a in fourth.alerts if a.kind == "missed_schedule"]
        assert len(missed) == 2 and all(len(a.details["missed"]) == 2 for a in missed)
        # Besides: the debugdisplay change between the second and third scans is first seen as a
        # change (changes.* compare stored runs) once the third run is on record.
        others = {(a.kind, a.check_id) for a in fourth.alerts if a.kind != "missed_schedule"}
        assert others <= {("new_failure", "changes.developer_settings_unchanged")}

        # The failure comes back after its fix: alerted again, once.
        _set(weak, "minpasswordlength", "4")
        fifth = tick(fleet, state, now=T0 + timedelta(days=6), runner=run, load_run=load)
        assert [a.check_id for a in fifth.alerts if a.kind == "new_failure"] == [
            "authentication.password_length_meets_policy"
        ]


def test_digest_and_failed_delivery(tmp_path: Path, sqlite_site: MakeSite) -> None:
    store = str(tmp_path / "evidence.sqlite")
    run, load = _runner(store), _loader(store)
    sites = "  - {name: down, db: 'postgresql://nobody@127.0.0.1:1/x'}\n"
    dead = _fleet(sites, "  webhooks: [{kind: json, url: 'http://127.0.0.1:1/hook'}]\n")
    state = MonitorState()
    report = tick(dead, state, now=T0, runner=run, load_run=load)
    assert report.problems and "json webhook failed" in report.problems[0]
    assert [a.kind for a in state.pending] == ["unscanned"]  # kept for the next try
    with http_sink() as (base, posts):
        digest = _fleet(
            sites + f"  - {{name: ok, db: '{sqlite_site(3)}'}}\n",
            f"  mode: digest\n  digest_schedule: '0 8 * * *'\n"
            f"  webhooks: [{{kind: json, url: '{base}/d'}}]\n",
        )
        at_three = tick(digest, state, now=T0 + timedelta(days=1), runner=run, load_run=load)
        assert at_three.sent == [] and posts == []  # held for the 08:00 digest
        at_eight = tick(digest, state, now=T0 + timedelta(days=1, hours=5), runner=run,
                        load_run=load)  # fmt: skip
        assert len(posts) == 1 and posts[0][1]["digest"] is True
        assert sorted(a["kind"] for a in posts[0][1]["alerts"]) == ["baseline", "unscanned"]
        assert len(at_eight.sent) == 2 and state.pending == []


def test_the_state_file_survives_and_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "state" / "monitor.json"
    with locked_state(path) as state:
        state.site("a").last_attempt = T0
        state.sent["a|unscanned"] = T0
    again = read_state(path)
    assert again.site("a").last_attempt == T0 and "a|unscanned" in again.sent
    assert not list(path.parent.glob(".*.tmp"))
