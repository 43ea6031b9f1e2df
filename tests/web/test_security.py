"""Sign-in, sessions, CSRF, lockout, rate limit, cookies and headers of the dashboard."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import HTMX, PASSWORD, Fixture, csrf_of, login

from moodle_soc.api.users import LOGIN_REFUSED
from moodle_soc.web.app import create_app
from moodle_soc.web.security import CONTENT_SECURITY_POLICY


def _attempt(client: TestClient, username: str, password: str) -> int:
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
    )
    return answer.status_code


def test_signing_in_sets_a_session_cookie_that_scripts_cannot_read(client: TestClient) -> None:
    form = client.get("/login")
    done = client.post(
        "/login",
        data={"username": "manager", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
    )
    assert (done.status_code, done.headers["location"]) == (303, "/")
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("msoc_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/").status_code == 200


def test_over_tls_the_cookie_is_secure_and_hsts_is_sent(web_store: Fixture) -> None:
    app = create_app(str(web_store.path))
    with TestClient(app, base_url="https://dash.test", follow_redirects=False) as client:
        form = client.get("/login")
        assert form.headers["strict-transport-security"].startswith("max-age=31536000")
        done = client.post("/login", data={"username": "manager", "password": PASSWORD,
                                           "csrf_token": csrf_of(form.text)})  # fmt: skip
        cookie = next(c for c in done.headers.get_list("set-cookie") if "msoc_session=" in c)
        assert "Secure" in cookie


def test_plain_http_sends_no_hsts(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/login").headers


@pytest.mark.parametrize("path", ["/login", "/healthz", "/", "/nowhere", "/static/app.css"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "server" not in headers


def test_healthz_needs_no_sign_in_and_reveals_nothing(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")


def test_pages_carry_no_inline_script(client: TestClient, web_store: Fixture) -> None:
    login(client, "manager")
    for path in ("/", f"/sites/{web_store.acme_key}", f"/reviews/{web_store.acme_campaign}"):
        html = client.get(path).text
        assert html.count("<script") == 1 and HTMX in html  # the vendored htmx file only
        assert " on" + "click=" not in html
    assert client.get("/static/htmx.min.js").status_code == 200


def test_a_wrong_password_and_an_unknown_user_read_the_same(client: TestClient) -> None:
    for username in ("manager", "nobody"):
        form = client.get("/login")
        answer = client.post("/login", data={"username": username, "password": "wrong password!",
                                             "csrf_token": csrf_of(form.text)})  # fmt: skip
        assert answer.status_code == 401
        assert LOGIN_REFUSED in answer.text


def test_the_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"username": "manager", "password": PASSWORD})
    assert answer.status_code == 403
    assert "msoc_session" not in answer.headers.get("set-cookie", "")


def test_five_failures_lock_the_account_even_for_the_right_password(client: TestClient) -> None:
    for _ in range(5):
        assert _attempt(client, "manager", "wrong password!") == 401
    assert _attempt(client, "manager", PASSWORD) == 401
    assert _attempt(client, "admin", PASSWORD) == 303  # another account is untouched


def test_a_client_trying_too_often_is_slowed_down(web_store: Fixture) -> None:
    with TestClient(create_app(str(web_store.path), login_attempts_per_minute=3)) as client:
        assert [_attempt(client, "nobody", "x" * 12) for _ in range(4)] == [401, 401, 401, 429]


def test_a_state_changing_form_without_the_session_token_is_refused(
    client: TestClient, web_store: Fixture
) -> None:
    login(client, "admin")
    for token in ("", "forged"):
        answer = client.post("/admin/users/manager/disable", data={"csrf_token": token})
        assert answer.status_code == 403
        assert "security token" in answer.text


def test_signing_out_ends_the_session(client: TestClient) -> None:
    csrf = login(client, "manager")
    cookie = client.cookies.get("msoc_session")
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    client.cookies.set("msoc_session", cookie or "")
    assert client.get("/").status_code == 303  # the old cookie no longer signs anyone in


def test_disabling_a_user_ends_their_session_at_once(web_store: Fixture) -> None:
    app = create_app(str(web_store.path))
    with (
        TestClient(app, follow_redirects=False) as manager,
        TestClient(app, follow_redirects=False) as admin,
    ):
        login(manager, "manager")
        csrf = login(admin, "admin")
        assert manager.get("/").status_code == 200
        assert (
            admin.post("/admin/users/manager/disable", data={"csrf_token": csrf}).status_code == 303
        )
        assert manager.get("/").status_code == 303
        assert _attempt(manager, "manager", PASSWORD) == 401
