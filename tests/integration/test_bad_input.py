"""Bad input ends with one sentence on stderr and the documented exit code, never a traceback.

Exit codes (``moodle_soc.errors.ExitCode``): 2 usage, 3 cannot connect, 4 not Moodle or wrong
prefix, 5 Moodle older than 3.9, 6 bad config.php, 7 another bad input file (moodle-soc.yaml).
A missing optional table is not an error: the checks that need it say so and do not apply.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moodle_soc.errors import ExitCode
from moodle_soc.synthetic.acme import build_acme
from moodle_soc.synthetic.builder import SiteBuilder

from .conftest import readonly_user, restored
from .fixtures import HARDENED, Server, describe, new_tag, run_cli

pytestmark = pytest.mark.integration

AS_OF = "2026-11-29T12:00:00Z"


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: ExitCode) -> str:
    assert done.returncode == int(code), describe(done)
    assert "Traceback" not in done.stderr, describe(done)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, describe(done)
    assert lines[0].endswith("."), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def acme_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A small synthetic Acme Academy site in a SQLite file, and its table prefix."""
    path = tmp_path_factory.mktemp("acme") / "acme.sqlite"
    builder = build_acme(users=40)
    builder.sqlite_file(path).dispose()
    return path, builder.prefix


# --- cannot connect (3) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:S3cret-pw-0123@127.0.0.1:1/moodle",
        "mariadb://root:S3cret-pw-0123@127.0.0.1:1/moodle",
    ],
    ids=["postgresql", "mariadb"],
)
def test_unreachable_database_exits_3(url: str, tmp_path: Path) -> None:
    done = run_cli("scan", "--db", url, "--as-of", AS_OF, cwd=tmp_path, timeout=60)
    line = assert_one_line_error(done, ExitCode.CANNOT_CONNECT)
    assert "S3cret-pw-0123" not in done.stderr + done.stdout
    assert "127.0.0.1" in line


def test_wrong_password_exits_3(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """On MariaDB: the local PostgreSQL trusts 127.0.0.1, so it accepts any password."""
    site = restored(request, HARDENED)
    user = readonly_user(request, site)
    wrong = "not-" + user.password
    done = run_cli(
        "scan", "--db", site.url(user.name), "--as-of", AS_OF, cwd=tmp_path,
        env={"MOODLE_SOC_DB_PASSWORD": wrong},
    )  # fmt: skip
    line = assert_one_line_error(done, ExitCode.CANNOT_CONNECT)
    assert wrong not in done.stderr and user.password not in done.stderr
    assert "denied" in line.lower(), line


# --- not Moodle (4) -------------------------------------------------------------------------------


@pytest.fixture
def empty_pg_database(postgres: Server) -> Iterator[str]:
    name = f"msoc_empty_{new_tag()}"
    postgres.create_database(name)
    try:
        yield name
    finally:
        postgres.drop_database(name)


def test_database_that_is_not_moodle_exits_4(
    postgres: Server, empty_pg_database: str, tmp_path: Path
) -> None:
    done = run_cli("scan", "--db", postgres.url(empty_pg_database), cwd=tmp_path)
    line = assert_one_line_error(done, ExitCode.NOT_MOODLE)
    assert "not a Moodle database" in line, line


def test_wrong_prefix_exits_4(acme_sqlite: tuple[Path, str], tmp_path: Path) -> None:
    path, prefix = acme_sqlite
    done = run_cli("scan", "--db", f"sqlite:///{path}", "--prefix", "zz_", cwd=tmp_path)
    line = assert_one_line_error(done, ExitCode.NOT_MOODLE)
    assert prefix in line, line


# --- unsupported version (5) ----------------------------------------------------------------------


def test_moodle_older_than_3_9_exits_5(tmp_path: Path) -> None:
    path = tmp_path / "moodle38.sqlite"
    builder = SiteBuilder(release="3.8")
    builder.sqlite_file(path).dispose()
    done = run_cli("scan", "--db", f"sqlite:///{path}", "--prefix", builder.prefix, cwd=tmp_path)
    line = assert_one_line_error(done, ExitCode.UNSUPPORTED_VERSION)
    assert "3.8" in line or "3.9" in line, line


# --- bad config.php (6) ---------------------------------------------------------------------------

GOOD_CONFIG = """<?php
unset($CFG);
global $CFG;
$CFG = new stdClass();
$CFG->dbtype    = '{dbtype}';
$CFG->dbhost    = '127.0.0.1';
$CFG->dbname    = 'moodle';
$CFG->dbuser    = 'moodle';
$CFG->dbpass    = 'Cfg-pw-987654';
$CFG->prefix    = 'mdl_';
$CFG->wwwroot   = 'https://moodle.example.test';
$CFG->dataroot  = '/var/moodledata';
require_once(__DIR__ . '/lib/setup.php');
"""


@pytest.mark.parametrize(
    "text",
    [
        GOOD_CONFIG.format(dbtype="pgsql").replace("'moodle';", "'moodle;", 1),
        GOOD_CONFIG.format(dbtype="pgsql").replace(
            "$CFG->dbname    = 'moodle';", "$CFG->dbname = ;"
        ),
        "this is not php at all\n",
    ],
    ids=["unterminated-string", "missing-value", "not-php"],
)
def test_malformed_config_php_exits_6(text: str, tmp_path: Path) -> None:
    config = tmp_path / "config.php"
    config.write_text(text, encoding="utf-8")
    done = run_cli("scan", "--config", config, "--as-of", AS_OF, cwd=tmp_path)
    assert_one_line_error(done, ExitCode.BAD_CONFIG)
    assert "Cfg-pw-987654" not in done.stderr


def test_unknown_dbtype_exits_6(tmp_path: Path) -> None:
    config = tmp_path / "config.php"
    config.write_text(GOOD_CONFIG.format(dbtype="sqlsrv"), encoding="utf-8")
    done = run_cli("scan", "--config", config, "--as-of", AS_OF, cwd=tmp_path)
    line = assert_one_line_error(done, ExitCode.BAD_CONFIG)
    assert "sqlsrv" in line, line


# --- usage (2) and other input files (7) ----------------------------------------------------------


@pytest.mark.parametrize("as_of", ["yesterday", "2026-13-45", "29/11/2026"])
def test_bad_as_of_exits_2(acme_sqlite: tuple[Path, str], tmp_path: Path, as_of: str) -> None:
    path, prefix = acme_sqlite
    done = run_cli(
        "scan", "--db", f"sqlite:///{path}", "--prefix", prefix, "--as-of", as_of, cwd=tmp_path
    )
    line = assert_one_line_error(done, ExitCode.USAGE)
    assert as_of in line, line


@pytest.mark.parametrize(
    "yaml_text",
    [
        "policy: [unclosed\n",
        "policy:\n  min_password_length: -3\n",
        "policy:\n  no_such_threshold: 1\n",
        "polcy:\n  min_password_length: 12\n",
        "- just\n- a list\n",
    ],
    ids=["invalid-yaml", "out-of-range", "unknown-threshold", "unknown-key", "not-a-mapping"],
)
@pytest.mark.parametrize("how", ["discovered", "explicit"])
def test_bad_settings_file_exits_7(
    acme_sqlite: tuple[Path, str], tmp_path: Path, yaml_text: str, how: str
) -> None:
    path, prefix = acme_sqlite
    settings = tmp_path / "moodle-soc.yaml"
    settings.write_text(yaml_text, encoding="utf-8")
    args = ["scan", "--db", f"sqlite:///{path}", "--prefix", prefix, "--as-of", AS_OF]
    if how == "explicit":
        args += ["--settings", str(settings)]
    done = run_cli(*args, cwd=tmp_path)
    line = assert_one_line_error(done, ExitCode.BAD_INPUT)
    assert "moodle-soc.yaml" in line, line


# --- missing optional tables: the scan completes, the affected checks do not apply ----------------

OPTIONAL_TABLES = ("tool_mfa", "backup_courses")


def _scan_json(path: Path, prefix: str, wwwroot: str, cwd: Path) -> dict[str, Any]:
    done = run_cli(
        "scan", "--db", f"sqlite:///{path}", "--prefix", prefix, "--wwwroot", wwwroot,
        "--as-of", AS_OF, "--format", "json", cwd=cwd,
    )  # fmt: skip
    assert done.returncode == 0, describe(done)
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_missing_optional_tables_make_checks_not_applicable(tmp_path: Path) -> None:
    builder = build_acme(users=40)
    # MFA on with TOTP, so the MFA checks need tool_mfa; Acme runs automated backups.
    builder.setting("enabled", "1", "tool_mfa")
    builder.setting("enabled", "1", "factor_totp")
    assert builder.get_setting("backup_auto_active", "backup") == "1"
    intact, prefix = tmp_path / "intact.sqlite", builder.prefix
    builder.sqlite_file(intact).dispose()
    damaged = tmp_path / "without-optional-tables.sqlite"
    damaged.write_bytes(intact.read_bytes())
    with sqlite3.connect(damaged) as connection:
        for table in OPTIONAL_TABLES:
            connection.execute(f'DROP TABLE "{prefix}{table}"')
    before = _scan_json(intact, prefix, builder.wwwroot, tmp_path)
    after = _scan_json(damaged, prefix, builder.wwwroot, tmp_path)
    verdict_before = {c["id"]: c["status"] for c in before["checks"]}
    findings_after = after["findings"]
    changed = {c["id"] for c in after["checks"] if c["status"] != verdict_before[c["id"]]}
    named: dict[str, set[str]] = {table: set() for table in OPTIONAL_TABLES}
    problems = []
    for check_id in sorted(changed):
        own = [f for f in findings_after if f["check_id"] == check_id]
        for finding in own:
            tables = [t for t in OPTIONAL_TABLES if f"{prefix}{t}" in finding["reason"]]
            if finding["status"] != "not_applicable" or not tables:
                problems.append(f"{check_id}: [{finding['status']}] {finding['reason']}")
            for table in tables:
                named[table].add(check_id)
    assert not problems, "\n".join(problems)
    assert all(named.values()), f"no check reported a missing table: {named}"
    errors_before = {f["check_id"] for f in before["findings"] if f["status"] == "error"}
    errors_after = {f["check_id"] for f in findings_after if f["status"] == "error"}
    assert errors_after <= errors_before, "a missing optional table made checks err"
