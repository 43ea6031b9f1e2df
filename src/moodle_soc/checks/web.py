"""Web controls judged from outside (``scan --probe``): what the site's web server serves.

These checks make read-only GET/HEAD requests, with short timeouts, to the site's own wwwroot
and nowhere else (``moodle_soc.probes.http``). Without ``--probe`` they are manual; without a
known wwwroot they are manual naming the input that gives it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import check
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:  # the probe (http.client, ssl) is imported only by a scan with --probe
    from moodle_soc.probes.http import Response, WebProbe

#: Days before expiry at which a certificate fails (time to renew before browsers refuse it).
CERTIFICATE_MIN_DAYS = 30
#: The shortest HSTS max-age that passes: 180 days (RFC 6797 leaves it to the site; 180 days
#: is the floor browsers' preload lists and common TLS guidance ask for).
HSTS_MIN_SECONDS = 15_552_000
#: TLS versions that pass; TLS 1.0 and 1.1 are deprecated (RFC 8996).
CURRENT_TLS = ("TLSv1.2", "TLSv1.3")

#: What Moodle's core_publicpaths expects never to be served: (path, what it exposes, served
#: when). "status" means any 2xx answer; "php" means the body is PHP source.
PUBLIC_PATHS: tuple[tuple[str, str, str], ...] = (
    ("/.git/HEAD", "the git repository (code history, sometimes credentials)", "status"),
    ("/composer.json", "Composer's manifest (exact dependency versions)", "status"),
    ("/composer.lock", "Composer's lock file (exact dependency versions)", "status"),
    ("/package.json", "the npm manifest", "status"),
    ("/Gruntfile.js", "the build script", "status"),
    ("/environment.xml", "Moodle's environment requirements", "status"),
    ("/lib/upgrade.txt", "upgrade notes that reveal the version", "status"),
    ("/vendor/", "Composer's vendor directory", "status"),
    ("/node_modules/", "npm's node_modules directory", "status"),
    ("/behat/", "the Behat test tree", "status"),
    ("/admin/cli/", "the command-line scripts directory", "status"),
    ("/config.php", "config.php as source (database password)", "php"),
)
#: The file Moodle's own core_unsecuredataroot check writes in dataroot and fetches over HTTP.
DATAROOT_TEST_FILE = "diag/public.txt"
DATAROOT_TEST_TEXT = "test file, do not delete"

SERVER = "the web server configuration (Apache, nginx) in front of Moodle"


def _probe(scan: ScanContext) -> WebProbe | Result:
    """The confined client, or the manual result that says what is missing."""
    if not scan.probe:
        return Result.manual(
            "This check requests the site from outside and was not asked to; run with --probe"
            " to let it make read-only GET/HEAD requests to the wwwroot.",
            observed={"probe": False},
        )
    web = scan.web_probe()
    if web is None:
        return Result.manual(
            "The site's wwwroot is unknown, so there is nothing to probe; give --config"
            " <config.php> or --wwwroot <url>.",
            resource="setting:wwwroot",
            observed={"wwwroot": None},
        )
    return web


def _answered(response: Response) -> str:
    return f"HTTP {response.status}" if response.status else f"no answer ({response.error})"


def _unreachable(web: WebProbe, response: Response) -> Result:
    return Result.error(
        f"The wwwroot {web.wwwroot} did not answer ({response.error}), so what it serves could"
        " not be judged.",
        observed={"url": response.url, "error": response.error},
    )


def _front_page(web: WebProbe | Result) -> Response | Result:
    """The wwwroot's answer to ``GET /`` for the header checks; the probe's own result (manual,
    or failed on plain http) or an error when there is no answer to judge."""
    if isinstance(web, Result):
        return web
    response = web.get("/")
    return response if response.status else _unreachable(web, response)


def _served(response: Response, when: str) -> bool:
    if not 200 <= response.status < 300:
        return False
    if when == "php":
        return b"<?php" in response.body or b"$CFG" in response.body
    return True


@check(
    "web.public_paths_not_served",
    title="Code-tree files that must stay private are not served",
    severity=Severity.MEDIUM,
    remediation=f"Deny these paths in {SERVER}: Moodle's docs (Security > Web server"
    " configuration) list the rules; serve only the public directory where the version has one.",
    moodle_check="core_publicpaths",
)
def public_paths_not_served(scan: ScanContext) -> Iterator[Result]:
    """Served build files and repositories reveal exact versions, code and sometimes secrets."""
    web = _probe(scan)
    if isinstance(web, Result):
        yield web
        return
    for path, exposes, when in PUBLIC_PATHS:
        response = web.get(path)
        served = _served(response, when)
        yield Result.pass_if(
            not served,
            f"{web.wwwroot}{path} answered {_answered(response)}"
            + (f"; it exposes {exposes}." if served else "; it is not served."),
            resource=f"url:{path}",
            observed={"url": response.url, "status": response.status},
        )


@check(
    "web.dataroot_not_served",
    title="The data directory is not reachable from the web",
    severity=Severity.CRITICAL,
    remediation="Move $CFG->dataroot outside the web server's document root (and out of the"
    " code directory), then update config.php.",
    moodle_check="core_unsecuredataroot",
)
def dataroot_not_served(scan: ScanContext) -> Iterator[Result]:
    """A data directory the web serves hands every uploaded file, session and cache to anyone.

    Like Moodle's check: a dataroot outside the directory the wwwroot maps to passes; one inside
    fails as a warning, and as critical when the test file Moodle writes there is served."""
    web = _probe(scan)
    if isinstance(web, Result):
        yield web
        return
    cfg = scan.site.config_php
    dataroot = cfg.get("dataroot") if cfg is not None else None
    dirroot = cfg.get("dirroot") if cfg is not None else None
    if not isinstance(dirroot, str) and cfg is not None and cfg.path:
        dirroot = posixpath.dirname(cfg.path.replace("\\", "/"))
        if scan.site.version.at_least("5.1"):
            # From 5.1 the web server serves <root>/public (Moodle sets $CFG->dirroot to it);
            # config.php stays in <root>, which the web cannot reach.
            dirroot = posixpath.join(dirroot, "public")
    if not isinstance(dataroot, str) or not isinstance(dirroot, str) or not dirroot:
        yield Result.manual(
            "Where dataroot lies relative to the web root is known only from config.php"
            " ($CFG->dataroot and the code directory), which was not given; give --config"
            " <config.php>.",
            resource="setting:dataroot",
            observed={"dataroot": dataroot, "dirroot": dirroot},
        )
        return
    # Moodle's is_dataroot_insecure(): strip the wwwroot's path from the code directory to find
    # the document root; a dataroot below it can be reached by URL.
    siteroot = dirroot.replace("\\", "/").rstrip("/") + "/"
    for part in reversed([p for p in web.base_path.split("/") if p]):
        if siteroot.endswith(f"/{part}/"):
            siteroot = siteroot[: -len(part) - 1]
        else:
            break
    data = dataroot.replace("\\", "/").rstrip("/") + "/"
    observed = {"dataroot": dataroot, "document_root": siteroot}
    if not data.startswith(siteroot):
        yield Result.passed(
            f"dataroot {dataroot} lies outside the document root {siteroot}, so no URL reaches it.",
            resource="setting:dataroot",
            observed=observed,
        )
        return
    url_path = f"/{data[len(siteroot) :]}{DATAROOT_TEST_FILE}"
    observed = {**observed, "url_path": url_path}
    if not url_path.startswith(f"{web.base_path}/"):  # only the wwwroot is ever requested
        yield Result.failed(
            f"dataroot {dataroot} lies inside the document root {siteroot}; its URL path"
            f" {url_path} is outside the wwwroot, so it was not fetched, but a web server rule"
            " is all that keeps it private.",
            resource="setting:dataroot",
            observed=observed,
            severity=Severity.MEDIUM,
        )
        return
    response = web.get(url_path[len(web.base_path) :])
    served = 200 <= response.status < 300 and DATAROOT_TEST_TEXT.encode() in response.body
    yield Result.failed(
        f"dataroot {dataroot} lies inside the document root {siteroot}"
        + (
            f"; {response.url} served Moodle's test file, so the data directory is public."
            if served
            else f"; Moodle's test file at {response.url} answered {_answered(response)}, but"
            " a web server rule is all that keeps it private."
        ),
        resource="setting:dataroot",
        observed={**observed, "status": response.status},
        severity=Severity.CRITICAL if served else Severity.MEDIUM,
    )


def _https_probe(scan: ScanContext) -> WebProbe | Result:
    """The probe of an https wwwroot, or the result that ends a transport check without a
    request: manual (no probe or wwwroot) or failed (plain http encrypts nothing)."""
    web = _probe(scan)
    if isinstance(web, Result) or web.https:
        return web
    return Result.failed(
        f"The wwwroot {web.wwwroot} is plain http: nothing is encrypted in transit.",
        resource="setting:wwwroot",
        observed={"wwwroot": web.wwwroot},
    )


@check(
    "web.tls_current",
    title="TLS is current and the certificate is valid",
    severity=Severity.HIGH,
    remediation="Offer only TLS 1.2 and 1.3 and serve a certificate a public CA signed for the"
    " wwwroot's host, renewed automatically well before it expires.",
)
def tls_current(scan: ScanContext) -> Iterator[Result]:
    """Old TLS versions and invalid or expiring certificates expose or interrupt every session."""
    web = _https_probe(scan)
    if isinstance(web, Result):
        yield web
        return
    try:
        tls = web.tls()
    except OSError as error:
        yield Result.error(
            f"The TLS handshake with {web.host}:{web.port} failed ({error}).",
            observed={"host": web.host, "port": web.port},
        )
        return
    yield Result.pass_if(
        tls.protocol in CURRENT_TLS,
        f"The handshake negotiated {tls.protocol}; "
        + ("TLS 1.2 or 1.3 is current." if tls.protocol in CURRENT_TLS else "it is deprecated."),
        resource="tls:protocol",
        observed={"protocol": tls.protocol},
    )
    if tls.not_after is None:
        yield Result.error("The server sent no certificate.", resource="tls:certificate")
        return
    days = (tls.not_after - scan.audit_time) / timedelta(days=1)
    valid = tls.verified and days >= CERTIFICATE_MIN_DAYS
    expiry = tls.not_after.date().isoformat()
    why = (
        f"it does not verify ({tls.verify_error})"
        if not tls.verified
        else f"it expires in {int(days)} days, under {CERTIFICATE_MIN_DAYS}"
        if days < CERTIFICATE_MIN_DAYS
        else f"it verifies and has {int(days)} days left"
    )
    yield Result.pass_if(
        valid,
        f"The certificate of {web.host} expires on {expiry}; {why}.",
        resource="tls:certificate",
        observed={"not_after": expiry, "verified": tls.verified, "days_left": int(days)},
    )


def _max_age(value: str | None) -> int | None:
    match = re.search(r"max-age\s*=\s*\"?(\d+)", value or "", re.I)
    return int(match.group(1)) if match else None


@check(
    "web.hsts_enabled",
    title="Browsers are told to use HTTPS only (HSTS)",
    severity=Severity.MEDIUM,
    remediation="Send Strict-Transport-Security: max-age=31536000 (at least 180 days) from the"
    " web server on every https response.",
)
def hsts_enabled(scan: ScanContext) -> Iterator[Result]:
    """Without HSTS a network attacker can downgrade the first request to plain HTTP."""
    response = _front_page(_https_probe(scan))
    if isinstance(response, Result):
        yield response
        return
    value = response.header("strict-transport-security")
    age = _max_age(value)
    yield Result.pass_if(
        age is not None and age >= HSTS_MIN_SECONDS,
        (
            "No Strict-Transport-Security header is sent"
            if value is None
            else f"Strict-Transport-Security is {value!r}"
        )
        + f"; it must carry max-age of at least {HSTS_MIN_SECONDS} seconds.",
        resource="header:strict-transport-security",
        observed={"strict-transport-security": value, "max_age": age},
    )


def _frame_protected(response: Response) -> bool:
    if (response.header("x-frame-options") or "").strip().lower() in ("deny", "sameorigin"):
        return True
    return "frame-ancestors" in (response.header("content-security-policy") or "").lower()


@check(
    "web.security_headers_sent",
    title="The web server sends the browser security headers",
    severity=Severity.LOW,
    remediation="Send X-Content-Type-Options: nosniff and X-Frame-Options: SAMEORIGIN (or a"
    " Content-Security-Policy with frame-ancestors) from the web server.",
)
def security_headers_sent(scan: ScanContext) -> Iterator[Result]:
    """Missing nosniff and framing headers leave MIME confusion and clickjacking to browsers."""
    response = _front_page(_probe(scan))
    if isinstance(response, Result):
        yield response
        return
    nosniff = (response.header("x-content-type-options") or "").strip().lower() == "nosniff"
    framed = _frame_protected(response)
    missing = [
        name
        for name, ok in (("X-Content-Type-Options: nosniff", nosniff),
                         ("X-Frame-Options or CSP frame-ancestors", framed))
        if not ok
    ]  # fmt: skip
    yield Result.pass_if(
        not missing,
        f"{response.url} sends "
        + ("both headers." if not missing else f"no {' and no '.join(missing)}."),
        resource="header:security",
        observed={
            "x-content-type-options": response.header("x-content-type-options"),
            "x-frame-options": response.header("x-frame-options"),
            "content-security-policy": response.header("content-security-policy"),
        },
    )


@check(
    "web.php_version_hidden",
    title="Responses do not reveal the PHP version",
    severity=Severity.LOW,
    remediation="Set expose_php = Off in php.ini (and remove X-Powered-By in the web server).",
)
def php_version_hidden(scan: ScanContext) -> Iterator[Result]:
    """An advertised PHP version tells attackers which published vulnerabilities to try."""
    response = _front_page(_probe(scan))
    if isinstance(response, Result):
        yield response
        return
    powered = response.header("x-powered-by")
    leaks = powered is not None and re.search(r"php/?\s*\d", powered, re.I) is not None
    yield Result.pass_if(
        not leaks,
        f"X-Powered-By is {powered!r}; it names the PHP version."
        if leaks
        else "No response header names the PHP version.",
        resource="header:x-powered-by",
        observed={"x-powered-by": powered},
    )


@check(
    "web.login_https_only",
    title="The login page is not served over plain HTTP",
    severity=Severity.HIGH,
    remediation=f"Redirect every plain-http request to https in {SERVER} (or do not listen on"
    " port 80).",
)
def login_https_only(scan: ScanContext) -> Iterator[Result]:
    """A login form over plain HTTP sends passwords in clear text to anyone on the network."""
    web = _https_probe(scan)
    if isinstance(web, Result):
        yield web
        return
    response = web.http_get("/login/index.php")
    location = response.header("location") or ""
    redirected = 300 <= response.status < 400 and location.startswith("https://")
    closed = response.status == 0
    yield Result.pass_if(
        closed or redirected or response.status >= 400,
        f"{response.url} answered {_answered(response)}"
        + (
            f" and redirects to {location}."
            if redirected
            else "; plain http is not served."
            if closed or response.status >= 400
            else "; the login form is served without encryption."
        ),
        resource="url:/login/index.php",
        observed={"url": response.url, "status": response.status, "location": location or None},
    )
