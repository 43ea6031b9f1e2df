"""The web dashboard's accounts: who may log in, with which role, and the dashboard's audit log.

Accounts live in the evidence store (``--store``), so every worker of a dashboard and the CLI
that manages its users agree. Passwords are hashed with argon2id; a login that fails
``MAX_FAILED_LOGINS`` times in a row locks the account for ``LOCKOUT``. Sessions are found by
the SHA-256 of their cookie, so the store never holds a token that logs anybody in.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from moodle_soc.errors import BadInputError, UsageError

if TYPE_CHECKING:
    from moodle_soc.evidence.store.dashboard import AuditEntry, WebUser
    from moodle_soc.evidence.store.store import EvidenceStore

ROLES = ("admin", "manager", "reviewer", "auditor")
MIN_PASSWORD_LENGTH = 12
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)
# Every refused login reads the same, so the page never tells which usernames exist.
LOGIN_REFUSED = "The username or password is wrong, or the account cannot log in now."
# argon2id takes 64 MiB per hash: a burst of sign-ins waits here instead of exhausting memory.
_HASHING = threading.BoundedSemaphore(4)


class LoginRefusedError(BadInputError):
    """A login that did not succeed (the message never says why)."""


@dataclass(frozen=True)
class SignedIn:
    """A live session: its user, the cookie value, and the CSRF token of its forms."""

    user: WebUser
    token: str
    csrf_token: str


def add_dashboard_user(
    store: EvidenceStore,
    username: str,
    *,
    role: str,
    password: str,
    sites: tuple[str, ...] | list[str] = (),
    expires: date | None = None,
    period: tuple[date, date] | None = None,
    now: datetime | None = None,
) -> WebUser:
    """Create a dashboard account. ``sites`` (names, keys or wwwroots of the store's sites)
    scope it, empty meaning every site; an auditor needs ``period`` (their audit period) and
    ``expires`` (the day after which the account stops working)."""
    from moodle_soc.evidence.store.dashboard import WebUser, insert_user

    name = username.strip()
    if not name or any(ch.isspace() for ch in name) or len(name) > 200:
        raise UsageError(f"The username {username!r} must be 1-200 characters without spaces.")
    if role not in ROLES:
        raise UsageError(f"--role {role!r} must be one of {', '.join(ROLES)}.")
    if role == "auditor" and (period is None or expires is None):
        raise UsageError("An auditor needs --period FROM..TO (the audit period) and --expires.")
    if period is not None and period[1] < period[0]:
        raise UsageError(f"The period {period[0]}..{period[1]} ends before it starts.")
    keys = tuple(store.find_site(site).key for site in sites)
    moment = now or datetime.now(UTC)
    user = WebUser(
        username=name,
        role=role,
        sites=keys,
        period=period,
        expires=expires,
        disabled=False,
        failed_logins=0,
        locked_until=None,
        created_at=moment,
        password_changed_at=moment,
        password_hash=hash_password(password),
    )
    insert_user(store, user)
    return user


def list_dashboard_users(store: EvidenceStore) -> list[WebUser]:
    from moodle_soc.evidence.store.dashboard import all_users

    return all_users(store)


def get_dashboard_user(store: EvidenceStore, username: str) -> WebUser:
    from moodle_soc.evidence.store.dashboard import get_user as find

    found = find(store, username)
    if found is None:
        raise BadInputError(f"No dashboard user named {username!r} in {store.display}.")
    return found


def disable_dashboard_user(store: EvidenceStore, username: str) -> WebUser:
    """Stop the account from logging in and end its sessions now."""
    from moodle_soc.evidence.store.dashboard import delete_sessions, update_user

    get_dashboard_user(store, username)
    update_user(store, username, disabled=True)
    delete_sessions(store, username=username)
    return get_dashboard_user(store, username)


def enable_dashboard_user(store: EvidenceStore, username: str) -> WebUser:
    from moodle_soc.evidence.store.dashboard import update_user

    get_dashboard_user(store, username)
    update_user(store, username, disabled=False)
    return get_dashboard_user(store, username)


def reset_dashboard_password(
    store: EvidenceStore, username: str, password: str, *, now: datetime | None = None
) -> WebUser:
    """Set a new password, lift a lockout and end the account's sessions."""
    from moodle_soc.evidence.store.dashboard import delete_sessions, update_user

    get_dashboard_user(store, username)
    update_user(
        store,
        username,
        password_hash=hash_password(password),
        failed_logins=0,
        locked_until=None,
        password_changed_at=now or datetime.now(UTC),
    )
    delete_sessions(store, username=username)
    return get_dashboard_user(store, username)


def hash_password(password: str) -> str:
    """argon2id, with argon2-cffi's defaults (RFC 9106's second recommendation)."""
    from argon2 import PasswordHasher

    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    with _HASHING:
        return PasswordHasher().hash(password)


def _password_matches(stored_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        with _HASHING:
            return PasswordHasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: list[str] = []


def dashboard_login(
    store: EvidenceStore, username: str, password: str, *, now: datetime | None = None
) -> SignedIn:
    """Check the password and open a session; a refusal raises ``LoginRefusedError`` with the
    same sentence whatever the reason (unknown user, wrong password, locked, disabled,
    expired), and takes as long."""
    from moodle_soc.evidence.store.dashboard import (
        WebSession,
        count_failed_login,
        delete_expired_sessions,
        insert_session,
        update_user,
    )
    from moodle_soc.evidence.store.dashboard import (
        get_user as find,
    )

    moment = now or datetime.now(UTC)
    user = find(store, username.strip()) if username.strip() else None
    if user is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password(secrets.token_hex(16)))
        _password_matches(_DUMMY_HASH[0], password)  # the same work as for a real account
        raise LoginRefusedError(LOGIN_REFUSED)
    locked = user.locked_until is not None and user.locked_until > moment
    if locked or not _password_matches(user.password_hash, password):
        if not locked and count_failed_login(store, user.username) >= MAX_FAILED_LOGINS:
            update_user(store, user.username, locked_until=moment + LOCKOUT, failed_logins=0)
        raise LoginRefusedError(LOGIN_REFUSED)
    if user.disabled or user.expired(moment):
        raise LoginRefusedError(LOGIN_REFUSED)
    if user.failed_logins or user.locked_until is not None:
        update_user(store, user.username, failed_logins=0, locked_until=None)
    delete_expired_sessions(store, moment)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    insert_session(
        store,
        _token_hash(token),
        WebSession(user.username, csrf, created_at=moment, expires_at=moment + SESSION_LIFETIME),
    )
    return SignedIn(user=get_dashboard_user(store, user.username), token=token, csrf_token=csrf)


def dashboard_session(
    store: EvidenceStore, token: str, *, now: datetime | None = None
) -> SignedIn | None:
    """The live session whose cookie is ``token``: None when it is unknown or expired, or its
    user is disabled or past their expiry."""
    from moodle_soc.evidence.store.dashboard import get_session
    from moodle_soc.evidence.store.dashboard import get_user as find

    if not token or len(token) > 200:
        return None
    moment = now or datetime.now(UTC)
    session = get_session(store, _token_hash(token))
    if session is None or session.expires_at <= moment:
        return None
    user = find(store, session.username)
    if user is None or user.disabled or user.expired(moment):
        return None
    return SignedIn(user=user, token=token, csrf_token=session.csrf_token)


def dashboard_logout(store: EvidenceStore, token: str) -> None:
    from moodle_soc.evidence.store.dashboard import delete_sessions

    delete_sessions(store, token_sha256=_token_hash(token))


def record_web_action(
    store: EvidenceStore,
    username: str,
    action: str,
    target: str = "",
    *,
    detail: str = "",
    client: str = "",
    now: datetime | None = None,
) -> None:
    """Append one line to the dashboard's audit log (who, did what, to what, from where)."""
    from moodle_soc.evidence.store.dashboard import append_audit

    append_audit(
        store,
        at=now or datetime.now(UTC),
        username=username,
        action=action,
        target=target,
        detail=detail,
        client=client,
    )


class AuditQueue:
    """Page views for the audit log, written in batches by a background thread (at most
    ``interval`` seconds late), so a page never waits for the store's write lock; every other
    action is written at once with ``record_web_action``. ``close`` writes what is left."""

    def __init__(self, store: EvidenceStore, *, interval: float = 0.5) -> None:
        self._store = store
        self._interval = interval
        self._pending: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="msoc-audit", daemon=True)
        self._thread.start()

    def add(self, username: str, action: str, target: str = "", *, detail: str = "",
            client: str = "") -> None:  # fmt: skip
        entry = {"at": datetime.now(UTC), "username": username, "action": action,
                 "target": target, "detail": detail, "client": client}  # fmt: skip
        with self._lock:
            self._pending.append(entry)

    def flush(self) -> None:
        from moodle_soc.evidence.store.dashboard import append_audit_batch

        with self._lock:
            batch, self._pending = self._pending, []
        try:
            append_audit_batch(self._store, batch)
        except Exception:
            with self._lock:  # the store is busy or down: keep the lines for the next try
                self._pending[:0] = batch
            raise

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(Exception):  # kept and retried by ``flush``
                self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()


def web_audit_log(store: EvidenceStore, *, limit: int = 500) -> list[AuditEntry]:
    """The dashboard's audit log, newest first (views queued by an ``AuditQueue`` appear once
    it has flushed them)."""
    from moodle_soc.evidence.store.dashboard import audit_entries

    return audit_entries(store, limit=limit)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
