"""Access-review campaigns in the browser: reviewers decide keep/revoke/modify/escalate with a
comment and sign off; managers and auditors read. The rules are the CLI's (``api.reviews``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from moodle_soc.web.access import (
    EVERYONE,
    ForbiddenError,
    NotFoundError,
    may_see_campaign,
    route,
    signed_in,
    store_of,
    user_of,
)
from moodle_soc.web.render import audit, page, require_csrf

if TYPE_CHECKING:
    from moodle_soc.evidence.store.dashboard import WebUser
    from moodle_soc.models.reviews import Campaign

router = APIRouter()


def visible(user: WebUser, campaign: Campaign) -> bool:
    """Reviewers see their own campaigns; auditors those of their sites started in their
    period; staff every campaign of their sites."""
    if not may_see_campaign(user, campaign.start.reviewer, campaign.start.site_key):
        return False
    if user.role == "auditor" and user.period is not None:
        started = campaign.start.started_at.date()
        return user.period[0] <= started <= user.period[1]
    return True


def campaign_for(request: Request, campaign_id: str) -> Campaign:
    from moodle_soc.api.reviews import get_review
    from moodle_soc.errors import BadInputError

    try:
        found = get_review(store_of(request), campaign_id)
    except BadInputError:
        raise NotFoundError() from None
    if found.id != campaign_id or not visible(user_of(request), found):
        raise NotFoundError()
    return found


def may_decide(user: WebUser, campaign: Campaign) -> bool:
    """Only the campaign's own reviewer decides and signs off (segregation of duties)."""
    return user.role == "reviewer" and may_see_campaign(
        user, campaign.start.reviewer, campaign.start.site_key
    )


@route(router, "GET", "/reviews", EVERYONE, response_class=HTMLResponse)
def reviews(request: Request) -> HTMLResponse:
    from moodle_soc.api.reviews import list_reviews

    user = user_of(request)
    shown = [c for c in list_reviews(store_of(request)) if visible(user, c)]
    audit(request, "view", "/reviews")
    return page(request, "reviews.html.j2", campaigns=shown[::-1])


@route(router, "GET", "/reviews/{campaign_id}", EVERYONE, response_class=HTMLResponse)
def campaign(request: Request, campaign_id: str, notice: str = "") -> HTMLResponse:
    found = campaign_for(request, campaign_id)
    audit(request, "view", request.url.path)
    return _campaign_page(request, found, notice=notice[:200])


def _campaign_page(
    request: Request, found: Campaign, *, error: str = "", notice: str = "", status: int = 200
) -> HTMLResponse:
    return page(
        request,
        "review.html.j2",
        status,
        c=found,
        rows=[_row(found, entry.key) for entry in found.entries],
        counts=found.counts(),
        oob=False,
        can_decide=may_decide(user_of(request), found) and found.close is None,
        error=error,
        notice=notice,
    )


def _row(found: Campaign, key: str, error: str = "") -> dict[str, object]:
    return {
        "entry": found.entry(key),
        "tag": found.tag(key),
        "decision": found.decisions.get(key),
        "decided_at": found.decided_at(key),
        "error": error,
    }


def _row_fragment(request: Request, found: Campaign, key: str, error: str = "") -> HTMLResponse:
    """What htmx swaps in after a decision: the entry's row, and the counts (out of band)."""
    from moodle_soc.reports.templating import environment

    context = {
        "c": found,
        "row": _row(found, key, error),
        "counts": found.counts(),
        "oob": True,
        "can_decide": may_decide(user_of(request), found) and found.close is None,
        "csrf_token": signed_in(request).csrf_token,
    }
    env = environment()
    html = env.get_template("web/review_row.html.j2").render(**context)
    html += env.get_template("web/review_counts.html.j2").render(**context)
    return HTMLResponse(html)


@route(router, "POST", "/reviews/{campaign_id}/decisions", ("reviewer",))
def decide(
    request: Request,
    campaign_id: str,
    key: Annotated[str, Form(max_length=300)],
    decision: Annotated[str, Form(max_length=20)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
    remove_grants: Annotated[list[str] | None, Form()] = None,
) -> Response:
    from moodle_soc.api.reviews import decide_review_entry
    from moodle_soc.errors import MoodleSocError

    require_csrf(request, csrf_token)
    found = campaign_for(request, campaign_id)
    user = user_of(request)
    if not may_decide(user, found):
        raise ForbiddenError("Only the campaign's reviewer records its decisions.")
    htmx = request.headers.get("hx-request") == "true"
    try:
        decide_review_entry(
            store_of(request),
            found.id,
            key=key,
            decision=decision,
            comment=comment.strip(),
            remove_grants=[g for g in remove_grants or [] if g],
            by=user.username,
        )
    except MoodleSocError as refused:
        if htmx and found.entry(key) is not None:  # the refusal shows in the entry's row
            return _row_fragment(request, found, key, refused.message)
        return _campaign_page(request, found, error=refused.message, status=400)
    audit(request, "review_decision", f"/reviews/{found.id}", detail=f"{key}: {decision}")
    if htmx:
        return _row_fragment(request, campaign_for(request, found.id), key)
    return RedirectResponse(f"/reviews/{found.id}#entry-{key}", status_code=303)


@route(router, "POST", "/reviews/{campaign_id}/signoff", ("reviewer",))
def sign_off(
    request: Request,
    campaign_id: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    follow_up_days: Annotated[int, Form(ge=0, le=365)] = 14,
) -> Response:
    from moodle_soc.api.reviews import close_review
    from moodle_soc.errors import MoodleSocError

    require_csrf(request, csrf_token)
    found = campaign_for(request, campaign_id)
    user = user_of(request)
    if not may_decide(user, found):
        raise ForbiddenError("Only the campaign's reviewer signs it off.")
    try:
        close_review(store_of(request), found.id, by=user.username, follow_up_days=follow_up_days)
    except MoodleSocError as refused:
        return _campaign_page(request, found, error=refused.message, status=400)
    audit(request, "review_signoff", f"/reviews/{found.id}")
    return RedirectResponse(f"/reviews/{found.id}", status_code=303)
