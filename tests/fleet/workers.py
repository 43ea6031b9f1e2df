"""Start and stop ``moodle-soc worker`` processes for the Celery tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CLI = Path(sys.executable).with_name("moodle-soc")


@contextmanager
def celery_worker(
    broker: str, store: str, log: Path, *, concurrency: int = 1, visibility: int = 3600
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker consuming the fleet queue; waits until it is ready, stops it afterwards."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [str(CLI), "worker", "--broker", broker, "--store", store,
               "--concurrency", str(concurrency), "--loglevel", "INFO",
               "--hostname", f"test{os.getpid()}-{time.monotonic_ns()}@%h",
               "--visibility-timeout", str(visibility)]  # fmt: skip
    with log.open("wb") as output:
        worker = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while b" ready." not in log.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield worker
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=30)
        for child in pool_children(worker.pid):  # a pool process orphaned by a kill
            os.kill(child, signal.SIGKILL)


def pool_children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the worker's pool), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found
