"""Who may use which route: every route is declared with its roles through ``route``, which
records the rule in ``RULES`` (docs/web.md's table is checked against it) and enforces it.

admin: everything, and the users and audit pages. manager: everything but users. auditor:
read-only, only their sites, only runs of their audit period, until their expiry. reviewer:
only the campaigns they are the reviewer of. Anonymous: the login page and ``/healthz``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request

if TYPE_CHECKING:
    from moodle_soc.api.users import SignedIn
    from moodle_soc.evidence.store.dashboard import WebUser
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.records import SiteRef

SESSION_COOKIE = "msoc_session"
ROLES = ("admin", "manager", "reviewer", "auditor")
STAFF = ("admin", "manager")
READERS = ("admin", "manager", "auditor")
EVERYONE = ROLES


@dataclass(frozen=True)
class Rule:
    """A route's authorization: ``roles`` None means public (no login)."""

    method: str
    path: str
    roles: tuple[str, ...] | None
    note: str = ""


RULES: dict[tuple[str, str], Rule] = {}


class NotSignedInError(Exception):
    """No live session: pages redirect to the login page, the JSON API answers 401."""


class ForbiddenError(Exception):
    """Signed in, but the role may not use this route, or a form lacks its CSRF token (403)."""

    def __init__(self, message: str = "Your role may not use this page.") -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(Exception):
    """Nothing here for this user (an unknown site, or one outside an auditor's scope)."""


def store_of(request: Request) -> EvidenceStore:
    store: EvidenceStore = request.app.state.store
    return store


def signed_in(request: Request) -> SignedIn:
    """The request's live session, or ``NotSignedInError``."""
    from moodle_soc.api.users import dashboard_session

    found = getattr(request.state, "signed_in", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    token = request.cookies.get(SESSION_COOKIE, "")
    found = dashboard_session(store_of(request), token) if token else None
    if found is None:
        raise NotSignedInError()
    request.state.signed_in = found
    return found


def route(
    router: APIRouter,
    method: str,
    path: str,
    roles: tuple[str, ...] | None,
    *,
    note: str = "",
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``path`` on ``router`` for ``roles`` (None: public) and record the rule."""

    def require(request: Request) -> None:
        if roles is None:
            return
        user = signed_in(request).user
        if user.role not in roles:
            raise ForbiddenError()

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        prefix = router.prefix
        RULES[(method, prefix + path)] = Rule(method, prefix + path, roles, note)
        # Only the JSON API is described by the OpenAPI schema; pages and downloads are not.
        options.setdefault("include_in_schema", (prefix + path).startswith("/api/"))
        router.add_api_route(
            path, handler, methods=[method], dependencies=[Depends(require)], **options
        )
        return handler

    return decorate


def user_of(request: Request) -> WebUser:
    return signed_in(request).user


def visible_site_keys(user: WebUser) -> tuple[str, ...]:
    """The site keys ``user`` may see; empty means every site."""
    return user.sites if user.role in ("auditor", "manager", "admin") else ()


def check_site(request: Request, site_key: str) -> SiteRef:
    """The site, or ``NotFoundError`` unless it exists and is in the user's scope."""
    user = user_of(request)
    if user.role == "reviewer":
        raise ForbiddenError()
    found = next((s for s in store_of(request).sites() if s.key == site_key), None)
    if found is None or (user.sites and site_key not in user.sites):
        raise NotFoundError()
    return found


def within_for(user: WebUser) -> tuple[date, date] | None:
    """The runs a user sees: an auditor only those of their audit period."""
    return user.period if user.role == "auditor" else None


def may_see_campaign(user: WebUser, reviewer: str, site_key: str) -> bool:
    if user.role == "reviewer":
        return reviewer.strip().lower() == user.username.strip().lower()
    return not user.sites or site_key in user.sites
