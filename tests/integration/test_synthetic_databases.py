"""The site layer is portable: the synthetic Acme Academy site gives the same verdicts on
SQLite, PostgreSQL and MariaDB.

The same generated site is written into a throwaway database on each local server and scanned
in-process; every check's verdict and every finding's (check, resource, status) must match the
SQLite scan, so no query depends on one database's dialect, collation or types.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.policy import Policy
from moodle_soc.site.connect import open_site, spec_from_url
from moodle_soc.site.phpconfig import parse_config_php
from moodle_soc.synthetic.acme import build_acme
from moodle_soc.synthetic.builder import SiteBuilder

from .fixtures import Server, new_tag

pytestmark = pytest.mark.integration

USERS = 150
CONFIG_PHP = """<?php
unset($CFG);
global $CFG;
$CFG = new stdClass();
$CFG->dbtype    = 'pgsql';
$CFG->dbhost    = 'localhost';
$CFG->dbname    = 'acme';
$CFG->dbuser    = 'moodle';
$CFG->dbpass    = 'synthetic-not-a-secret';
$CFG->prefix    = '{prefix}';
$CFG->wwwroot   = '{wwwroot}';
$CFG->dataroot  = '/var/moodledata';
require_once(__DIR__ . '/lib/setup.php');
"""


@pytest.fixture(scope="module")
def acme() -> SiteBuilder:
    return build_acme(users=USERS)


def _scan(builder: SiteBuilder, url: str) -> dict[str, Any]:
    config = parse_config_php(
        CONFIG_PHP.format(prefix=builder.prefix, wwwroot=builder.wwwroot), "acme/config.php"
    )
    site = open_site(
        spec_from_url(url, builder.prefix, ""),
        config_php=config,
        audit_time=datetime.fromtimestamp(builder.now, UTC),
    )
    try:
        data: dict[str, Any] = run_scan(ScanContext(site, Policy())).expanded()
    finally:
        site.db.close()
    return data


@pytest.fixture(scope="module")
def sqlite_scan(acme: SiteBuilder, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path: Path = tmp_path_factory.mktemp("acme") / "acme.sqlite"
    acme.sqlite_file(path).dispose()
    return _scan(acme, f"sqlite:///{path}")


@pytest.fixture(params=["postgresql", "mariadb"])
def server_database(request: pytest.FixtureRequest) -> Iterator[tuple[Server, str]]:
    server: Server = request.getfixturevalue(
        "postgres" if request.param == "postgresql" else "mariadb"
    )
    name = f"msoc_acme_{new_tag()}"
    server.create_database(name)
    try:
        yield server, name
    finally:
        server.drop_database(name)


def _verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checks"]}


def _findings(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["check_id"], f["resource"], f["status"]) for f in report["findings"]}


def test_same_verdicts_as_sqlite(
    acme: SiteBuilder, sqlite_scan: dict[str, Any], server_database: tuple[Server, str]
) -> None:
    server, name = server_database
    engine = server.admin_engine(name, autocommit=False)
    try:
        acme.write(engine)
    finally:
        engine.dispose()
    report = _scan(acme, server.url(name))
    assert report["site"]["moodle_label"] == sqlite_scan["site"]["moodle_label"]
    expected, actual = _verdicts(sqlite_scan), _verdicts(report)
    differ = {
        cid: (expected[cid], actual.get(cid))
        for cid in expected
        if actual.get(cid) != expected[cid]
    }
    assert not differ, f"verdicts differ from SQLite (sqlite, {server.kind}): {differ}"
    only_sqlite = sorted(_findings(sqlite_scan) - _findings(report))
    only_server = sorted(_findings(report) - _findings(sqlite_scan))
    assert not only_sqlite, f"findings only on SQLite: {only_sqlite[:10]}"
    assert not only_server, f"findings only on {server.kind}: {only_server[:10]}"
    assert not [f for f in report["findings"] if f["status"] == "error"]
    reasons = {(f["check_id"], f["resource"]): f["reason"] for f in sqlite_scan["findings"]}
    worded = [
        f"{f['check_id']} on {f['resource']}: {f['reason']!r} vs SQLite"
        f" {reasons[(f['check_id'], f['resource'])]!r}"
        for f in report["findings"]
        if reasons.get((f["check_id"], f["resource"])) != f["reason"]
    ]
    assert not worded, "\n".join(worded[:10])
