"""schemathesis against the JSON API's OpenAPI schema: every answer to generated requests (a
signed-in manager's) is documented, well-typed and never a server error."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from tests.web.conftest import Fixture, login

from moodle_soc.web.app import create_app


def test_the_json_api_conforms_to_its_schema(web_store: Fixture) -> None:
    app = create_app(str(web_store.path))
    with TestClient(app, follow_redirects=False) as client:
        login(client, "manager")
        cookies = {"msoc_session": client.cookies.get("msoc_session")}
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 3
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=25, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            def conforms(case: schemathesis.Case) -> None:
                case.call_and_validate(cookies=cookies)

            conforms()
