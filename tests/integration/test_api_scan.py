"""``python -c "from moodle_soc.api import scan_site; ..."`` gives the findings ``moodle-soc scan``
gives, on every real fixture: the API is the CLI's core, not a second implementation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import Scans, readonly_user, restored
from .fixtures import FIXTURE_SITES, FixtureSite, describe

pytestmark = pytest.mark.integration

SCRIPT = """
import json
import sys
from datetime import datetime
from pathlib import Path
from moodle_soc.api import open_evidence_store, scan_site
config, as_of, store = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), sys.argv[3]
with open_evidence_store(store, create=True) as evidence:
    run = scan_site(config=config, as_of=as_of, store=evidence, password="")
print(json.dumps(run.expanded()))
"""


def _keyed(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(f["check_id"], f["resource"], f["status"], f["reason"]) for f in report["findings"]}


@pytest.mark.parametrize("fixture", FIXTURE_SITES, ids=lambda f: f.key)
def test_scan_site_in_a_fresh_process_matches_the_cli(
    request: pytest.FixtureRequest, fixture: FixtureSite, tmp_path: Path
) -> None:
    site = restored(request, fixture)
    scans: Scans = request.getfixturevalue("scans")
    cli = scans.cli(site, "config-json", readonly_user(request, site))
    assert cli.done.returncode == 0, describe(cli.done)
    config = site.write_config_php(tmp_path)  # the administrator, as the CLI's config-json scan
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config), fixture.as_of, str(tmp_path / "e.sqlite")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    api_report = json.loads(done.stdout)
    assert _keyed(api_report) == _keyed(cli.json())
    assert api_report["summary"] == cli.json()["summary"]
