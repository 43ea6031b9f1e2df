"""Hardening controls: Moodle's own security and performance checks, plus HTTPS and malware.

Moodle's warning, error and critical verdicts are our fail; ok and info are our pass, except
where a docstring says we are stricter than Moodle.
"""

from __future__ import annotations

from collections.abc import Iterator

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.registry import SettingFix, check, setting_check
from moodle_soc.results import Result, Severity, Status
from moodle_soc.site.antivirus import recent_antivirus_errors, threshold_seconds
from moodle_soc.site.defaults import declared

SITE_POLICIES = "Site administration > Security > Site security settings"
HTTP_SECURITY = "Site administration > Security > HTTP security"
DEBUGGING = "Site administration > Development > Debugging"
APPEARANCE = "Site administration > Appearance"
# DEBUG_DEVELOPER: E_ALL in PHP 8, the bits Moodle tests for $CFG->debugdeveloper.
DEBUG_DEVELOPER = 32767


def _off(value: str | None) -> bool:
    return value in (None, "", "0")


def _page_of(name: str, scan: ScanContext) -> str | None:
    """The admin settings section that shows core setting ``name`` on the site's branch."""
    page = declared(None, name, scan.site.version.label)
    return page.section if page else None


def _shown(value: str | None) -> str:
    return "not set" if value is None else "empty" if value == "" else repr(value)


def _is_developer(value: str | None) -> bool:
    try:
        level = int(float(value or 0))
    except ValueError:
        return False
    return level & DEBUG_DEVELOPER == DEBUG_DEVELOPER


def _unknown_wwwroot() -> Result:
    return Result.manual(
        "The site's wwwroot is unknown: Moodle keeps it only in config.php, which was not given"
        " or computes it at runtime, so whether the site uses HTTPS decides this; give --config"
        " <config.php> or --wwwroot <url>.",
        resource="setting:wwwroot",
        observed={"wwwroot": None},
    )


object_embedding_disabled = setting_check(
    "hardening.object_embedding_disabled",
    name="allowobjectembed",
    passes=_off,
    expectation="it must be off, or users may embed active content (Flash, applets)",
    title="EMBED and OBJECT tags are not allowed",
    severity=Severity.MEDIUM,
    remediation=f"{SITE_POLICIES} > Allow EMBED and OBJECT tags: off.",
    moodle_check="core_embed",
    fix=SettingFix("allowobjectembed", "0"),
    doc="Embedded objects let authors run active content in other users' browsers.",
)

frame_embedding_disabled = setting_check(
    "hardening.frame_embedding_disabled",
    name="allowframembedding",
    passes=_off,
    expectation="it must be off, or other sites may frame Moodle pages (clickjacking)",
    title="Other sites cannot frame Moodle pages",
    severity=Severity.MEDIUM,
    remediation=f"{HTTP_SECURITY} > Allow frame embedding: off.",
    fix=SettingFix("allowframembedding", "0"),
    doc="Framing Moodle in another site enables clickjacking of logged-in users.",
)

debug_display_off = setting_check(
    "hardening.debug_display_off",
    name="debugdisplay",
    passes=_off,
    expectation="it must be off in production, or errors show paths and SQL to users",
    title="Debug messages are not shown to users",
    severity=Severity.MEDIUM,
    remediation=f"{DEBUGGING} > Display debug messages: off.",
    fix=SettingFix("debugdisplay", "0"),
    doc="Displayed errors leak file paths, SQL and configuration to anyone who triggers one.",
)

debugging_not_developer = setting_check(
    "hardening.debugging_not_developer",
    name="debug",
    passes=lambda value: not _is_developer(value),
    expectation=f"it must not include every DEVELOPER bit ({DEBUG_DEVELOPER}) in production",
    title="Debugging is not at DEVELOPER level",
    severity=Severity.MEDIUM,
    remediation=f"{DEBUGGING} > Debug messages: NONE or MINIMAL.",
    moodle_check="core_debugging",
    fix=SettingFix("debug", "0"),
    doc="Developer debugging exposes internals and is a sign of an unmanaged production site.",
)

designer_mode_off = setting_check(
    "hardening.designer_mode_off",
    name="themedesignermode",
    passes=_off,
    expectation="it must be off in production",
    title="Theme designer mode is off",
    severity=Severity.LOW,
    remediation=f"{APPEARANCE} > Advanced theme settings > Theme designer mode: off (before"
    f" Moodle 4.4: {APPEARANCE} > Themes > Theme settings).",
    moodle_check="core_designermode",
    fix=SettingFix("themedesignermode", "0"),
    doc="Designer mode disables caching, so any visitor can exhaust the server (availability).",
    remediation_for=lambda scan: (
        # Before 4.4 the setting sat on "Theme settings" (setting_versions.yaml).
        f"{APPEARANCE} > Themes > Theme settings > Theme designer mode: off."
        if _page_of("themedesignermode", scan) == "themesettings"
        else None
    ),
)

javascript_cached = setting_check(
    "hardening.javascript_cached",
    name="cachejs",
    passes=lambda value: not _off(value),
    expectation="it must be on in production",
    title="JavaScript is cached",
    severity=Severity.LOW,
    remediation=f"{APPEARANCE} > AJAX and Javascript > Cache Javascript: on.",
    moodle_check="core_cachejs",
    fix=SettingFix("cachejs", "1"),
    doc="Uncached JavaScript is rebuilt per request, which lets light traffic exhaust the server.",
)

statistics_disabled = setting_check(
    "hardening.statistics_disabled",
    name="enablestats",
    passes=_off,
    expectation="it should be off unless statistics processing has been sized for",
    title="Site statistics processing is off",
    severity=Severity.LOW,
    remediation="Site administration > Advanced features > Enable statistics: off.",
    moodle_check="core_stats",
    fix=SettingFix("enablestats", "0"),
    doc="Statistics processing is heavy and can degrade the site's availability.",
)


@check(
    "hardening.profiles_require_login",
    title="User profiles require login",
    severity=Severity.MEDIUM,
    remediation=f"{SITE_POLICIES} > Force users to log in for profiles: on.",
    moodle_check="core_openprofiles",
    fix=SettingFix("forceloginforprofiles", "1"),
)
def profiles_require_login(scan: ScanContext) -> Iterator[Result]:
    """Open profiles let anonymous visitors harvest names, photos and contact details."""
    forcelogin = scan.site.settings.get("forcelogin")
    profiles = scan.site.settings.get("forceloginforprofiles")
    closed = not (_off(forcelogin) and _off(profiles))
    yield Result.pass_if(
        closed,
        f"Setting forcelogin is {_shown(forcelogin)} and forceloginforprofiles is"
        f" {_shown(profiles)}, so user profiles are visible {'only after' if closed else 'without'}"
        " logging in.",
        observed={"forcelogin": forcelogin, "forceloginforprofiles": profiles},
    )


@check(
    "hardening.crawlers_not_admitted",
    title="Search engines are not admitted as guests",
    severity=Severity.HIGH,
    remediation=f"{SITE_POLICIES} > Open to search engines: off.",
    moodle_check="core_crawlers",
    fix=SettingFix("opentowebcrawlers", "0"),
)
def crawlers_not_admitted(scan: ScanContext) -> Iterator[Result]:
    """Crawlers admitted as guests publish course content; stricter than Moodle, which rates
    it only info while the guest login button is shown."""
    crawlers, button = (
        scan.site.settings.get("opentowebcrawlers"),
        scan.site.settings.get("guestloginbutton"),
    )
    if _off(crawlers):
        effect, severity = "search engines are not admitted as guests", None
    elif _off(button):
        effect, severity = "search engines enter as guests (Moodle: error)", Severity.HIGH
    else:
        effect, severity = "search engines enter as guests (Moodle: info)", Severity.LOW
    yield Result.pass_if(
        _off(crawlers),
        f"Setting opentowebcrawlers is {_shown(crawlers)} and guestloginbutton is"
        f" {_shown(button)}, so {effect}.",
        resource="setting:opentowebcrawlers",
        observed={"opentowebcrawlers": crawlers, "guestloginbutton": button},
        severity=severity,
    )


@check(
    "hardening.web_cron_protected",
    title="Cron cannot be run anonymously from the web",
    severity=Severity.MEDIUM,
    remediation=f"{SITE_POLICIES} > Cron execution via command line only: on.",
    moodle_check="core_webcron",
    fix=SettingFix("cronclionly", "1"),
)
def web_cron_protected(scan: ScanContext) -> Iterator[Result]:
    """Anonymous web cron lets anyone trigger heavy processing at will (denial of service)."""
    clionly = scan.site.settings.get("cronclionly")
    # The site layer masks the password: only whether it is set is ever known here.
    password = scan.site.settings.get("cronremotepassword")
    protected = not _off(clionly) or bool(password)
    effect = "anonymous visitors cannot run cron" if protected else "anyone can run cron"
    yield Result.pass_if(
        protected,
        f"Setting cronclionly is {_shown(clionly)} and cronremotepassword is"
        f" {'set' if password else 'not set'}, so {effect}.",
        observed={"cronclionly": clionly, "cronremotepassword": password or ""},
    )


@check(
    "hardening.cookies_secure",
    title="Session cookies are sent only over HTTPS",
    severity=Severity.HIGH,
    remediation=f"Serve the site over HTTPS ($CFG->wwwroot in config.php), then {HTTP_SECURITY}"
    " > Secure cookies only: on.",
    moodle_check="core_cookiesecure",
    fix=SettingFix("cookiesecure", "1"),
)
def cookies_secure(scan: ScanContext) -> Iterator[Result]:
    """Session cookies sent over plain HTTP can be stolen and replayed."""
    wwwroot = scan.site.wwwroot
    source = scan.site.settings.source("cookiesecure")
    # Moodle reads isset($CFG->cookiesecure): a setting never saved counts as off.
    value = scan.site.settings.get("cookiesecure") if source in ("config.php", "database") else None
    if wwwroot is None:
        if _off(value):
            # Off is wrong whatever the scheme: Moodle warns on http and errors on https.
            yield Result.failed(
                f"Setting cookiesecure is {_shown(value)} ({source}): session cookies may travel"
                " over plain HTTP (the wwwroot is unknown, but Moodle flags this on http and"
                " https alike).",
                resource="setting:cookiesecure",
                observed={"wwwroot": None, "cookiesecure": value},
            )
        else:
            yield _unknown_wwwroot()
        return
    https = wwwroot.startswith("https://")
    if https:
        effect, severity = f"setting cookiesecure is {_shown(value)} ({source})", None
    else:
        effect, severity = "that is not HTTPS, and secure cookies need HTTPS", Severity.MEDIUM
    result = Result.pass_if(
        https and not _off(value),
        f"wwwroot is {wwwroot!r}; {effect}.",
        resource="setting:cookiesecure",
        observed={"wwwroot": wwwroot, "cookiesecure": value},
        severity=severity,
    )
    # On http, cookiesecure=1 changes nothing (browsers drop secure cookies): HTTPS comes first.
    yield (
        result
        if https
        else result.with_fix(
            remediation="Serve the site over HTTPS and set $CFG->wwwroot in config.php to its"
            f" https:// address; then {HTTP_SECURITY} > Secure cookies only: on.",
            command="",
        )
    )


@check(
    "hardening.wwwroot_uses_https",
    title="The site is served over HTTPS",
    severity=Severity.HIGH,
    remediation="Set $CFG->wwwroot in config.php to an https:// address and serve it with TLS.",
)
def wwwroot_uses_https(scan: ScanContext) -> Iterator[Result]:
    """Without HTTPS, passwords and session cookies cross the network in clear text."""
    wwwroot = scan.site.wwwroot
    if wwwroot is None:
        yield _unknown_wwwroot()
        return
    https = wwwroot.startswith("https://")
    reason = f"wwwroot is {wwwroot!r}, so the site is {'' if https else 'not '}served over HTTPS."
    yield Result.pass_if(https, reason, resource="setting:wwwroot", observed={"wwwroot": wwwroot})


@check(
    "hardening.executable_paths_locked",
    title="Executable paths cannot be changed from the web",
    severity=Severity.MEDIUM,
    remediation="Add $CFG->preventexecpath = true; to config.php.",
    moodle_check="core_preventexecpath",
)
def executable_paths_locked(scan: ScanContext) -> Iterator[Result]:
    """An admin session hijacker could point executable paths at arbitrary commands."""
    value = scan.site.settings.get("preventexecpath")
    shown, source = (
        f"Setting preventexecpath is {_shown(value)}",
        scan.site.settings.source("preventexecpath"),
    )
    if not _off(value):
        status = Status.PASS
        reason = f"{shown} ({source}), so executable paths are locked."
    elif scan.site.config_php is not None:
        status = Status.FAIL
        reason = f"{shown} in config.php or the database, so admins can change executable paths."
    else:
        status = Status.MANUAL
        reason = (
            f"{shown} in the database, but it normally lives only in config.php, which was not"
            " given, so this cannot be decided here; give --config."
        )
    yield Result(status, reason, observed={"preventexecpath": value})


@check(
    "hardening.antivirus_scanning_enabled",
    title="Uploaded files are scanned for malware",
    severity=Severity.MEDIUM,
    remediation="Site administration > Plugins > Antivirus plugins > Manage antivirus plugins:"
    " enable a scanner (e.g. ClamAV) and fix any scan errors.",
    moodle_check="core_antivirus",
)
def antivirus_scanning_enabled(scan: ScanContext) -> Iterator[Result]:
    """Unscanned uploads can spread malware (CC6.8); stricter than Moodle, which rates a site
    without scanners n/a."""
    value, scanners = scan.site.settings.get("antiviruses"), scan.site.settings.items("antiviruses")
    effect = f"uploads are scanned by {', '.join(scanners)}" if scanners else "no scanner runs"
    yield Result.pass_if(
        bool(scanners),
        f"Setting antiviruses is {_shown(value)}, so {effect}.",
        resource="setting:antiviruses",
        observed={"antiviruses": value},
    )
    if not scanners:
        return
    threshold = threshold_seconds(scan.site)
    window = {"antivirus/threshold": threshold}
    errors = recent_antivirus_errors(scan.site, scan.site.now - threshold)
    if errors is None:
        yield Result.not_applicable(
            "Scan errors cannot be counted: the standard log (logstore_standard) is not enabled"
            " or its table is missing, so Moodle itself reports this as unknown.",
            observed=window,
        )
        return
    yield Result.pass_if(
        errors == 0,
        f"The standard log holds {errors} antivirus scan error(s) in the last {threshold} s"
        " (antivirus/threshold).",
        observed={**window, "scan_errors": errors},
    )


@check(
    "hardening.cookies_http_only",
    title="Session cookies are hidden from scripts (HttpOnly)",
    severity=Severity.MEDIUM,
    remediation=f"{HTTP_SECURITY} > Only http cookies: on (Moodle 4.3 and later always set it).",
    fix=SettingFix("cookiehttponly", "1"),
)
def cookies_http_only(scan: ScanContext) -> Iterator[Result]:
    """A session cookie readable by JavaScript turns any XSS into a session theft."""
    version = scan.site.version
    if declared(None, "cookiehttponly", version.label) is None:
        # Moodle 4.3 removed the setting: session cookies are always HttpOnly.
        yield Result.passed(
            f"{version.describe()} always sends session cookies HttpOnly (the cookiehttponly"
            " setting was removed in Moodle 4.3).",
            resource="setting:cookiehttponly",
            observed={"cookiehttponly": None, "moodle": version.label},
        )
        return
    value = scan.site.settings.get("cookiehttponly")
    source = scan.site.settings.source("cookiehttponly")
    on = not _off(value)
    effect = (
        "so scripts cannot read session cookies" if on else "so scripts can read session cookies"
    )
    yield Result.pass_if(
        on,
        f"Setting cookiehttponly is {_shown(value)} ({source}) on {version.describe()}, {effect}.",
        resource="setting:cookiehttponly",
        observed={"cookiehttponly": value, "moodle": version.label},
    )
