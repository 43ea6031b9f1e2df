"""``kill -9`` at any moment of a write leaves a store that verifies, holding only whole records.

A writer process appends large records (20 MB payloads) in a loop and is killed at different
points of an append (while hashing, while SQLite writes the WAL, around the commit); then the
CLI ``moodle-soc scan`` is killed at different moments. After each kill the store opens,
verifies, every record in it is complete, and the next append works.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from moodle_soc.evidence.store.runs import load_run
from moodle_soc.evidence.store.store import open_store
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import SiteRef

PAYLOAD_BYTES = 20 * 1024 * 1024
SITE = SiteRef(key="crash-site", name="Crash")
WRITER = """
import sys
from datetime import UTC, datetime
from moodle_soc.evidence.store.store import open_store
from moodle_soc.models.records import SiteRef

store = open_store(sys.argv[1], create=True)
size = int(sys.argv[2])
site = SiteRef("crash-site", "Crash")
index = len(store.records(site_key=site.key))
print("ready", flush=True)
while True:
    filler = (f"{index:08d}" * (size // 8 + 1))[:size]
    print(f"begin {index}", flush=True)
    store.append(site, "run", {"i": index, "size": size, "filler": filler},
                 collected_at=datetime.now(UTC))
    print(f"done {index}", flush=True)
    index += 1
"""


def filler(index: int) -> str:
    """What the writer puts in record ``index`` (as WRITER computes it)."""
    return (f"{index:08d}" * (PAYLOAD_BYTES // 8 + 1))[:PAYLOAD_BYTES]


def check_whole_store(location: str, at_least: int) -> int:
    """The store verifies and every record is a complete, in-order payload; returns the count."""
    with open_store(location, create=True) as store:
        report = verify_store(store)
        assert report.ok, [p.describe() for p in report.problems]
        records = store.records(site_key=SITE.key)
        assert len(records) >= at_least
        for index, record in enumerate(records):
            assert record.chain_index == index
            text = store.payload_text(record)
            assert text is not None
            payload = json.loads(text)
            assert payload["i"] == index
            assert payload["size"] == PAYLOAD_BYTES
            assert payload["filler"] == filler(index)
        return len(records)


class Writer:
    def __init__(self, script: Path, location: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(script), location, str(PAYLOAD_BYTES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.line() == "ready"

    def line(self) -> str:
        assert self.process.stdout is not None
        text = self.process.stdout.readline().strip()
        if not text:
            assert self.process.stderr is not None
            raise AssertionError(f"writer ended: {self.process.stderr.read()[-2000:]}")
        return text

    def wait_for_begin(self) -> int:
        while True:
            word, number = self.line().split()
            if word == "begin":
                return int(number)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL
        for stream in (self.process.stdout, self.process.stderr):
            assert stream is not None
            stream.close()


def wal_size(location: str) -> int:
    try:
        return os.stat(f"{location}-wal").st_size
    except FileNotFoundError:
        return 0


# How far into the write of one 20 MB record (about 21.1 MB of WAL) each kill lands.
WAL_TRIGGERS = (64 * 1024, 5 * 2**20, 12 * 2**20, 19 * 2**20, 20_900_000)


def test_kill_9_during_large_appends_leaves_a_verifiable_store(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    location = str(tmp_path / "evidence.sqlite")
    present = 0
    # Killed while hashing and encoding the payload, before SQLite writes anything.
    writer = Writer(script, location)
    writer.wait_for_begin()
    time.sleep(0.05)
    writer.kill()
    present = check_whole_store(location, at_least=0)
    # Killed while SQLite writes the record into the WAL, early to just before the commit.
    landed = []
    for threshold in WAL_TRIGGERS:
        writer = Writer(script, location)
        assert wal_size(location) == 0  # the last close checkpointed: the WAL is this write's
        writer.wait_for_begin()
        deadline = time.monotonic() + 20
        while wal_size(location) < threshold and time.monotonic() < deadline:
            time.sleep(0.0005)
        landed.append((threshold, wal_size(location)))
        writer.kill()
        present = check_whole_store(location, at_least=present)
    # Most kills must have hit SQLite mid-write (the WAL past its trigger, short of complete).
    assert sum(low <= size < 21_000_000 for low, size in landed) >= 3, landed
    # Killed right after a commit, while the next record is being prepared.
    writer = Writer(script, location)
    writer.wait_for_begin()
    writer.wait_for_begin()
    writer.kill()
    present = check_whole_store(location, at_least=present + 1)
    # The store stays writable after all that.
    with open_store(location, create=True) as store:
        store.append(
            SITE,
            "run",
            {
                "i": present,
                "size": PAYLOAD_BYTES,
                "filler": filler(present),
            },
            collected_at=datetime.now(UTC),
        )
        assert verify_store(store).ok
    assert check_whole_store(location, at_least=present + 1) == present + 1


def test_kill_9_during_cli_scans_leaves_a_verifiable_store(
    acme_site_db: Path, cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    location = str(tmp_path / "scans.sqlite")
    args = [
        str(Path(sys.executable).with_name("moodle-soc")), "scan",
        "--db", f"sqlite:///{acme_site_db}", "--wwwroot", "https://acme.example.test",
        "--as-of", "2026-11-29T12:00:00Z", "--store", location, "--quiet", "--format", "json",
    ]  # fmt: skip
    stored = 0
    for delay in (0.7, 1.2, 1.7, 2.3):
        process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path
        )
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        if not Path(location).exists():
            continue
        with open_store(location, create=True) as store:
            report = verify_store(store)
            assert report.ok, [p.describe() for p in report.problems]
            records = store.records()
            assert len(records) >= stored
            for record in records:
                assert load_run(store, record).site.name == "Acme Academy"
            stored = len(records)
    done = cli(*args[1:])
    assert done.returncode == 0, done.stderr
    with open_store(location, create=True) as store:
        assert verify_store(store).ok
        assert len(store.records()) == stored + 1
