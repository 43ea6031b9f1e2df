"""The compliance pages: sites, a site's overview, findings, a check, runs, the period, its
changes, readiness."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from moodle_soc.web.access import (
    READERS,
    check_site,
    route,
    store_of,
    user_of,
    within_for,
)
from moodle_soc.web.charts import trend_chart
from moodle_soc.web.render import audit, page

if TYPE_CHECKING:
    from moodle_soc.evidence.store.dashboard import WebUser

router = APIRouter()
Day = Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]


@route(router, "GET", "/", READERS, response_class=HTMLResponse)
def sites(request: Request) -> HTMLResponse:
    from moodle_soc.api.dashboard import dashboard_sites

    user = user_of(request)
    cards = dashboard_sites(store_of(request), user.sites)
    audit(request, "view", "/")
    return page(request, "sites.html.j2", cards=cards, within=within_for(user))


@route(router, "GET", "/sites/{site_key}", READERS, response_class=HTMLResponse)
def overview(request: Request, site_key: str) -> HTMLResponse:
    from moodle_soc.api.dashboard import site_overview

    check_site(request, site_key)
    found = site_overview(store_of(request), site_key, within=within_for(user_of(request)))
    names = ["Overall", *(c.category for c in found.readiness)]
    times = [p.audit_time for p in found.trend]
    series = {"Overall": [p.overall for p in found.trend]}
    for name in names[1:]:
        series[name] = [p.categories.get(name) for p in found.trend]
    audit(request, "view", request.url.path)
    return page(
        request,
        "overview.html.j2",
        o=found,
        chart=trend_chart(times, series) if times else None,
        tab="overview",
    )


@route(router, "GET", "/sites/{site_key}/findings", READERS, response_class=HTMLResponse)
def findings(
    request: Request,
    site_key: str,
    state: Annotated[str, Query(pattern="^(all|open|fixed)$")] = "all",
    severity: Annotated[str, Query(pattern="^(|critical|high|medium|low|info)$")] = "",
    check: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    from moodle_soc.api.dashboard import site_findings

    site = check_site(request, site_key)
    store, within = store_of(request), within_for(user_of(request))
    rows = site_findings(
        store, site_key, within=within, state=state, severity=severity or None, check=check
    )
    audit(request, "view", request.url.path, detail=str(request.url.query))
    return page(
        request,
        "findings.html.j2",
        o={"site": site},
        rows=rows,
        state=state,
        severity=severity,
        check=check,
        tab="findings",
    )


@route(router, "GET", "/sites/{site_key}/checks/{check_id}", READERS, response_class=HTMLResponse)
def check_detail(request: Request, site_key: str, check_id: str) -> HTMLResponse:
    from moodle_soc.api.dashboard import check_page

    site = check_site(request, site_key)
    store, within = store_of(request), within_for(user_of(request))
    found = check_page(store, site_key, check_id, within=within)
    audit(request, "view", request.url.path)
    return page(
        request,
        "check.html.j2",
        o={"site": site},
        c=found,
        tab="findings",
    )


@route(router, "GET", "/sites/{site_key}/runs", READERS, response_class=HTMLResponse)
def runs(
    request: Request,
    site_key: str,
    verify: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    from moodle_soc.api.dashboard import site_attachments, site_records, site_runs
    from moodle_soc.api.evidence import verify_store

    site = check_site(request, site_key)
    store, within = store_of(request), within_for(user_of(request))
    verification = verify_store(store, site=site_key) if verify else None
    if verification is not None:
        verdict = "intact" if verification.ok else "TAMPERED"
        audit(request, "verify_chain", request.url.path, detail=verdict)
    else:
        audit(request, "view", request.url.path)
    return page(
        request,
        "runs.html.j2",
        o={"site": site},
        runs=site_runs(store, site_key, within=within),
        attachments=site_attachments(store, site_key, within=within),
        records=site_records(store, site_key, within=within),
        verification=verification,
        tab="runs",
    )


@route(router, "GET", "/sites/{site_key}/period", READERS, response_class=HTMLResponse)
def period(request: Request, site_key: str, start: Day = None, end: Day = None) -> HTMLResponse:
    from moodle_soc.api.dashboard import site_period

    site = check_site(request, site_key)
    store, user = store_of(request), user_of(request)
    first, last = chosen_period(user.period if user.role == "auditor" else None, start, end)
    report = site_period(store, site_key, first, last)
    audit(request, "view", request.url.path, detail=f"{first}..{last}")
    return page(
        request,
        "period.html.j2",
        o={"site": site},
        report=report,
        start=first,
        end=last,
        tab="period",
    )


@route(router, "GET", "/sites/{site_key}/changes", READERS, response_class=HTMLResponse)
def changes(request: Request, site_key: str, start: Day = None, end: Day = None) -> HTMLResponse:
    """The changes between the stored runs of a period (an auditor: within their period, and
    without the run before it)."""
    from moodle_soc.api.changes import stored_changes

    site = check_site(request, site_key)
    store, user = store_of(request), user_of(request)
    auditor = user.role == "auditor"
    first, last = chosen_period(user.period if auditor else None, start, end)
    found = stored_changes(store, site_key, first, last, baseline=not auditor)
    audit(request, "view", request.url.path, detail=f"{first}..{last}")
    return page(
        request,
        "changes.html.j2",
        o={"site": site},
        found=found,
        start=first,
        end=last,
        tab="changes",
    )


def chosen_period(
    allowed: tuple[date, date] | None, start: str | None, end: str | None
) -> tuple[date, date]:
    """The period asked for (default: the auditor's period, else the last 90 days); an
    auditor's request must lie inside their audit period."""
    from moodle_soc.errors import UsageError
    from moodle_soc.web.access import ForbiddenError

    today = datetime.now(UTC).date()
    default = allowed or (today - timedelta(days=89), today)
    try:
        first = date.fromisoformat(start) if start else default[0]
        last = date.fromisoformat(end) if end else default[1]
    except ValueError:
        raise UsageError("The period's days must be dates such as 2026-01-31.") from None
    if last < first:
        raise UsageError(f"The period {first}..{last} ends before it starts.")
    if allowed and (first < allowed[0] or last > allowed[1]):
        raise ForbiddenError(
            f"Your audit period is {allowed[0]}..{allowed[1]}; {first}..{last} lies outside it."
        )
    return first, last


@route(router, "GET", "/sites/{site_key}/readiness", READERS, response_class=HTMLResponse)
def readiness(
    request: Request,
    site_key: str,
    status: Annotated[str, Query(pattern="^(|open|overdue|accepted|closed)$")] = "",
) -> HTMLResponse:
    """The readiness programme: scope, checklist, manual controls and their owners, exceptions
    and remediation items (as of the end of an auditor's period)."""
    from moodle_soc.api.readiness import list_exceptions, readiness_programme, remediation_items

    site = check_site(request, site_key)
    store, moment = store_of(request), as_of_for(user_of(request))
    programme = readiness_programme(store, site=site_key, as_of=moment)
    items = remediation_items(store, site=site_key, as_of=moment, status=status or None)
    audit(request, "view", request.url.path, detail=str(request.url.query))
    return page(
        request,
        "readiness.html.j2",
        o={"site": site},
        p=programme,
        exceptions=list_exceptions(store, site=site_key, as_of=moment),
        items=items,
        status=status,
        tab="readiness",
    )


def as_of_for(user: WebUser) -> datetime:
    """Now, or for an auditor the end of their audit period when that is earlier."""
    now = datetime.now(UTC)
    if user.role == "auditor" and user.period is not None:
        end = datetime.combine(user.period[1], time.max, UTC)
        return min(now, end)
    return now
