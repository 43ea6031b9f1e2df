"""The web dashboard's rows in the store: users, sessions and the append-only audit log.

Plain data access, no policy: ``api.users`` decides who may log in, hashes passwords and
expires sessions. Users and sessions are ordinary rows (a password is reset, a session ends);
the audit log only ever grows (migration 0002 refuses edits at the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from moodle_soc.evidence.store import schema
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.models.records import parse_utc_iso, utc_iso


@dataclass(frozen=True)
class WebUser:
    """A dashboard account. ``sites`` empty means every site; an auditor also has a period."""

    username: str
    role: str
    sites: tuple[str, ...]
    period: tuple[date, date] | None
    expires: date | None
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    password_changed_at: datetime
    password_hash: str

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and now.astimezone(UTC).date() > self.expires


@dataclass(frozen=True)
class WebSession:
    username: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    username: str
    action: str
    target: str
    detail: str
    client: str


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _user(row: Any) -> WebUser:
    start, end = _day(row.period_start), _day(row.period_end)
    return WebUser(
        username=row.username,
        role=row.role,
        sites=tuple(s for s in row.sites.split(",") if s),
        period=(start, end) if start and end else None,
        expires=_day(row.expires),
        disabled=bool(row.disabled),
        failed_logins=int(row.failed_logins),
        locked_until=parse_utc_iso(row.locked_until) if row.locked_until else None,
        created_at=parse_utc_iso(row.created_at),
        password_changed_at=parse_utc_iso(row.password_changed_at),
        password_hash=row.password_hash,
    )


def insert_user(store: EvidenceStore, user: WebUser) -> None:
    u = schema.web_users
    with store.writer().begin() as connection:
        if connection.execute(sa.select(u.c.username).where(u.c.username == user.username)).first():
            raise StoreError(f"A dashboard user named {user.username!r} already exists.")
        connection.execute(
            u.insert().values(
                username=user.username,
                role=user.role,
                sites=",".join(user.sites),
                period_start=user.period[0].isoformat() if user.period else None,
                period_end=user.period[1].isoformat() if user.period else None,
                expires=user.expires.isoformat() if user.expires else None,
                password_hash=user.password_hash,
                disabled=user.disabled,
                failed_logins=0,
                locked_until=None,
                created_at=utc_iso(user.created_at),
                password_changed_at=utc_iso(user.password_changed_at),
            )
        )


def get_user(store: EvidenceStore, username: str) -> WebUser | None:
    u = schema.web_users
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(u).where(u.c.username == username)).first()
    return None if row is None else _user(row)


def all_users(store: EvidenceStore) -> list[WebUser]:
    u = schema.web_users
    with store.engine.connect() as connection:
        return [_user(row) for row in connection.execute(sa.select(u).order_by(u.c.username))]


def update_user(store: EvidenceStore, username: str, **values: Any) -> None:
    """Change columns of one user (``locked_until`` as a datetime); unknown names fail."""
    if isinstance(values.get("locked_until"), datetime):
        values["locked_until"] = utc_iso(values["locked_until"])
    if isinstance(values.get("password_changed_at"), datetime):
        values["password_changed_at"] = utc_iso(values["password_changed_at"])
    u = schema.web_users
    with store.writer().begin() as connection:
        connection.execute(u.update().where(u.c.username == username).values(**values))


def count_failed_login(store: EvidenceStore, username: str) -> int:
    """Add one failed login atomically; returns the new count."""
    u = schema.web_users
    with store.writer().begin() as connection:
        connection.execute(
            u.update().where(u.c.username == username).values(failed_logins=u.c.failed_logins + 1)
        )
        found = connection.execute(
            sa.select(u.c.failed_logins).where(u.c.username == username)
        ).scalar_one_or_none()
    return int(found or 0)


def insert_session(store: EvidenceStore, token_sha256: str, session: WebSession) -> None:
    s = schema.web_sessions
    with store.writer().begin() as connection:
        connection.execute(
            s.insert().values(
                token_sha256=token_sha256,
                username=session.username,
                csrf_token=session.csrf_token,
                created_at=utc_iso(session.created_at),
                expires_at=utc_iso(session.expires_at),
            )
        )


def get_session(store: EvidenceStore, token_sha256: str) -> WebSession | None:
    s = schema.web_sessions
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(s).where(s.c.token_sha256 == token_sha256)).first()
    if row is None:
        return None
    return WebSession(
        username=row.username,
        csrf_token=row.csrf_token,
        created_at=parse_utc_iso(row.created_at),
        expires_at=parse_utc_iso(row.expires_at),
    )


def delete_sessions(
    store: EvidenceStore, *, token_sha256: str | None = None, username: str | None = None
) -> None:
    """End one session (by its token's hash) or every session of ``username``."""
    s = schema.web_sessions
    query = s.delete()
    if token_sha256 is not None:
        query = query.where(s.c.token_sha256 == token_sha256)
    elif username is not None:
        query = query.where(s.c.username == username)
    else:
        raise ValueError("name a session or a user")
    with store.writer().begin() as connection:
        connection.execute(query)


def delete_expired_sessions(store: EvidenceStore, now: datetime) -> None:
    s = schema.web_sessions
    with store.writer().begin() as connection:
        connection.execute(s.delete().where(s.c.expires_at < utc_iso(now)))


def append_audit(
    store: EvidenceStore,
    *,
    at: datetime,
    username: str,
    action: str,
    target: str,
    detail: str,
    client: str,
) -> None:
    a = schema.web_audit
    with store.writer().begin() as connection:
        connection.execute(
            a.insert().values(
                at=utc_iso(at),
                username=username[:200],
                action=action[:40],
                target=target,
                detail=detail,
                client=client[:100],
            )
        )


def append_audit_batch(store: EvidenceStore, entries: list[dict[str, Any]]) -> None:
    """Several audit lines in one transaction (``append_audit``'s keywords, one dict each)."""
    if not entries:
        return
    a = schema.web_audit
    rows = [
        {
            "at": utc_iso(e["at"]),
            "username": str(e["username"])[:200],
            "action": str(e["action"])[:40],
            "target": str(e["target"]),
            "detail": str(e["detail"]),
            "client": str(e["client"])[:100],
        }
        for e in entries
    ]
    with store.writer().begin() as connection:
        connection.execute(a.insert(), rows)


def audit_entries(store: EvidenceStore, *, limit: int = 500) -> list[AuditEntry]:
    """The newest ``limit`` entries, newest first."""
    a = schema.web_audit
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(a).order_by(a.c.seq.desc()).limit(limit)).all()
    return [
        AuditEntry(
            seq=int(row.seq),
            at=parse_utc_iso(row.at),
            username=row.username,
            action=row.action,
            target=row.target,
            detail=row.detail,
            client=row.client,
        )
        for row in rows
    ]
