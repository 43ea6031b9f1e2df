"""No secret held by a scanned site ever reaches an output: JSON, HTML, terminal or stderr.

The secrets are read from each database with a separate administrator connection: password
hashes, user secrets, web-service tokens, MFA secrets, session ids, payment-gateway secrets,
secret-named settings (salts, private keys, passwords) and the SELECT-only user's own password.
The outputs searched include the query provenance of the JSON report.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .conftest import CLI_KINDS, DemoRun, Scans, readonly_user, restored
from .fixtures import FIXTURE_SITES, HARDENED, FixtureSite, describe, run_cli, sqlite_text

pytestmark = pytest.mark.integration

MIN_SECRET = 8
#: Setting names that may hold a secret (plus anything with "key" in it, as the brief asks).
SECRET_SETTING = re.compile(r"pass|secret|salt|key|token|pepper|credential", re.I)
#: Names that match the pattern but are settings about secrets, not secrets.
NOT_SECRET_SETTING = re.compile(
    r"(type|policy|ttl|duration|length|limit|lifetime|required|toggle|logout|deletion|url"
    r"|digits|lower|upper|nonalphanum|checkonlogin|recaptcha|expiry|expires|bypass|resets?)$"
    r"|^(proxybypass|enableforgotpasswordrecaptcha|factor_capability/adminpasses)$",
    re.I,
)
PAYMENT_SECRET_KEY = re.compile(r"secret|password|key|token", re.I)
NOT_SECRET_VALUES = frozenset({"not cached", "restored", "********"})


def _table(tables: set[str], prefix: str, name: str) -> str | None:
    return prefix + name if prefix + name in tables else None


def collect_secrets(engine: sa.Engine, prefix: str) -> dict[str, str]:
    """label -> secret value, read with an administrator connection."""
    inspector_tables = set(sa.inspect(engine).get_table_names())
    found: dict[str, str] = {}

    def take(label: str, value: Any) -> None:
        if value is None:
            return
        text = str(value).strip()
        if len(text) >= MIN_SECRET and text not in NOT_SECRET_VALUES and not text.isdigit():
            found[label] = text

    def rows(sql: str) -> Iterable[Any]:
        with engine.connect() as connection:
            yield from connection.execute(sa.text(sql))

    columns = {
        "user": ("password", "secret"),
        "external_tokens": ("token", "privatetoken"),
        "tool_mfa": ("secret",),
        "sessions": ("sid",),
    }
    for table, wanted in columns.items():
        name = _table(inspector_tables, prefix, table)
        if name is None:
            continue
        present = {c["name"] for c in sa.inspect(engine).get_columns(name)}
        for column in wanted:
            if column in present:
                for row in rows(f"SELECT id, {column} FROM {name}"):
                    take(f"{table}.{column}#{row[0]}", row[1])
    gateways = _table(inspector_tables, prefix, "payment_gateways")
    if gateways:
        for row in rows(f"SELECT id, config FROM {gateways}"):
            try:
                config = json.loads(row[1] or "{}")
            except ValueError:
                take(f"payment_gateways.config#{row[0]}", row[1])
                continue
            for key, value in config.items():
                if PAYMENT_SECRET_KEY.search(key):
                    take(f"payment_gateways.config#{row[0]}.{key}", value)
    settings: list[tuple[str, str]] = []
    public: set[str] = set()
    for row in rows(f"SELECT name, value FROM {prefix}config"):
        settings.append((str(row[0]), row[1]))
    for row in rows(f"SELECT plugin, name, value FROM {prefix}config_plugins"):
        settings.append((f"{row[0]}/{row[1]}", row[2]))
    for name, value in settings:
        short = name.rsplit("/", 1)[-1]
        if SECRET_SETTING.search(short) and not NOT_SECRET_SETTING.search(name):
            take(f"setting:{name}", value)
        elif value:
            public.add(str(value).strip())
    if _table(inspector_tables, prefix, "user"):
        public |= {str(r[0]) for r in rows(f"SELECT username FROM {prefix}user")}
    # A "secret" that is also an ordinary value (a bot's default password equal to its
    # username, say) may legitimately appear; it proves nothing either way.
    return {label: value for label, value in found.items() if value not in public}


def needles(value: str) -> set[str]:
    """The forms a leaked value could take in a report: raw, JSON- or HTML-escaped, in part."""
    forms = {value, json.dumps(value)[1:-1], html.escape(value), html.escape(value, quote=False)}
    if "$" in value:  # crypt hash: the digest after the last '$' alone is the secret
        forms.add(value.rsplit("$", 1)[-1])
    if "\n" in value or "-----BEGIN" in value:  # PEM: every base64 line is a secret
        forms |= {line for line in re.split(r"\s+", value) if len(line) >= 24}
    if len(value) >= 32:  # a printed prefix or suffix of a long token still leaks it
        forms |= {value[:16], value[-16:]}
    return {form for form in forms if len(form) >= MIN_SECRET}


def assert_no_leak(secrets: dict[str, str], outputs: dict[str, str]) -> None:
    leaks = []
    for label, value in secrets.items():
        for form in needles(value):
            for where, text in outputs.items():
                if form in text:
                    at = text.index(form)
                    leaks.append(f"{label} in {where}: ...{text[max(0, at - 80) : at + 40]!r}")
                    break
    assert not leaks, "\n".join(leaks[:20])


# --- the real fixtures ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_no_secret_in_any_output(
    request: pytest.FixtureRequest, scans: Scans, fixture: FixtureSite
) -> None:
    site = restored(request, fixture)
    user = readonly_user(request, site)
    secrets = collect_secrets(site.admin, fixture.prefix)
    secrets["readonly_user.password"] = user.password
    # The collector really found the secrets these fixtures hold.
    kinds = {label.split("#")[0].split(":")[0] for label in secrets}
    assert {"user.password", "external_tokens.token", "setting"} <= kinds, sorted(kinds)
    outputs: dict[str, str] = {}
    for kind in CLI_KINDS:
        scan = scans.cli(site, kind, user)
        assert scan.done.returncode == 0, describe(scan.done)
        if "Stored run as evidence record" in scan.done.stderr:
            assert scan.store is not None, "the run was stored outside its isolated store"
        outputs |= {f"{kind} {where}": text for where, text in scan.outputs.items()}
    outputs["run_scan JSON"] = scans.run(site).model_dump_json()
    queries = json.loads(scans.cli(site, "ro-json", user).done.stdout)["queries"]
    assert queries, "the JSON report carries no query provenance"
    assert_no_leak(secrets, outputs)


def test_password_in_the_url_is_never_printed(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    site = restored(request, HARDENED)
    user = readonly_user(request, site)
    url = site.url(user.name, user.password)
    done = run_cli("scan", "--db", url, "--as-of", HARDENED.as_of, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, describe(done)
    outputs = {
        "stdout": done.stdout,
        "stderr": done.stderr,
        "evidence store": sqlite_text(tmp_path / "evidence.sqlite"),
    }
    assert_no_leak({"password": user.password}, outputs)
    assert user.name in json.loads(done.stdout)["site"]["database"]


# --- the synthetic demo site ---------------------------------------------------------------------


def test_demo_outputs_hold_no_generated_secret(demo_run: DemoRun, tmp_path: Path) -> None:
    assert demo_run.done.returncode == 0, describe(demo_run.done)
    engine = sa.create_engine(f"sqlite:///{demo_run.site_db}")
    try:
        tables = sa.inspect(engine).get_table_names()
        prefix = next(t for t in tables if t.endswith("config_plugins"))[: -len("config_plugins")]
        secrets = collect_secrets(engine, prefix)
    finally:
        engine.dispose()
    kinds = {label.split("#")[0] for label in secrets}
    assert {"user.password", "external_tokens.token", "sessions.sid"} <= kinds, sorted(kinds)
    scan = run_cli(
        "scan", "--db", f"sqlite:///{demo_run.site_db}", "--prefix", prefix,
        "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert scan.returncode == 0, describe(scan)
    assert_no_leak(
        secrets,
        {
            "demo stdout": demo_run.done.stdout,
            "demo stderr": demo_run.done.stderr,
            "demo HTML": demo_run.html,
            "scan JSON": scan.stdout,
            "scan stderr": scan.stderr,
            "demo evidence store": sqlite_text(demo_run.workdir / "evidence.sqlite"),
            "scan evidence store": sqlite_text(tmp_path / "evidence.sqlite"),
        },
    )


def test_the_leak_detector_sees_escaped_and_partial_forms() -> None:
    """A control for the tests above: planted secrets are caught in every form."""
    pem = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n-----END"
    )
    planted = {
        "pem": (pem, json.dumps({"value": pem})),
        "quote": ('se"cr<et>&1', html.escape('se"cr<et>&1')),
        "token": ("da43ad4b6e8f0a1b2c3d4e5f60718293", "token da43ad4b6e8f0a1b…"),
        "hash": ("$6$rounds=10000$saltsalt$" + "x" * 86, "digest " + "x" * 86),
    }
    for label, (secret, output) in planted.items():
        with pytest.raises(AssertionError):
            assert_no_leak({label: secret}, {"output": output})
    assert_no_leak({"token": "da43ad4b6e8f0a1b2c3d4e5f60718293"}, {"output": "token 1 da43"})


#: Secrets a real config.php holds besides the database password.
CONFIG_PHP_SECRETS = {
    "passwordsaltmain": "Salt-main-5fG7hJ2kL9qW",
    "upgradekey": "Upgrade-key-8dS3fA1zX",
    "cronremotepassword": "Cron-remote-4tY6uI8oP",
}
LDAP_BIND_PASSWORD = "Ldap-bind-2wE4rT6yU"
PEPPER = "Pepper-value-9mN7bV5cX"


def test_config_php_secrets_are_never_printed(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A production config.php holds the real database password, salts and keys."""
    site = restored(request, HARDENED)
    user = readonly_user(request, site)
    text = site.config_php_text(user.name).replace(
        "$CFG->dbpass    = 'REDACTED';", f"$CFG->dbpass    = '{user.password}';"
    )
    assert user.password in text
    extra = "".join(f"$CFG->{name} = '{value}';\n" for name, value in CONFIG_PHP_SECRETS.items())
    extra += f"$CFG->passwordpeppers = [1 => '{PEPPER}'];\n"
    extra += (
        "$CFG->forced_plugin_settings = ['auth_ldap' => ['bind_pw' => "
        f"'{LDAP_BIND_PASSWORD}', 'host_url' => 'ldaps://ldap.example.test']];\n"
    )
    text = text.replace("require_once(", extra + "require_once(", 1)
    config = tmp_path / "config.php"
    config.write_text(text, encoding="utf-8")
    outputs: dict[str, str] = {}
    for fmt in ("json", "html", "terminal"):
        args = ["scan", "--config", str(config), "--as-of", HARDENED.as_of, "--format", fmt]
        if fmt == "terminal":
            args.append("--verbose")
        done = run_cli(*args, cwd=tmp_path)  # no MOODLE_SOC_DB_PASSWORD: dbpass is used
        assert done.returncode == 0, describe(done)
        outputs |= {f"{fmt} stdout": done.stdout, f"{fmt} stderr": done.stderr}
    outputs["evidence store"] = sqlite_text(tmp_path / "evidence.sqlite")
    secrets = {
        "config.php dbpass": user.password,
        "config.php passwordpeppers": PEPPER,
        "config.php auth_ldap/bind_pw": LDAP_BIND_PASSWORD,
        **{f"config.php {name}": value for name, value in CONFIG_PHP_SECRETS.items()},
    }
    assert_no_leak(secrets, outputs)
