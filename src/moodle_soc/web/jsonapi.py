"""The JSON API (``/api/v1``): the same reads as the pages, for scripts and monitoring. It
answers only a signed-in session (the dashboard's cookie) and only with what the role may see;
its OpenAPI schema is at ``/api/v1/openapi.json``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from moodle_soc.web.access import READERS, check_site, route, store_of, user_of, within_for

router = APIRouter(prefix="/api/v1")


class Detail(BaseModel):
    """Why the request was refused, in one sentence."""

    detail: str


# Every answer besides 200 and FastAPI's 422: signed out, role refused, out of scope, refused.
REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"model": Detail, "description": "Refused (the sentence says why)."},
    401: {"model": Detail, "description": "Not signed in."},
    403: {"model": Detail, "description": "The role may not use this route."},
    404: {"model": Detail, "description": "No such site, or not one the user may see."},
}


class SiteOut(BaseModel):
    key: str
    name: str
    wwwroot: str | None
    runs: int
    last_scan: datetime | None
    overall_score: float | None
    failed_checks: int


class CategoryOut(BaseModel):
    category: str
    name: str
    score: float | None
    met: int
    gap: int
    error: int
    manual: int


class FailingOut(BaseModel):
    check_id: str
    title: str
    severity: str
    resources: list[str]


class GapOut(BaseModel):
    start: date
    end: date
    days: int


class OverviewOut(BaseModel):
    key: str
    name: str
    last_scan: datetime | None
    overall_score: float | None
    readiness: list[CategoryOut]
    failing: list[FailingOut]
    monitoring_gaps: list[GapOut]


class FindingOut(BaseModel):
    check_id: str
    resource: str
    severity: str
    reason: str
    first_seen: datetime
    last_failed: datetime
    resolved_at: datetime | None
    failing_runs: int
    recurrences: int


@route(router, "GET", "/sites", READERS, response_model=list[SiteOut], responses=REFUSALS)
def sites(request: Request) -> list[SiteOut]:
    from moodle_soc.api.dashboard import dashboard_sites

    cards = dashboard_sites(store_of(request), user_of(request).sites)
    return [
        SiteOut(
            key=c.site.key,
            name=c.site.name,
            wwwroot=c.site.wwwroot,
            runs=c.runs,
            last_scan=c.last_scan,
            overall_score=c.overall_score,
            failed_checks=c.failed_checks,
        )
        for c in cards
    ]


@route(router, "GET", "/sites/{site_key}", READERS, response_model=OverviewOut, responses=REFUSALS)
def overview(request: Request, site_key: str) -> OverviewOut:
    from moodle_soc.api.dashboard import site_overview

    check_site(request, site_key)
    o = site_overview(store_of(request), site_key, within=within_for(user_of(request)))
    return OverviewOut(
        key=o.site.key,
        name=o.site.name,
        last_scan=o.last_scan,
        overall_score=o.overall_score,
        readiness=[
            CategoryOut(
                category=c.category,
                name=c.name,
                score=c.score,
                met=c.met,
                gap=c.gap,
                error=c.error,
                manual=c.manual,
            )
            for c in o.readiness
        ],
        failing=[
            FailingOut(
                check_id=f.check_id,
                title=f.title,
                severity=f.severity,
                resources=[r.resource for r in f.resources],
            )
            for f in o.failing
        ],
        monitoring_gaps=[GapOut(start=g.start, end=g.end, days=g.days) for g in o.monitoring_gaps],
    )


@route(
    router,
    "GET",
    "/sites/{site_key}/findings",
    READERS,
    response_model=list[FindingOut],
    responses=REFUSALS,
)
def findings(
    request: Request,
    site_key: str,
    state: Annotated[str, Query(pattern="^(all|open|fixed)$")] = "all",
) -> list[FindingOut]:
    from moodle_soc.api.dashboard import site_findings

    check_site(request, site_key)
    rows = site_findings(
        store_of(request), site_key, within=within_for(user_of(request)), state=state
    )
    return [FindingOut.model_validate(r.model_dump()) for r in rows]
