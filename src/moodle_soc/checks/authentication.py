"""Authentication controls: password policy, lockout, MFA, sessions and who may log in how."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from moodle_soc.checks.registry import SettingFix, check, setting_check
from moodle_soc.results import Result, Severity

if TYPE_CHECKING:
    from moodle_soc.checks.context import ScanContext
    from moodle_soc.site.moodle import MoodleSite

SITE_POLICIES = "Site administration > Security > Site security settings"
MANAGE_AUTHS = "Site administration > Plugins > Authentication > Manage authentication"
MFA_SETTINGS = "Site administration > Plugins > Admin tools > Multi-factor authentication"
CLASSES = ("minpassworddigits", "minpasswordlower", "minpasswordupper", "minpasswordnonalphanum")
LOCKOUT = ("lockoutthreshold", "lockoutwindow", "lockoutduration")
# Moodle always enables these two; they are never stored in the `auth` setting.
ALWAYS_ENABLED_AUTH = ("manual", "nologin")
# Plugins that never create an account when someone logs in: only signup or existing accounts
# (with that auth) can use them.
NO_LOGIN_CREATION = ("email", "webservice")


def _shown(value: str | None) -> str:
    return "not set" if value is None else "empty" if value == "" else repr(value)


def _policy_off(site: MoodleSite, rule: str, resource: str, seen: dict[str, int]) -> Result | None:
    """A failing Result when passwordpolicy is off (Moodle then enforces no rule), else None."""
    if site.settings.flag("passwordpolicy"):
        return None
    value = site.settings.get("passwordpolicy")
    reason = f"Setting passwordpolicy is {_shown(value)}, so Moodle does not enforce {rule} at all."
    return Result.failed(reason, resource=resource, observed={"passwordpolicy": value, **seen})


def _at_least(site: MoodleSite, name: str, minimum: int, what: str = "") -> Result:
    value = site.settings.int(name)
    return Result.pass_if(
        value >= minimum,
        f"Setting {name} is {value}; the policy requires at least {minimum}{what}.",
        resource=f"setting:{name}",
        observed={name: value},
    )


def enabled_auth_plugins(site: MoodleSite) -> list[str]:
    """manual and nologin, then the `auth` setting in priority order, without duplicates."""
    return list(dict.fromkeys([*ALWAYS_ENABLED_AUTH, *site.settings.items("auth")]))


password_policy_enabled = setting_check(
    "authentication.password_policy_enabled",
    name="passwordpolicy",
    passes=lambda value: value not in (None, "", "0"),
    expectation="the password policy must be on for Moodle to enforce any password rule",
    title="Moodle enforces a password policy",
    severity=Severity.MEDIUM,
    remediation=f"{SITE_POLICIES} > Password policy.",
    moodle_check="core_passwordpolicy",
    fix=SettingFix("passwordpolicy", "1"),
    doc="Without a password policy users may choose trivially guessable passwords.",
)


@check(
    "authentication.password_length_meets_policy",
    title="Passwords meet the policy's minimum length",
    severity=Severity.HIGH,
    remediation=f"{SITE_POLICIES} > Password length (with Password policy on).",
)
def password_length_meets_policy(scan: ScanContext) -> Iterator[Result]:
    """Short passwords are guessable."""
    length = scan.site.settings.int("minpasswordlength")
    seen = {"minpasswordlength": length}
    off = _policy_off(scan.site, f"minpasswordlength ({length})", "setting:minpasswordlength", seen)
    yield off or _at_least(scan.site, "minpasswordlength", scan.policy.min_password_length)


@check(
    "authentication.password_character_classes_required",
    title="Passwords must mix character classes",
    severity=Severity.MEDIUM,
    remediation=f"{SITE_POLICIES} > Digits, Lowercase letters, Uppercase letters and"
    " Non-alphanumeric characters (with Password policy on).",
)
def password_character_classes_required(scan: ScanContext) -> Iterator[Result]:
    """Passwords drawn from one character class are far easier to brute-force."""
    values = {name: scan.site.settings.int(name) for name in CLASSES}
    required = [name for name, value in values.items() if value >= 1]
    listed = ", ".join(required) or "none"
    off = _policy_off(scan.site, f"the character classes ({listed})", "site", values)
    yield off or Result.pass_if(
        len(required) >= scan.policy.required_password_classes,
        f"The password policy requires {len(required)} character class(es) ({listed});"
        f" the policy requires at least {scan.policy.required_password_classes}.",
        observed=values,
    )


@check(
    "authentication.password_reuse_limited",
    title="Users cannot reuse recent passwords",
    severity=Severity.LOW,
    remediation=f"{SITE_POLICIES} > Password rotation limit.",
)
def password_reuse_limited(scan: ScanContext) -> Iterator[Result]:
    """Without a reuse limit a forced password change can return to a compromised password."""
    limit = scan.policy.min_password_reuse_limit
    yield _at_least(scan.site, "passwordreuselimit", limit, " earlier passwords to be refused")


@check(
    "authentication.account_lockout_enabled",
    title="Accounts lock after repeated failed logins",
    severity=Severity.HIGH,
    remediation=f"{SITE_POLICIES} > Account lockout threshold.",
)
def account_lockout_enabled(scan: ScanContext) -> Iterator[Result]:
    """Without lockout an attacker can guess passwords online without limit."""
    seen = {name: scan.site.settings.int(name) for name in LOCKOUT}
    threshold, limit = seen["lockoutthreshold"], scan.policy.max_lockout_threshold
    verdict = "accounts never lock out" if threshold <= 0 else f"the policy allows at most {limit}"
    yield Result.pass_if(
        0 < threshold <= limit,
        f"Setting lockoutthreshold is {threshold} (lockoutwindow {seen['lockoutwindow']} s,"
        f" lockoutduration {seen['lockoutduration']} s); {verdict}.",
        resource="setting:lockoutthreshold",
        observed=seen,
    )


@check(
    "authentication.mfa_enabled",
    title="Multi-factor authentication is enabled",
    severity=Severity.CRITICAL,
    remediation=f"{MFA_SETTINGS}: enable the plugin and at least one strong factor (TOTP,"
    " WebAuthn); on sites without tool_mfa, enforce MFA at the identity provider.",
)
def mfa_enabled(scan: ScanContext) -> Iterator[Result]:
    """A stolen or guessed password alone must not be enough to log in."""
    missing = scan.site.mfa.absent_reason
    if missing is not None:
        yield Result.manual(
            f"{missing}; MFA evidence must come from the identity provider (SSO) or an MFA"
            " plugin. Enabled authentication plugins:"
            f" {', '.join(enabled_auth_plugins(scan.site))}.",
            resource="plugin:tool_mfa",
            observed={"auth": scan.site.settings.get("auth"), "release": scan.site.version.release},
        )
        return
    mfa, factors = scan.site.mfa, list(scan.site.mfa.enabled_factors)
    if not mfa.enabled:
        reason = f"Setting tool_mfa/enabled is {_shown(mfa.enabled_setting)}, so MFA is off."
    elif not factors:
        reason = "Setting tool_mfa/enabled is on but no factor is enabled, so MFA is not enforced."
    else:
        reason = f"MFA is on (tool_mfa/enabled) with the enabled factors {', '.join(factors)}."
    seen = {"tool_mfa/enabled": mfa.enabled_setting, "enabled_factors": factors}
    yield Result.pass_if(
        mfa.enabled and bool(factors), reason, resource="plugin:tool_mfa", observed=seen
    )


@check(
    "authentication.mfa_factors_strong",
    title="MFA offers at least one strong factor",
    severity=Severity.HIGH,
    remediation=f"{MFA_SETTINGS} > Manage factors: enable TOTP or WebAuthn, and disable weak"
    " factors (email, IP range...) or set their weight below 100.",
)
def mfa_factors_strong(scan: ScanContext) -> Iterator[Result]:
    """Factors such as email or IP range do not prove possession of a second secret, so none
    of them may complete MFA alone (weight 100) even when a strong factor is offered."""
    missing = scan.site.mfa.absent_reason
    if missing is not None:
        yield Result.not_applicable(f"{missing}; see authentication.mfa_enabled.")
        return
    mfa = scan.site.mfa
    if not (mfa.enabled and mfa.enabled_factors):
        yield Result.not_applicable("MFA is not enabled; see authentication.mfa_enabled.")
        return
    counts, enabled = mfa.enrolled_counts, list(mfa.enabled_factors)
    strong = [name for name in enabled if name not in scan.policy.weak_mfa_factors]
    described = ", ".join(f"{name} ({counts.get(name, 0)} users)" for name in enabled)
    verdict = f"strong: {', '.join(strong)}" if strong else "none is strong under the policy"
    # Moodle passes MFA at 100 points: a weak factor worth 100 completes it without the strong one.
    alone = [name for name in enabled if name not in strong and mfa.weights[name] >= 100]
    if strong and alone:
        verdict += (
            f", but {', '.join(alone)} alone also completes MFA (weight"
            f" {', '.join(str(mfa.weights[name]) for name in alone)}, 100 needed), so a"
            " password and that factor are enough; NIST SP 800-63B does not accept e-mail as an"
            " authenticator: lower its weight below 100 or disable it"
        )
    seen = {"enabled_factors": enabled, "strong_factors": strong, "enrolled_users": counts}
    yield Result.pass_if(
        bool(strong) and not alone,
        f"Enabled MFA factors with enrolled users: {described}; {verdict}.",
        resource="plugin:tool_mfa",
        observed={**seen, "weights": mfa.weights},
    )


@check(
    "authentication.session_timeout_within_policy",
    title="Idle sessions time out",
    severity=Severity.MEDIUM,
    remediation="Site administration > Server > Session handling > Timeout.",
)
def session_timeout_within_policy(scan: ScanContext) -> Iterator[Result]:
    """A session left open on a shared machine can be taken over."""
    timeout = scan.site.settings.int("sessiontimeout")
    limit = scan.policy.max_session_timeout_seconds
    yield Result.pass_if(
        timeout <= limit,
        f"Setting sessiontimeout is {timeout} s ({timeout / 3600:g} h); the policy allows at"
        f" most {limit} s.",
        resource="setting:sessiontimeout",
        observed={"sessiontimeout": timeout},
    )


@check(
    "authentication.guest_access_disabled",
    title="Guests cannot enter the site",
    severity=Severity.MEDIUM,
    remediation=f"{MANAGE_AUTHS} > Guest login button: Hide; Site administration > Users >"
    " Permissions > User policies > Auto-login guests: off.",
)
def guest_access_disabled(scan: ScanContext) -> Iterator[Result]:
    """Guest access lets anyone read content without an identifiable account."""
    for name, effect in (
        ("guestloginbutton", "the login page offers anonymous guest access"),
        ("autologinguests", "visitors are logged in as guest automatically"),
    ):
        value, on = scan.site.settings.get(name), scan.site.settings.flag(name)
        reason = f"Setting {name} is {_shown(value)}, so {effect if on else 'this path is closed'}."
        yield Result.pass_if(not on, reason, resource=f"setting:{name}", observed={name: value})


self_registration_disabled = setting_check(
    "authentication.self_registration_disabled",
    name="registerauth",
    passes=lambda value: not value,
    expectation="it must be empty so that only provisioned users get accounts",
    title="Users cannot create their own accounts",
    severity=Severity.MEDIUM,
    remediation=f"{MANAGE_AUTHS} > Self registration: Disable.",
    doc="Self-registration lets anyone create an account, bypassing access provisioning.",
)


@check(
    "authentication.auth_plugins_allowed",
    title="Only approved authentication plugins are enabled",
    severity=Severity.MEDIUM,
    remediation=f"{MANAGE_AUTHS}: disable plugins the organisation has not approved.",
)
def auth_plugins_allowed(scan: ScanContext) -> Iterator[Result]:
    """Every enabled authentication plugin is a way in that must be approved and managed.

    A plugin that cannot create accounts when someone logs in (email, webservice) is a way in
    only through self-registration or the accounts that use it: enabled without either, it
    admits nobody.
    """
    accounts = scan.site.accounts.live_accounts_by_auth
    registerauth = scan.site.settings.get("registerauth") or ""
    for name in enabled_auth_plugins(scan.site):
        allowed = name in scan.policy.allowed_auth_plugins
        source = "always enabled" if name in ALWAYS_ENABLED_AUTH else "enabled in setting auth"
        users = accounts.get(name, 0)
        seen = {"auth": name, "accounts": users, "registerauth": registerauth}
        unused = name in NO_LOGIN_CREATION and users == 0 and registerauth != name
        if allowed or not unused:
            verdict = "approved" if allowed else "not approved"
            used = f"; {users} live account(s) use it" if name not in ALWAYS_ENABLED_AUTH else ""
            signup = (
                ", and self-registration (registerauth) uses it" if registerauth == name else ""
            )
            yield Result.pass_if(
                allowed,
                f"Authentication plugin auth_{name} is {source}{used}{signup}, and is {verdict}"
                " by the policy.",
                resource=f"plugin:auth_{name}",
                observed=seen,
            )
            continue
        yield Result.passed(
            f"Authentication plugin auth_{name} is {source} and not approved by the policy, but"
            " nothing can use it: self-registration (registerauth) does not use it and no live"
            " account does; disable it to keep it that way.",
            resource=f"plugin:auth_{name}",
            observed=seen,
        )


@check(
    "authentication.auth_none_disabled",
    title="The 'No authentication' plugin is disabled",
    severity=Severity.CRITICAL,
    remediation=f"{MANAGE_AUTHS}: disable No authentication (the eye icon), after moving the"
    " accounts that use it to another method (Bulk user actions, or their profiles).",
    moodle_check="auth_none_noauth",
)
def auth_none_disabled(scan: ScanContext) -> Iterator[Result]:
    """With auth_none anyone can log in as any new username without a password."""
    value = scan.site.settings.get("auth")
    enabled = [item.strip() for item in (value or "").split(",") if item.strip()]
    source = scan.site.settings.source("auth")
    reason = (
        f"Setting auth is {_shown(value)} ({source}); it must not list none, the No"
        " authentication plugin."
    )
    if "none" not in enabled:
        yield Result.passed(reason, resource="setting:auth", observed={"auth": value})
        return
    users = scan.site.accounts.live_accounts_by_auth.get("none", 0)
    moved = (
        f" {users} live account(s) use auth none: give them another method (manual, with a"
        " password reset) before disabling it, or they are locked out."
        if users
        else " No live account uses it."
    )
    rest = ",".join(item for item in enabled if item != "none")
    yield Result.failed(
        reason + moved, resource="setting:auth", observed={"auth": value, "accounts": users}
    ).with_fix(command=SettingFix("auth", rest).command)


@check(
    "authentication.email_change_confirmed",
    title="Email address changes must be confirmed",
    severity=Severity.LOW,
    remediation=f"{SITE_POLICIES} > Email change confirmation.",
    moodle_check="core_emailchangeconfirmation",
    fix=SettingFix("emailchangeconfirmation", "1"),
)
def email_change_confirmed(scan: ScanContext) -> Iterator[Result]:
    """An unconfirmed email change lets a session thief redirect password resets."""
    confirm = scan.site.settings.get("emailchangeconfirmation")
    allowed = scan.site.settings.get("allowemailaddresses")
    confirmed = scan.site.settings.flag("emailchangeconfirmation")
    if confirmed:
        effect = "so email address changes are confirmed by mail"
    elif allowed:
        effect = f"but allowemailaddresses limits addresses to {allowed!r} (Moodle: info)"
    else:
        effect = "and allowemailaddresses is empty, so users may switch to any address"
    yield Result.pass_if(
        confirmed or bool(allowed),
        f"Setting emailchangeconfirmation is {_shown(confirm)}, {effect}.",
        resource="setting:emailchangeconfirmation",
        observed={"emailchangeconfirmation": confirm, "allowemailaddresses": allowed},
    )


password_change_logs_out = setting_check(
    "authentication.password_change_logs_out",
    name="passwordchangelogout",
    passes=lambda value: value not in (None, "", "0"),
    expectation="it must be on, so that a password change ends the other sessions of the account",
    title="Changing a password ends the account's other sessions",
    severity=Severity.MEDIUM,
    remediation=f"{SITE_POLICIES} > Log out after password change: on.",
    fix=SettingFix("passwordchangelogout", "1"),
    doc="Whoever stole a session keeps it after the victim changes the password unless the"
    " change logs out every other session.",
)

usernames_protected = setting_check(
    "authentication.usernames_protected",
    name="protectusernames",
    passes=lambda value: value not in (None, "", "0"),
    expectation="it must be on, so that the forgotten-password page does not reveal which"
    " usernames and email addresses have accounts",
    title="The forgotten-password page does not reveal which accounts exist",
    severity=Severity.MEDIUM,
    remediation=f"{SITE_POLICIES} > Protect usernames: on.",
    fix=SettingFix("protectusernames", "1"),
    doc="A page that confirms which accounts exist hands an attacker the list to guess"
    " passwords for.",
)
