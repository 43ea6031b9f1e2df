"""The fleet at a glance: sites × control areas, branch support, drift and last scans.

Built from the stored fleet runs only (the latest per site), so it shows what the evidence
shows. Drift compares the settings each run observed: among production sites, a value that
differs from the majority's (the fleet's baseline) is drift; a staging site is compared with
the production site it pairs with. A report for one client reads and shows that client's
sites only, baseline included.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from moodle_soc.fleet.inventory import Fleet, FleetSite
from moodle_soc.fleet.runs import FleetRun, latest_runs
from moodle_soc.fleet.support import BranchSupport, branch_support, support_data_available

_WORST = ("fail", "error", "accepted", "manual", "pass", "not_applicable")


class AreaCell(BaseModel):
    model_config = ConfigDict(frozen=True)

    area: str
    status: str  # the worst check status in the area, or "none" (no check ran)
    passed: int
    total: int


class SiteRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    client: str
    host: str | None
    environment: str
    last_scan: datetime | None  # audit time of the latest stored run
    recorded_at: datetime | None
    record_seq: int | None
    moodle_label: str | None
    moodle_release: str | None
    support: BranchSupport | None
    failed: int
    cells: tuple[AreaCell, ...]


class DriftItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    setting: str
    site: str
    value: str
    baseline: str
    against: str  # "fleet baseline" or the production site a staging site pairs with


class HostEvidence(BaseModel):
    """Hosting evidence attached once to a host, inherited by every site on it."""

    model_config = ConfigDict(frozen=True)

    host: str
    sites: tuple[str, ...]
    controls: tuple[str, ...]  # "A1.3 (dr-test.pdf, effective 2026-10-01)"


class FleetReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    generated_at: datetime
    fleet: str
    client: str | None
    areas: tuple[str, ...]
    sites: tuple[SiteRow, ...]
    never_scanned: tuple[str, ...]
    unsupported: tuple[str, ...]
    support_data: bool
    drift: tuple[DriftItem, ...]
    baseline_sites: int
    hosting: tuple[HostEvidence, ...] = ()


def build_report(
    store: Any, fleet: Fleet, *, client: str | None = None, now: datetime | None = None
) -> FleetReport:
    """The report of ``fleet`` (or of ``client``'s sites only) from ``store``'s runs."""
    moment = now or datetime.now(UTC)
    sites = [s for s in fleet.sites if client is None or s.client == client]
    runs = latest_runs(store, [s.name for s in sites])
    areas = _areas(runs)
    rows = [
        _row(site, next(iter(runs.get(site.name) or []), None), areas, moment.date())
        for site in sites
    ]
    settings = {
        site.name: observed_settings(run[0].payload, fleet.drift.ignore)
        for site in sites
        if (run := runs.get(site.name))
    }
    drift, baseline_count = _drift(sites, settings)
    return FleetReport(
        generated_at=moment,
        fleet=fleet.path,
        client=client,
        areas=areas,
        sites=tuple(rows),
        never_scanned=tuple(row.name for row in rows if row.last_scan is None),
        unsupported=tuple(
            row.name for row in rows if row.support and row.support.state == "unsupported"
        ),
        support_data=support_data_available(),
        drift=tuple(drift),
        baseline_sites=baseline_count,
        hosting=_hosting(store, sites),
    )


def _hosting(store: Any, sites: list[FleetSite]) -> tuple[HostEvidence, ...]:
    from moodle_soc.fleet.tenancy import host_controls

    found = []
    for host in sorted({s.host for s in sites if s.host}):
        controls = tuple(
            f"{c['control']} ({c['filename']}, effective {c['effective_date']})"
            for c in host_controls(store, host)
        )
        on_host = tuple(s.name for s in sites if s.host == host)
        found.append(HostEvidence(host=host, sites=on_host, controls=controls))
    return tuple(found)


def _areas(runs: dict[str, list[FleetRun]]) -> tuple[str, ...]:
    from moodle_soc.checks.registry import all_checks

    order = list(dict.fromkeys(spec.area for spec in all_checks()))
    seen = {c["area"] for rs in runs.values() for r in rs for c in r.payload.get("checks", [])}
    return tuple([a for a in order if a in seen] + sorted(seen - set(order)))


def _row(site: FleetSite, run: FleetRun | None, areas: tuple[str, ...], today: date) -> SiteRow:
    if run is None:
        cells = tuple(AreaCell(area=a, status="none", passed=0, total=0) for a in areas)
        return SiteRow(
            name=site.name, client=site.client, host=site.host, environment=site.environment,
            last_scan=None, recorded_at=None, record_seq=None, moodle_label=None,
            moodle_release=None, support=None, failed=0, cells=cells,
        )  # fmt: skip
    payload = run.payload
    by_area: dict[str, list[str]] = {}
    for check in payload.get("checks", []):
        by_area.setdefault(check["area"], []).append(check["status"])
    cells = tuple(_cell(area, by_area.get(area, [])) for area in areas)
    info = payload.get("site", {})
    label = info.get("moodle_label")
    return SiteRow(
        name=site.name,
        client=site.client,
        host=site.host,
        environment=site.environment,
        last_scan=run.record.collected_at,
        recorded_at=run.record.created_at,
        record_seq=run.record.seq,
        moodle_label=label,
        moodle_release=info.get("moodle_release"),
        support=branch_support(label, today) if label else None,
        failed=int(payload.get("summary", {}).get("by_status", {}).get("fail", 0)),
        cells=cells,
    )


def _cell(area: str, statuses: list[str]) -> AreaCell:
    if not statuses:
        return AreaCell(area=area, status="none", passed=0, total=0)
    worst = next((s for s in _WORST if s in statuses), statuses[0])
    return AreaCell(area=area, status=worst, passed=statuses.count("pass"), total=len(statuses))


def observed_settings(payload: dict[str, Any], ignore: tuple[str, ...] = ()) -> dict[str, str]:
    """The settings a run observed, as ``name`` (or ``plugin/name``) -> value text.

    The run's ``site_state`` when it has one (every setting the checks read); else the
    observed values of findings about settings."""
    found: dict[str, str] = {}
    state = payload.get("site_state")
    if isinstance(state, dict) and isinstance(state.get("settings"), list):
        for item in state["settings"]:
            plugin, name = item.get("plugin", "core"), item.get("name", "")
            key = name if plugin in ("core", "", None) else f"{plugin}/{name}"
            if key not in ignore and name not in ignore:
                found[key] = _text(item.get("value"))
        return found
    for finding in payload.get("findings", []):
        if not str(finding.get("resource", "")).startswith("setting:"):
            continue
        for key, value in (finding.get("observed") or {}).items():
            if key not in ignore:
                found[key] = _text(value)
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _drift(
    sites: list[FleetSite], settings: dict[str, dict[str, str]]
) -> tuple[list[DriftItem], int]:
    production = [s.name for s in sites if s.environment == "production" and s.name in settings]
    items: list[DriftItem] = []
    keys = sorted({k for name in production for k in settings[name]})
    for key in keys:
        values = {name: settings[name][key] for name in production if key in settings[name]}
        if len(values) < 3:
            continue  # no majority among fewer than three sites
        value, count = Counter(values.values()).most_common(1)[0]
        if count * 2 <= len(values):
            continue  # no majority: no baseline for this setting
        for name, seen in sorted(values.items()):
            if seen != value:
                items.append(
                    DriftItem(
                        setting=key, site=name, value=seen, baseline=value, against="fleet baseline"
                    )
                )
    for site in sites:
        pair = site.pairs_with
        if site.environment != "staging" or pair is None:
            continue
        if site.name not in settings or pair not in settings:
            continue
        mine, theirs = settings[site.name], settings[pair]
        for key in sorted(set(mine) & set(theirs)):
            if mine[key] != theirs[key]:
                items.append(
                    DriftItem(
                        setting=key, site=site.name, value=mine[key], baseline=theirs[key],
                        against=pair,
                    )
                )  # fmt: skip
    return items, len(production)


def render_json(report: FleetReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def render_html(report: FleetReport) -> str:
    from moodle_soc.reports.templating import environment

    template = environment().get_template("fleet.html.j2")
    return template.render(report=report)
