"""The oracle parser reads Moodle's raw, ANSI-coloured ``checks.php -v`` output exactly."""

from __future__ import annotations

import pytest

from .fixtures import FIXTURE_SITES, FixtureSite, fixtures_dir, require
from .oracle import OracleFormatError, load_oracle, parse_checks_output, strip_ansi

pytestmark = pytest.mark.integration

SAMPLE = (
    "CRITICAL: Cron running (tool_task_cronrunning)\n"
    "   Status | Check                                                       \n"
    "----------+--------------------------------------------------------------------\n"
    "      \x1b[0;32m OK \x1b[0;0m| Environment (core_environment)                   \n"
    "          |     Your server environment meets all minimum requirements. \n"
    "          |     http://weak.example.test/admin/environment.php          \n"
    "      \x1b[1;30m NA \x1b[0;0m| Antivirus (core_antivirus)                        \n"
    "\x1b[41m CRITICAL \x1b[0;0m| Cron running (tool_task_cronrunning)               \n"
    "          |     The admin/cron.php script has never been run (every 1 min).\n"
    "    \x1b[0;34m INFO \x1b[0;0m| Ad hoc task queue (tool_task_adhocqueue)         \n"
    " \x1b[0;30m\x1b[43m WARNING \x1b[0;0m| Check all public / private paths (core_publicpaths)\n"
    "   \x1b[41m ERROR \x1b[0;0m| Block Configurable Reports SQL execution"
    " (block_configurable_reports_sql_execution)\n"
    " UNKNOWN | Solr (search_solr_connection)\n"
)


def test_rows_become_ref_to_level_without_header_or_summary_lines() -> None:
    assert parse_checks_output(SAMPLE) == {
        "core_environment": "ok",
        "core_antivirus": "na",
        "tool_task_cronrunning": "critical",
        "tool_task_adhocqueue": "info",
        "core_publicpaths": "warning",
        "block_configurable_reports_sql_execution": "error",
        "search_solr_connection": "unknown",
    }


def test_ansi_codes_are_stripped() -> None:
    assert strip_ansi("\x1b[0;30m\x1b[43m WARNING \x1b[0;0m|") == " WARNING |"


def test_text_without_rows_is_rejected() -> None:
    with pytest.raises(OracleFormatError):
        parse_checks_output("OK: All status checks OK\n")


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(OracleFormatError):
        parse_checks_output("  SERIOUS | Password policy (core_passwordpolicy)\n")


@pytest.mark.parametrize("site", FIXTURE_SITES, ids=lambda s: s.key)
def test_real_oracle_files_parse(site: FixtureSite) -> None:
    require(fixtures_dir() / f"{site.stem}-checks-security.txt")
    oracle = load_oracle(fixtures_dir(), site.stem)
    assert oracle["core_passwordpolicy"] in {"ok", "warning"}
    assert oracle["core_dbschema"] == "error"  # custom plugins on every fixture (README)
    assert oracle["tool_task_cronrunning"] == ("ok" if site.key == "hardened" else "critical")
    assert len(oracle) >= 30
