"""``scan --probe``: off by default; with it the web checks request only the given wwwroot."""

import json
import subprocess
import sys
from pathlib import Path

from tests.probes.servers import Site, serve

from moodle_soc.checks.web import PUBLIC_PATHS
from moodle_soc.synthetic.builder import SiteBuilder

CLI = Path(sys.executable).with_name("moodle-soc")


def _scan(tmp_path: Path, *extra: str) -> dict[str, str]:
    site = tmp_path / "site.sqlite"
    if not site.exists():
        SiteBuilder().sqlite_file(site).dispose()
    done = subprocess.run(
        [str(CLI), "scan", "--db", f"sqlite:///{site}", "--no-store", "-q", "-f", "json",
         "--check", "web", *extra],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {c["id"]: c["status"] for c in json.loads(done.stdout)["checks"]}


def test_probe_is_off_by_default_and_on_with_the_flag(tmp_path: Path):
    site = Site(leaking=False, base="/moodle")
    with serve(site) as port:
        wwwroot = f"http://127.0.0.1:{port}/moodle"
        off = _scan(tmp_path, "--wwwroot", wwwroot)
        assert site.requested == []
        on = _scan(tmp_path, "--wwwroot", wwwroot, "--probe")
    assert set(off.values()) == {"manual"} and len(off) == 7
    assert on == {
        "web.dataroot_not_served": "manual",  # no config.php: where dataroot lies is unknown
        "web.hsts_enabled": "fail",  # http wwwroot
        "web.login_https_only": "fail",
        "web.php_version_hidden": "pass",
        "web.public_paths_not_served": "pass",
        "web.security_headers_sent": "pass",
        "web.tls_current": "fail",
    }
    assert set(site.requested) == {"/moodle/"} | {f"/moodle{p}" for p, _, _ in PUBLIC_PATHS}
