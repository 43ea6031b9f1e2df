"""The probe checks against local web servers: each fails on a leaking site and passes on a
hardened one, and nothing outside the wwwroot is ever requested."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests.probes.servers import Site, self_signed, serve

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import all_checks, get_check
from moodle_soc.checks.runner import evaluate
from moodle_soc.checks.web import HSTS_MIN_SECONDS, PUBLIC_PATHS, _max_age
from moodle_soc.policy import Policy
from moodle_soc.probes.http import WebProbe
from moodle_soc.results import Result, Severity, Status
from moodle_soc.site.phpconfig import PhpConfig
from moodle_soc.synthetic.builder import SiteBuilder

WEB_CHECKS = sorted(spec.id for spec in all_checks() if spec.area == "web")
NOW = datetime.now(UTC)


def cfg(dataroot: str, root: str = "/var/www/moodle") -> PhpConfig:
    """config.php in ``root``: the synthetic site is 5.1, whose web server serves root/public."""
    return PhpConfig(path=f"{root}/config.php", values={"dataroot": dataroot})


@pytest.fixture
def judge(builder, make_site):
    def results(
        check_id: str,
        web: WebProbe | None,
        *,
        probe: bool = True,
        config: PhpConfig | None = None,
        wwwroot: str | None = None,
        release: str | None = None,
    ) -> list[Result]:
        address = wwwroot or (web.wwwroot if web else None)
        base = SiteBuilder(release=release) if release else builder
        site = make_site(base, config_php=config, audit_time=NOW, wwwroot=address)
        scan = ScanContext(site, Policy(), probe=probe, web=web)
        return evaluate(get_check(check_id), scan)

    return results


def statuses(results: list[Result]) -> set[Status]:
    return {r.status for r in results}


@pytest.fixture
def leaking() -> Iterator[tuple[Site, int]]:
    site = Site(leaking=True)
    with serve(site) as port:
        yield site, port


@pytest.fixture
def hardened() -> Iterator[tuple[Site, int]]:
    site = Site(leaking=False)
    with serve(site) as port:
        yield site, port


@pytest.mark.parametrize("check_id", WEB_CHECKS)
def test_without_probe_every_web_check_is_manual_and_requests_nothing(judge, check_id):
    [result] = judge(check_id, None, probe=False, wwwroot="https://acme.example.test")
    assert result.status is Status.MANUAL
    assert "run with --probe" in result.reason


@pytest.mark.parametrize("check_id", WEB_CHECKS)
def test_without_a_wwwroot_every_web_check_is_manual_naming_the_input(judge, check_id):
    [result] = judge(check_id, None)
    assert result.status is Status.MANUAL
    assert "give --config <config.php> or --wwwroot <url>" in result.reason


def test_public_paths_fail_on_the_leaking_site(judge, leaking):
    site, port = leaking
    results = judge("web.public_paths_not_served", WebProbe(f"http://127.0.0.1:{port}"))
    assert [r.status for r in results] == [Status.FAIL] * len(PUBLIC_PATHS)
    config = next(r for r in results if r.resource == "url:/config.php")
    assert config.reason == (
        f"http://127.0.0.1:{port}/config.php answered HTTP 200; it exposes config.php as"
        " source (database password)."
    )
    assert sorted(site.requested) == sorted(path for path, _, _ in PUBLIC_PATHS)


def test_public_paths_pass_on_the_hardened_site(judge, hardened):
    _, port = hardened
    results = judge("web.public_paths_not_served", WebProbe(f"http://127.0.0.1:{port}"))
    assert statuses(results) == {Status.PASS}
    assert (
        results[0].reason
        == f"http://127.0.0.1:{port}/.git/HEAD answered HTTP 404; it is not served."
    )


def test_dataroot_served_from_the_web_is_critical(judge, leaking):
    _, port = leaking
    web = WebProbe(f"http://127.0.0.1:{port}")
    config = cfg("/var/www/moodle/public/moodledata")
    [result] = judge("web.dataroot_not_served", web, config=config)
    assert (result.status, result.severity) == (Status.FAIL, Severity.CRITICAL)
    assert (
        f"http://127.0.0.1:{port}/moodledata/diag/public.txt served Moodle's test file"
        in result.reason
    )


def test_dataroot_inside_the_document_root_but_not_served_still_fails_as_moodle_warns(
    judge, hardened
):
    _, port = hardened
    web = WebProbe(f"http://127.0.0.1:{port}")
    config = cfg("/var/www/moodle/public/moodledata")
    [result] = judge("web.dataroot_not_served", web, config=config)
    assert (result.status, result.severity) == (Status.FAIL, Severity.MEDIUM)
    assert "answered HTTP 404, but a web server rule is all that keeps it private" in result.reason


def test_dataroot_outside_the_document_root_passes_without_a_request(judge, hardened):
    site, port = hardened
    web = WebProbe(f"http://127.0.0.1:{port}")
    [result] = judge("web.dataroot_not_served", web, config=cfg("/var/moodledata"))
    assert result.status is Status.PASS
    assert result.reason == (
        "dataroot /var/moodledata lies outside the document root /var/www/moodle/public/, so"
        " no URL reaches it."
    )
    assert site.requested == []


def test_from_5_1_a_dataroot_beside_config_php_but_outside_public_passes(judge, hardened):
    """5.1 serves <root>/public: a dataroot in <root> (beside config.php) is out of reach."""
    site, port = hardened
    web = WebProbe(f"http://127.0.0.1:{port}")
    [result] = judge("web.dataroot_not_served", web, config=cfg("/var/www/moodle/moodledata"))
    assert result.status is Status.PASS
    assert result.observed["document_root"] == "/var/www/moodle/public/"
    assert site.requested == []


def test_before_5_1_the_folder_of_config_php_is_the_document_root(judge, hardened):
    _, port = hardened
    web = WebProbe(f"http://127.0.0.1:{port}")
    config = cfg("/var/www/moodle/moodledata")
    [result] = judge("web.dataroot_not_served", web, config=config, release="4.5")
    assert (result.status, result.severity) == (Status.FAIL, Severity.MEDIUM)
    assert result.observed["document_root"] == "/var/www/moodle/"


def test_dataroot_url_outside_the_wwwroot_path_is_not_requested(judge, leaking):
    """wwwroot /moodle maps to /var/www/html/moodle: the dataroot's URL /moodledata/... lies
    beside the wwwroot, so it is judged from config.php alone."""
    site, port = leaking
    web = WebProbe(f"http://127.0.0.1:{port}/moodle")
    config = cfg("/var/www/html/moodledata", root="/var/www/html/moodle")
    [result] = judge("web.dataroot_not_served", web, config=config, release="4.5")
    assert (result.status, result.severity) == (Status.FAIL, Severity.MEDIUM)
    assert "is outside the wwwroot, so it was not fetched" in result.reason
    assert site.requested == []


def test_dataroot_without_config_php_is_manual(judge, hardened):
    _, port = hardened
    [result] = judge("web.dataroot_not_served", WebProbe(f"http://127.0.0.1:{port}"))
    assert result.status is Status.MANUAL and "give --config <config.php>" in result.reason


def test_php_version_and_headers_fail_on_the_leaking_site(judge, leaking):
    _, port = leaking
    web = WebProbe(f"http://127.0.0.1:{port}")
    [php] = judge("web.php_version_hidden", web)
    assert php.status is Status.FAIL
    assert php.reason == "X-Powered-By is 'PHP/8.1.2'; it names the PHP version."
    [headers] = judge("web.security_headers_sent", web)
    assert headers.status is Status.FAIL
    assert headers.reason == (
        f"http://127.0.0.1:{port}/ sends no X-Content-Type-Options: nosniff and no"
        " X-Frame-Options or CSP frame-ancestors."
    )


def test_php_version_and_headers_pass_on_the_hardened_site(judge, hardened):
    _, port = hardened
    web = WebProbe(f"http://127.0.0.1:{port}")
    assert statuses(judge("web.php_version_hidden", web)) == {Status.PASS}
    assert statuses(judge("web.security_headers_sent", web)) == {Status.PASS}


@pytest.mark.parametrize(
    "check_id", ["web.tls_current", "web.hsts_enabled", "web.login_https_only"]
)
def test_an_http_wwwroot_fails_the_transport_checks(judge, hardened, check_id):
    site, port = hardened
    [result] = judge(check_id, WebProbe(f"http://127.0.0.1:{port}"))
    assert result.status is Status.FAIL
    assert (
        result.reason
        == f"The wwwroot http://127.0.0.1:{port} is plain http: nothing is encrypted in transit."
    )
    assert site.requested == []


def test_an_unreachable_wwwroot_is_an_error_not_a_pass(judge):
    with serve(Site(leaking=False)) as port:
        pass
    [result] = judge("web.php_version_hidden", WebProbe(f"http://127.0.0.1:{port}", timeout=1))
    assert result.status is Status.ERROR


@pytest.mark.parametrize(
    ("value", "age"),
    [
        ("max-age=31536000; includeSubDomains", 31536000),
        ('max-age="15552000"', 15552000),
        ("", None),
    ],
)
def test_hsts_max_age_is_read(value, age):
    assert _max_age(value) == age


def test_hsts_threshold_is_180_days():
    assert HSTS_MIN_SECONDS == 180 * 24 * 3600


def test_tls_site_that_leaks_fails_the_transport_checks(judge, tmp_path, leaking):
    """A certificate that expires in 10 days and verifies with no CA, no HSTS, and the login
    form served on the plain-http port."""
    _, http_port = leaking
    context, _ = self_signed(tmp_path, days=10)
    site = Site(leaking=True)
    with serve(site, tls=context) as port:
        web = WebProbe(f"https://127.0.0.1:{port}", http_port=http_port)
        protocol, certificate = judge("web.tls_current", web)
        [hsts] = judge("web.hsts_enabled", web)
        [login] = judge("web.login_https_only", web)
    assert protocol.status is Status.PASS and protocol.observed["protocol"] in (
        "TLSv1.2",
        "TLSv1.3",
    )
    assert certificate.status is Status.FAIL and certificate.observed["verified"] is False
    assert "it does not verify" in certificate.reason
    assert hsts.status is Status.FAIL
    assert hsts.reason == (
        "No Strict-Transport-Security header is sent; it must carry max-age of at least"
        " 15552000 seconds."
    )
    assert login.status is Status.FAIL
    assert login.reason == (
        f"http://127.0.0.1:{http_port}/login/index.php answered HTTP 200; the login form is"
        " served without encryption."
    )


def test_tls_certificate_expiring_soon_fails_even_when_it_verifies(judge, tmp_path):
    context, cafile = self_signed(tmp_path, days=10)
    with serve(Site(leaking=False), tls=context) as port:
        web = WebProbe(f"https://127.0.0.1:{port}", cafile=str(cafile))
        _, certificate = judge("web.tls_current", web)
    assert certificate.status is Status.FAIL
    assert "days, under 30." in certificate.reason


def test_tls_site_that_is_hardened_passes_the_transport_checks(judge, tmp_path):
    context, cafile = self_signed(tmp_path, days=365)
    site = Site(leaking=False)
    with serve(site, tls=context) as port:
        redirector = Site(leaking=False, redirect_to=f"https://127.0.0.1:{port}")
        with serve(redirector) as http_port:
            web = WebProbe(f"https://127.0.0.1:{port}", cafile=str(cafile), http_port=http_port)
            results = {c: judge(c, web) for c in WEB_CHECKS if c != "web.dataroot_not_served"}
    assert {c: statuses(r) for c, r in results.items()} == {c: {Status.PASS} for c in results}
    login = results["web.login_https_only"][0]
    assert login.reason.endswith(f"redirects to https://127.0.0.1:{port}/login/index.php.")
    # Only the wwwroot (and its host's plain-http port, once) was requested.
    assert redirector.requested == ["/login/index.php"]
    assert set(site.requested) == {"/"} | {path for path, _, _ in PUBLIC_PATHS}
    allowed = (f"https://127.0.0.1:{port}/", f"http://127.0.0.1:{http_port}/login/", "127.0.0.1:")
    assert all(url.split(" ", 1)[1].startswith(allowed) for url in web.requested)
