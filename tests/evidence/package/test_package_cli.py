"""``moodle-soc evidence export | verify-package | retention`` as an operator runs them.

The CLI runs as a subprocess, exactly as installed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.store.runs import store_run
from moodle_soc.evidence.store.store import open_store
from moodle_soc.policy import Policy
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.acme import build_acme

CLI = Path(sys.executable).with_name("moodle-soc")
PERIOD = "2026-05-02..2026-05-10"


def command() -> list[str]:
    return [str(CLI)]


@dataclass(frozen=True)
class Setup:
    store: str
    site: str
    where: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A store with runs of the synthetic site on 1, 4 and 9 May 2026."""
    where = tmp_path_factory.mktemp("package-cli")
    with open_store(str(where / "evidence.sqlite"), create=True) as store:
        builder = build_acme(users=20)
        for day in (1, 4, 9):
            db = Database(engine=builder.sqlite_memory(), prefix=builder.prefix, display_url="x")
            record = store_run(
                store,
                run_scan(
                    ScanContext(
                        MoodleSite(db, audit_time=datetime(2026, 5, day, 9, tzinfo=UTC)), Policy()
                    )
                ),
            )
    yield Setup(store=str(where / "evidence.sqlite"), site=record.site_key[:12], where=where)


def run(line: str, *more: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``moodle-soc LINE MORE...`` (LINE split like a shell would) in a subprocess."""
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [*command(), *shlex.split(line), *more],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def exported(setup: Setup) -> Path:
    package = setup.where / "package.zip"
    done = run(
        f"evidence export --site {setup.site} --period {PERIOD} -o {package}"
        f" --store {setup.store} --sign-key {key(setup)}",
        cwd=setup.where,
    )
    assert done.returncode == 0, done.stderr
    assert f"Wrote {package}" in done.stdout and "2 run" in done.stdout
    assert "Exporting" not in done.stdout  # the progress bar belongs to stderr
    return package


def key(setup: Setup) -> Path:
    path = setup.where / "signing.pem"
    if not path.exists():
        done = run(f"evidence keygen {path}", cwd=setup.where)
        assert done.returncode == 0, done.stderr
    return path


def test_an_exported_package_verifies(exported: Path, setup: Setup) -> None:
    done = run(f"evidence verify-package {exported}", cwd=setup.where)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: package.zip:")
    assert "2 records verified" in done.stdout and "not signed" not in done.stdout
    # Every file a forger could edit unnoticed without the key is named, with the reason.
    assert "made again from its records and compared, 5 partly, 3 not bound" in done.stdout
    assert "NOT BOUND: report/readiness-report.pdf: built from the whole evidence" in done.stdout
    assert "PARTLY BOUND: controls/control-matrix.csv: " in done.stdout
    assert "the manifest signature covers it" in done.stdout


def test_a_tampered_package_exits_8_and_names_the_file(
    exported: Path, setup: Setup, tmp_path: Path
) -> None:
    import zipfile

    with zipfile.ZipFile(exported) as archive:
        info = archive.getinfo("README.txt")
    raw = bytearray(exported.read_bytes())
    raw[info.header_offset + 30 + len("README.txt") + 5] ^= 0x01
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(bytes(raw))
    done = run(f"evidence verify-package {tampered}", cwd=tmp_path)
    assert done.returncode == 8
    assert done.stderr.startswith("TAMPERED: README.txt: ")


def test_verify_package_of_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    done = run("evidence verify-package nothing.zip", cwd=tmp_path)
    assert done.returncode == 7 and "does not exist" in done.stderr


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-01-01", "is not FROM..TO"),
        ("2026-01-01..", "is not FROM..TO"),
        ("2026-13-01..2026-12-31", "is not a date"),
        ("2026-12-31..2026-01-01", "ends before it starts"),
    ],
)
def test_bad_periods_are_usage_errors(
    setup: Setup, tmp_path: Path, period: str, message: str
) -> None:
    export = f"evidence export --site {setup.site} -o p.zip --store {setup.store}"
    done = run(export, "--period", period, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and not (tmp_path / "p.zip").exists()


def test_export_refuses_to_overwrite_without_force(setup: Setup, tmp_path: Path) -> None:
    existing = tmp_path / "p.zip"
    existing.write_bytes(b"keep me")
    export = f"evidence export --site {setup.site} --period {PERIOD} -o {existing} -q"
    done = run(export, "--store", setup.store, cwd=tmp_path)
    assert done.returncode == 2 and "--force" in done.stderr
    assert existing.read_bytes() == b"keep me"
    assert run(export, "--store", setup.store, "--force", cwd=tmp_path).returncode == 0
    assert run(f"evidence verify-package {existing}", cwd=tmp_path).returncode == 0


def test_export_of_an_unknown_site_is_bad_input(setup: Setup, tmp_path: Path) -> None:
    export = f"evidence export --site nowhere --period {PERIOD} -o p.zip"
    done = run(export, "--store", setup.store, cwd=tmp_path)
    assert done.returncode == 7 and "matches no site" in done.stderr


def test_retention_dry_run_confirmation_and_seal(setup: Setup, tmp_path: Path) -> None:
    # These test days are recent: allow clearing them (the default keeps 400 days).
    (tmp_path / "moodle-soc.yaml").write_text("policy:\n  min_evidence_retention_days: 0\n")
    store = str(tmp_path / "copy.sqlite")
    Path(store).write_bytes(Path(setup.store).read_bytes())
    retention = (
        f"evidence retention --site {setup.site} --before 2026-05-05 --operator dpo"
        f" --reason 'Two days only' --store {store}"
    )
    dry = run(retention, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and dry.stdout.startswith("Would clear 2 record payload(s)")
    unconfirmed = run(retention, cwd=tmp_path)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    done = run(retention, "--yes", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("Sealed and cleared 2 record")
    verified = run(f"evidence verify --store {store}", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    again = run(retention, "--yes", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("Nothing to clear")


def test_export_per_framework(setup: Setup, tmp_path: Path) -> None:
    import zipfile

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: own\nname: Own\nversion: '1'\ncategories: {OPS: {name: Ops}}\nrequirements:\n"
        "  - {id: O-1, category: OPS, title: T, description: D., checks: [operations.nope],"
        " manual_evidence: [], owners: [client]}\n"
    )
    export = f"evidence export --site {setup.site} --period {PERIOD} -o p.zip -q"
    done = run(export, "--store", setup.store, "--framework", str(bad), cwd=tmp_path)
    assert done.returncode == 7 and "line 6" in done.stderr and "operations.nope" in done.stderr
    assert not (tmp_path / "p.zip").exists()
    done = run(export, "--store", setup.store, "--framework", "nist-800-53", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        names = archive.namelist()
    assert {"frameworks/nist-800-53.csv", "frameworks/nist-800-53.json"} <= set(names)
    assert run(f"evidence verify-package {tmp_path / 'p.zip'}", cwd=tmp_path).returncode == 0
