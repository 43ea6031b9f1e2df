"""Pages rendered with the project's one Jinja environment (``reports.templating``), and the
small helpers every page handler shares: the audit line, the CSRF check of a form."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from moodle_soc.web.access import ForbiddenError, signed_in, store_of
from moodle_soc.web.security import same_token


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """``web/<template>`` rendered with the signed-in user (if any) and their CSRF token."""
    from moodle_soc.reports.templating import environment

    current = getattr(request.state, "signed_in", None)
    html = (
        environment()
        .get_template(f"web/{template}")
        .render(
            user=current.user if current else None,
            csrf_token=current.csrf_token if current else "",
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def audit(request: Request, action: str, target: str = "", detail: str = "") -> None:
    """One line of the dashboard's audit log, for the signed-in user: a page view is queued
    (written within half a second), anything else is written before the answer is sent."""
    from moodle_soc.api.users import record_web_action

    if action == "view":
        request.app.state.audit_queue.add(
            signed_in(request).user.username,
            action,
            target,
            detail=detail,
            client=client_of(request),
        )
        return
    record_web_action(
        store_of(request),
        signed_in(request).user.username,
        action,
        target,
        detail=detail,
        client=client_of(request),
    )


def require_csrf(request: Request, given: str | None) -> None:
    """A state-changing form must carry the session's CSRF token (else 403)."""
    if not same_token(signed_in(request).csrf_token, given):
        raise ForbiddenError("The form's security token is missing or stale; reload the page.")
