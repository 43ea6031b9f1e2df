"""The confined probe client: only the wwwroot is requested, redirects are not followed."""

from __future__ import annotations

import pytest
from tests.probes.servers import Site, serve

from moodle_soc.probes.http import WebProbe


def test_requests_stay_below_the_wwwroot_path() -> None:
    site = Site(leaking=True, base="/moodle")
    with serve(site) as port:
        web = WebProbe(f"http://127.0.0.1:{port}/moodle/")
        assert web.get("/composer.json").status == 200
        assert web.head("/config.php").status == 200
        assert web.get("/composer.json").status == 200  # cached: asked once
    assert site.requested == ["/moodle/composer.json", "/moodle/config.php"]
    assert web.requested == [
        f"GET http://127.0.0.1:{port}/moodle/composer.json",
        f"HEAD http://127.0.0.1:{port}/moodle/config.php",
    ]


@pytest.mark.parametrize("path", ["composer.json", "/../etc/passwd", "//evil.test/x",
                                  "/x/../../y", "/http://evil.test/"])  # fmt: skip
def test_paths_that_would_leave_the_wwwroot_are_refused(path: str) -> None:
    web = WebProbe("http://127.0.0.1:9/moodle")
    with pytest.raises(ValueError, match="must stay below the wwwroot"):
        web.get(path)
    assert web.requested == []


def test_redirects_are_reported_not_followed() -> None:
    elsewhere = Site(leaking=True)
    with (
        serve(elsewhere) as other,
        serve(Site(False, redirect_to=f"http://127.0.0.1:{other}")) as port,
    ):
        response = WebProbe(f"http://127.0.0.1:{port}").get("/login/index.php")
    assert response.status == 301
    assert response.header("Location") == f"http://127.0.0.1:{other}/login/index.php"
    assert elsewhere.requested == []


def test_a_closed_port_is_an_answerless_response_not_an_exception() -> None:
    with serve(Site(leaking=False)) as port:
        pass  # the port is closed again
    response = WebProbe(f"http://127.0.0.1:{port}", timeout=1).get("/")
    assert response.status == 0 and response.error


def test_only_http_urls_are_probed() -> None:
    with pytest.raises(ValueError, match="is not an http"):
        WebProbe("ftp://example.test/")
