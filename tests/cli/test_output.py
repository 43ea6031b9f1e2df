"""Writing a report where it cannot go is one sentence and exit code 7, not a traceback."""

import subprocess
import sys
from pathlib import Path

from moodle_soc.synthetic.builder import SiteBuilder

CLI = Path(sys.executable).with_name("moodle-soc")


def test_unwritable_output_is_a_clean_error(tmp_path: Path):
    site = tmp_path / "site.sqlite"
    SiteBuilder().sqlite_file(site).dispose()
    done = subprocess.run(
        [str(CLI), "scan", "--db", f"sqlite:///{site}", "--no-store", "-q", "-f", "json",
         "-o", str(tmp_path / "missing" / "x.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 7
    assert "Cannot write" in done.stderr and "Traceback" not in done.stderr
