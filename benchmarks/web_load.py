"""Dashboard load: N signed-in auditors browsing at once for a while, on loopback.

Builds a fixture store (the synthetic Acme site scanned daily for ``--days`` days, on SQLite or
a PostgreSQL URL given with ``--store``), adds one auditor per simulated user, starts
``moodle-soc serve`` on a free port, signs every auditor in (one after the other: sign-in is
deliberately slow, argon2id), then lets them browse the overview, findings, a check, the runs
and the period report concurrently for ``--seconds``, each pausing ``--think`` seconds on
average between pages as a reader does (``--think 0``: back to back, a stress test).
Prints p50/p95/p99 page times per page and overall, and the errors. Target on the fixture
stores: p95 under 300 ms, 0 errors. Not a timed test.

    .venv/bin/python benchmarks/web_load.py [--users 50] [--seconds 60] [--days 14]
        [--workers 1] [--think 1.0] [--store postgresql://postgres@127.0.0.1/msoc_web_bench]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from moodle_soc.api.users import add_dashboard_user
from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.evidence.store.runs import site_ref_for, store_run
from moodle_soc.evidence.store.store import open_store
from moodle_soc.policy import Policy
from moodle_soc.site.db import Database
from moodle_soc.site.moodle import MoodleSite
from moodle_soc.synthetic.acme import build_acme

PASSWORD = "benchmark password"
CLI = Path(sys.executable).with_name("moodle-soc")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def build_store(location: str, days: int, users: int) -> tuple[str, str]:
    """The Acme site scanned daily for ``days`` days up to 2026-11-29, and the auditors."""
    acme = build_acme(users=40, seed=2026)
    engine = acme.sqlite_memory()
    last = datetime(2026, 11, 29, 9, tzinfo=UTC)
    with open_store(location, create=True) as store:
        run = None
        for back in range(days - 1, -1, -1):
            site = MoodleSite(Database(engine=engine, prefix=acme.prefix, display_url="bench"),
                              audit_time=last - timedelta(days=back))  # fmt: skip
            run = run_scan(ScanContext(site, Policy()))
            store_run(store, run)
        assert run is not None
        for number in range(users):
            add_dashboard_user(store, f"auditor{number}", role="auditor", password=PASSWORD,
                               sites=["Acme Academy"], expires=date(2099, 1, 1),
                               period=(date(2026, 1, 1), date(2026, 12, 31)))  # fmt: skip
        check = next(c.id for c in run.checks if c.status == "fail")
        return site_ref_for(run).key, check
    engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def sign_in(client: httpx.AsyncClient, username: str) -> None:
    form = await client.get("/login")
    token = _TOKEN.search(form.text)
    assert token, "no login form"
    done = await client.post("/login", data={"username": username, "password": PASSWORD,
                                             "csrf_token": token.group(1)})  # fmt: skip
    assert done.status_code == 303, f"{username} could not sign in: {done.status_code}"


async def browse(
    client: httpx.AsyncClient, pages: list[tuple[str, str]], until: float,
    times: dict[str, list[float]], errors: list[str], think: float,
) -> None:  # fmt: skip
    number = 0
    pause = random.Random(id(client))
    while time.monotonic() < until:
        if think:  # a person reads the page before the next click
            await asyncio.sleep(pause.uniform(0.5 * think, 1.5 * think))
        name, path = pages[number % len(pages)]
        number += 1
        started = time.perf_counter()
        try:
            answer = await client.get(path)
            ok = answer.status_code == 200
            problem = f"{name}: HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            ok, problem = False, f"{name}: {type(exc).__name__}"
        elapsed = (time.perf_counter() - started) * 1000
        if ok:
            times.setdefault(name, []).append(elapsed)
        else:
            errors.append(problem)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run_load(
    base: str, users: int, seconds: float, pages: list[tuple[str, str]], think: float
) -> None:
    limits = httpx.Limits(max_connections=users + 5)
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for _ in range(users)]
    for number, client in enumerate(clients):
        await sign_in(client, f"auditor{number}")
    times: dict[str, list[float]] = {}
    errors: list[str] = []
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(
        browse(client, pages[n % len(pages):] + pages[: n % len(pages)], until, times, errors,
               think)
        for n, client in enumerate(clients)
    ))  # fmt: skip
    wall = time.monotonic() - started
    for client in clients:
        await client.aclose()
    everything = [t for values in times.values() for t in values]
    print(f"{users} signed-in auditors (think {think} s) for {wall:.0f} s: {len(everything)} pages"
          f" ({len(everything) / wall:.1f}/s), {len(errors)} error(s)")  # fmt: skip
    print(f"{'page':<10} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, values in [*sorted(times.items()), ("all", everything)]:
        print(f"{name:<10} {len(values):>6} {statistics.median(values):>8.0f}"
              f" {percentile(values, 0.95):>8.0f} {percentile(values, 0.99):>8.0f}")  # fmt: skip
    if errors:
        print("errors:", ", ".join(sorted(set(errors))[:10]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean seconds between a user's pages (0: back to back)",
    )
    parser.add_argument("--store", help="a postgresql:// URL (default: a new SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="msoc-web-bench-") as folder:
        location = options.store or str(Path(folder) / "evidence.sqlite")
        print(f"building the store: {options.days} daily runs, {options.users} auditors ...")
        key, check = build_store(location, options.days, options.users)
        port = free_port()
        server = subprocess.Popen(
            [str(CLI), "serve", "--store", location, "--port", str(port),
             "--workers", str(options.workers), "--login-rate", str(options.users + 10)],
            stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=os.environ.copy(),
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            site = f"/sites/{key}"
            pages = [("overview", site), ("findings", f"{site}/findings"),
                     ("check", f"{site}/checks/{check}"), ("runs", f"{site}/runs"),
                     ("period", f"{site}/period?start=2026-11-01&end=2026-11-30"),
                     ("sites", "/"), ("api", f"/api/v1{site}")]  # fmt: skip
            asyncio.run(run_load(base, options.users, options.seconds, pages, options.think))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)


if __name__ == "__main__":
    main()
