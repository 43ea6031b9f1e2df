"""Admin pages: the dashboard's users (disable, enable) and its audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from moodle_soc.web.access import ForbiddenError, route, store_of, user_of
from moodle_soc.web.render import audit, page, require_csrf

router = APIRouter(prefix="/admin")
ADMIN = ("admin",)


@route(router, "GET", "/users", ADMIN, response_class=HTMLResponse)
def users(request: Request) -> HTMLResponse:
    from moodle_soc.api.users import list_dashboard_users

    audit(request, "view", "/admin/users")
    names = {s.key: s.name for s in store_of(request).sites()}
    return page(
        request, "admin_users.html.j2", users=list_dashboard_users(store_of(request)), names=names
    )


@route(router, "POST", "/users/{username}/{change}", ADMIN)
def change_user(
    request: Request,
    username: str,
    change: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    from moodle_soc.api.users import (
        disable_dashboard_user,
        enable_dashboard_user,
        get_dashboard_user,
    )

    require_csrf(request, csrf_token)
    if change not in ("disable", "enable"):
        raise ForbiddenError("Users are disabled or enabled here; anything else is the CLI's.")
    if username == user_of(request).username and change == "disable":
        raise ForbiddenError("You cannot disable your own account.")
    get_dashboard_user(store_of(request), username)
    (disable_dashboard_user if change == "disable" else enable_dashboard_user)(
        store_of(request), username
    )
    audit(request, f"user_{change}", username)
    return RedirectResponse("/admin/users", status_code=303)


@route(router, "GET", "/audit", ADMIN, response_class=HTMLResponse)
def audit_log(request: Request) -> HTMLResponse:
    from moodle_soc.api.users import web_audit_log

    audit(request, "view", "/admin/audit")
    return page(request, "admin_audit.html.j2", entries=web_audit_log(store_of(request)))
