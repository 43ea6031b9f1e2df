"""The dashboard application: ``create_app(store_location)`` for ``moodle-soc serve`` and tests,
``from_environment`` for ``uvicorn --factory`` (``MOODLE_SOC_STORE`` names the store)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles

from moodle_soc.errors import MoodleSocError
from moodle_soc.web.access import (
    RULES,
    SESSION_COOKIE,
    ForbiddenError,
    NotFoundError,
    NotSignedInError,
    Rule,
    store_of,
)
from moodle_soc.web.render import client_of, page
from moodle_soc.web.security import LoginRateLimit, SecurityHeaders, same_token

STATIC = Path(__file__).with_name("static")
LOGIN_COOKIE = "msoc_login"
STORE_ENV = "MOODLE_SOC_STORE"
LOGIN_RATE_ENV = "MOODLE_SOC_LOGIN_RATE"
TRUST_ENV = ("MOODLE_SOC_TRUST_SITE", "MOODLE_SOC_TRUST_CONTACT", "MOODLE_SOC_TRUST_FRAMEWORKS")


@dataclass(frozen=True)
class TrustSettings:
    """The one site whose public trust page ``/trust`` serves (publishing is opt-in)."""

    site: str
    contact: str
    frameworks: tuple[str, ...] = ("soc2",)


def create_app(
    store_location: str,
    *,
    login_attempts_per_minute: int = 10,
    trust: TrustSettings | None = None,
) -> FastAPI:
    """The dashboard over the evidence store at ``store_location`` (opened at start-up; a
    missing or unreadable store stops the server with its one-line error). ``trust`` publishes
    one site's trust page at ``/trust``, without sign-in."""
    from moodle_soc.api.stores import open_evidence_store
    from moodle_soc.api.users import AuditQueue

    store = open_evidence_store(store_location)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.audit_queue = AuditQueue(store)
        try:
            yield
        finally:
            app.state.audit_queue.close()
            store.close()

    app = FastAPI(
        title="moodle-soc dashboard",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.store = store
    app.state.login_limit = LoginRateLimit(attempts=login_attempts_per_minute)
    app.state.trust = trust
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _install_error_pages(app)
    _install_login(app)

    for router in _routers():
        app.include_router(router)
    return app


def _routers() -> list[APIRouter]:
    from moodle_soc.web import admin, downloads, jsonapi, pages, reviews

    return [module.router for module in (pages, reviews, downloads, admin, jsonapi)]


def declared_rules() -> dict[tuple[str, str], Rule]:
    """Every route's authorization rule (importing the route modules declares them)."""
    _routers()
    return dict(RULES)


def from_environment() -> FastAPI:
    """For ``uvicorn --factory moodle_soc.web.app:from_environment``: the store named by
    ``$MOODLE_SOC_STORE``, sign-ins per client address per minute by ``$MOODLE_SOC_LOGIN_RATE``
    (default 10), and the published trust page by ``$MOODLE_SOC_TRUST_SITE``,
    ``$MOODLE_SOC_TRUST_CONTACT`` and ``$MOODLE_SOC_TRUST_FRAMEWORKS`` (comma-separated)."""
    location = os.environ.get(STORE_ENV)
    if not location:
        raise MoodleSocError(f"Set {STORE_ENV} to the evidence store the dashboard serves.")
    rate = os.environ.get(LOGIN_RATE_ENV, "10")
    if not rate.isdigit() or int(rate) < 1:
        raise MoodleSocError(f"{LOGIN_RATE_ENV} must be a whole number of 1 or more.")
    site, contact, frameworks = (os.environ.get(name, "") for name in TRUST_ENV)
    trust = None
    if site and contact:
        names = tuple(f.strip() for f in frameworks.split(",") if f.strip()) or ("soc2",)
        trust = TrustSettings(site, contact, names)
    return create_app(location, login_attempts_per_minute=int(rate), trust=trust)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedInError)
    async def not_signed_in(request: Request, _exc: NotSignedInError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(ForbiddenError)
    async def forbidden(request: Request, exc: ForbiddenError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=403)
        return page(request, "error.html.j2", 403, title="Not allowed", message=exc.message)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, _exc: NotFoundError) -> Response:
        message = "There is nothing here, or nothing you may see."
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=404)
        return page(request, "error.html.j2", 404, title="Not found", message=message)

    @app.exception_handler(MoodleSocError)
    async def refused(request: Request, exc: MoodleSocError) -> Response:
        message = " ".join(exc.message.split())
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=400)
        return page(request, "error.html.j2", 400, title="Refused", message=message)


def _install_login(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/trust", include_in_schema=False)
    def trust_page(request: Request) -> Response:
        """The published site's public trust page (counts only, never a finding), or 404."""
        settings: TrustSettings | None = request.app.state.trust
        if settings is None:
            raise NotFoundError()
        from moodle_soc.api.frameworks import latest_run, render_trust_page

        run = latest_run(store_of(request), settings.site)
        html = render_trust_page(run, contact=settings.contact, frameworks=settings.frameworks)
        return HTMLResponse(html, headers={"content-security-policy": _trust_policy(html)})

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request) -> Response:
        return _login_page(request)

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        from moodle_soc.api.users import LoginRefusedError, record_web_action
        from moodle_soc.api.users import dashboard_login as sign_in

        store = store_of(request)
        client = client_of(request)
        if not same_token(request.cookies.get(LOGIN_COOKIE, ""), csrf_token):
            return _login_page(request, "The form expired; please sign in again.", 403)
        if not request.app.state.login_limit.allow(client):
            record_web_action(store, username, "login_throttled", client=client)
            return _login_page(request, "Too many sign-in attempts; wait a minute.", 429)
        try:
            signed = sign_in(store, username, password)
        except LoginRefusedError as refused:
            record_web_action(store, username, "login_failed", client=client)
            return _login_page(request, refused.message, 401)
        record_web_action(store, signed.user.username, "login", client=client)
        home = "/reviews" if signed.user.role == "reviewer" else "/"
        response = RedirectResponse(home, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            signed.token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
        from moodle_soc.api.users import dashboard_logout as sign_out
        from moodle_soc.api.users import dashboard_session

        store = store_of(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        current = dashboard_session(store, token) if token else None
        if current is not None and same_token(current.csrf_token, csrf_token):
            sign_out(store, token)
            request.state.signed_in = current
            from moodle_soc.web.render import audit

            audit(request, "logout")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def _trust_policy(html: str) -> str:
    """The trust page is self-contained: only its own inline stylesheet may apply (by hash)."""
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in styles
    )
    allowed = hashes or "'none'"
    return (
        f"default-src 'none'; style-src {allowed}; img-src data:;"
        " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _login_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    """The login form with a fresh double-submit CSRF token (a cookie and a hidden field)."""
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html.j2", status_code, error=error, login_token=token)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
        max_age=3600,
    )
    return response
