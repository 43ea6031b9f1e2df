"""The public trust page: served at /trust without sign-in only when published, with counts and
no finding, and a policy that lets only its own stylesheet apply."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.web.conftest import Fixture

from moodle_soc.api.dashboard import site_overview
from moodle_soc.evidence.store.store import open_store
from moodle_soc.web.app import TrustSettings, create_app


def test_nothing_is_published_unless_asked(client: TestClient) -> None:
    assert client.get("/trust").status_code == 404


def test_the_published_trust_page_needs_no_sign_in_and_shows_no_finding(
    web_store: Fixture,
) -> None:
    trust = TrustSettings("Acme Academy", "security@acme.example", ("soc2",))
    with TestClient(create_app(str(web_store.path), trust=trust)) as client:
        answer = client.get("/trust")
    assert answer.status_code == 200
    assert "mailto:security@acme.example" in answer.text
    with open_store(str(web_store.path)) as store:
        failing = site_overview(store, web_store.acme_key).failing
    assert failing and not any(f.check_id in answer.text for f in failing)
    policy = answer.headers["content-security-policy"]
    assert re.fullmatch(
        r"default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src data:;"
        r" base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        policy,
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
