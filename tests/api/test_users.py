"""Dashboard accounts: argon2id hashes, the lockout and its end, sessions that end with the
account, its expiry or their lifetime, and refusals that never say which part was wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from moodle_soc.api.users import (
    LOCKOUT,
    LOGIN_REFUSED,
    SESSION_LIFETIME,
    LoginRefusedError,
    add_dashboard_user,
    dashboard_login,
    dashboard_logout,
    dashboard_session,
    disable_dashboard_user,
    reset_dashboard_password,
)
from moodle_soc.errors import UsageError
from moodle_soc.evidence.store.store import EvidenceStore, open_store

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
PASSWORD = "a long passphrase"


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_store(str(tmp_path / "e.sqlite"), create=True) as opened:
        add_dashboard_user(opened, "ann", role="manager", password=PASSWORD, now=T0)
        yield opened


def _refused(store: EvidenceStore, name: str, password: str, at: datetime) -> str:
    with pytest.raises(LoginRefusedError) as refused:
        dashboard_login(store, name, password, now=at)
    return refused.value.message


def test_the_password_is_kept_as_an_argon2id_hash(store: EvidenceStore) -> None:
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT password_hash FROM web_users").scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_every_refusal_reads_the_same(store: EvidenceStore) -> None:
    assert _refused(store, "nobody", PASSWORD, T0) == LOGIN_REFUSED
    assert _refused(store, "ann", "wrong password!", T0) == LOGIN_REFUSED


def test_five_failures_lock_the_account_until_the_lockout_ends(store: EvidenceStore) -> None:
    for minute in range(5):
        _refused(store, "ann", "wrong password!", T0 + timedelta(minutes=minute))
    _refused(store, "ann", PASSWORD, T0 + timedelta(minutes=5))  # locked: the right one too
    later = T0 + timedelta(minutes=4) + LOCKOUT + timedelta(seconds=1)
    assert dashboard_login(store, "ann", PASSWORD, now=later).user.failed_logins == 0


def test_four_failures_then_success_reset_the_count(store: EvidenceStore) -> None:
    for _ in range(4):
        _refused(store, "ann", "wrong password!", T0)
    dashboard_login(store, "ann", PASSWORD, now=T0)
    for _ in range(4):
        _refused(store, "ann", "wrong password!", T0)
    assert dashboard_login(store, "ann", PASSWORD, now=T0).user.username == "ann"


def test_a_session_lasts_its_lifetime_and_ends_on_logout(store: EvidenceStore) -> None:
    signed = dashboard_login(store, "ann", PASSWORD, now=T0)
    assert dashboard_session(store, signed.token, now=T0 + SESSION_LIFETIME - timedelta(seconds=1))
    assert dashboard_session(store, signed.token, now=T0 + SESSION_LIFETIME) is None
    again = dashboard_login(store, "ann", PASSWORD, now=T0)
    dashboard_logout(store, again.token)
    assert dashboard_session(store, again.token, now=T0) is None
    with store.engine.connect() as connection:  # only the token's hash is kept
        kept = connection.exec_driver_sql("SELECT token_sha256 FROM web_sessions").scalars().all()
    assert again.token not in kept and signed.token not in kept


def test_disabling_or_resetting_ends_every_session(store: EvidenceStore) -> None:
    first = dashboard_login(store, "ann", PASSWORD, now=T0)
    reset_dashboard_password(store, "ann", "another long one", now=T0)
    assert dashboard_session(store, first.token, now=T0) is None
    second = dashboard_login(store, "ann", "another long one", now=T0)
    disable_dashboard_user(store, "ann")
    assert dashboard_session(store, second.token, now=T0) is None
    _refused(store, "ann", "another long one", T0)


def test_an_auditor_stops_working_after_the_expiry_day_even_mid_session(
    store: EvidenceStore,
) -> None:
    add_dashboard_user(store, "aud", role="auditor", password=PASSWORD, expires=date(2026, 12, 1),
                       period=(date(2026, 1, 1), date(2026, 11, 30)), now=T0)  # fmt: skip
    evening = datetime(2026, 12, 1, 20, tzinfo=UTC)  # the session would last until 04:00
    signed = dashboard_login(store, "aud", PASSWORD, now=evening)
    assert dashboard_session(store, signed.token, now=datetime(2026, 12, 1, 23, 59, tzinfo=UTC))
    after = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert dashboard_session(store, signed.token, now=after) is None
    _refused(store, "aud", PASSWORD, datetime(2026, 12, 2, tzinfo=UTC))


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("bob", {"role": "owner"}, "--role 'owner' must be one of"),
        ("bob smith", {"role": "manager"}, "must be 1-200 characters without spaces"),
        ("bob", {"role": "auditor"}, "An auditor needs --period"),
        ("bob", {"role": "manager", "password": "short"}, "at least 12 characters"),
    ],
)
def test_bad_accounts_are_refused(store: EvidenceStore, name, options, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message):
        add_dashboard_user(store, name, **{"password": PASSWORD, **options})
