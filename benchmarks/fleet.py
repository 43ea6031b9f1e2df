"""Fleet throughput: 200 small synthetic sites scanned by 1, 2 and 4 local workers and by 2
Celery workers (Redis broker), into one shared PostgreSQL evidence store.

Most sites are SQLite files; a share lives in the local PostgreSQL and MariaDB (one database
each, one table prefix per site, as shared Moodle hosting sometimes does). For each setup it
prints the wall time, sites per minute, the scaling ratio against one local worker and the
peak resident memory of a worker process (the largest any scan reached). Not a timed test.

    .venv/bin/python benchmarks/fleet.py [--sites 200] [--server-share 15] [--setups ...]

Needs PostgreSQL and MariaDB on 127.0.0.1 (trust / root without password) and, for the
Celery setup, Redis on 127.0.0.1:6379 (database 9 is used and flushed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from moodle_soc.fleet.inventory import FleetSite, parse_fleet
from moodle_soc.fleet.outcome import SiteOutcome
from moodle_soc.synthetic.builder import SiteBuilder

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
MARIADB = "mariadb+pymysql://root@127.0.0.1:3306"
SITES_DB = "msoc_fleet_bench_sites"
STORE_DB = "msoc_fleet_bench_store"
BROKER = "redis://127.0.0.1:6379/9"


def recreate(server: str, name: str) -> None:
    admin = sa.create_engine(
        f"{server}/{'postgres' if server == PG else ''}", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        if server == PG:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        else:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
            connection.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    admin.dispose()


def build_sites(count: int, share: int, folder: Path) -> str:
    """Write ``count`` synthetic sites; returns the sites.yaml text."""
    recreate(PG, SITES_DB)
    recreate(MARIADB, SITES_DB)
    lines = ["defaults:", "  timeout: 600", "sites:"]
    engines = {"pg": sa.create_engine(f"{PG}/{SITES_DB}"),
               "maria": sa.create_engine(f"{MARIADB}/{SITES_DB}?charset=utf8mb4")}  # fmt: skip
    for n in range(count):
        kind = "pg" if n < share else "maria" if n < 2 * share else "sqlite"
        prefix = f"s{n:03d}_" if kind != "sqlite" else "mdl_"
        builder = SiteBuilder(seed=n, prefix=prefix, wwwroot=f"https://site{n:03d}.example.test")
        if n % 7 == 0:
            builder.setting("minpasswordlength", 6)  # some drift for the report
        if kind == "sqlite":
            path = folder / f"site{n:03d}.sqlite"
            builder.sqlite_file(path).dispose()
            target = f"sqlite:///{path}"
        else:
            builder.write(engines[kind])
            scheme = "postgresql://postgres" if kind == "pg" else "mariadb://root"
            port = 5432 if kind == "pg" else 3306
            target = f"{scheme}@127.0.0.1:{port}/{SITES_DB}"
        lines += [f"  - name: site{n:03d}", f"    db: {target}", f"    prefix: {prefix}",
                  f"    client: client{n % 10}"]  # fmt: skip
    for engine in engines.values():
        engine.dispose()
    return "\n".join(lines) + "\n"


def local(sites: list[FleetSite], workers: int, as_of: datetime) -> list[SiteOutcome]:
    from moodle_soc.fleet.local import run_local

    return run_local(sites, store=f"{PG}/{STORE_DB}", as_of=as_of, workers=workers)


def celery(sites: list[FleetSite], workers: int, as_of: datetime) -> list[SiteOutcome]:
    from moodle_soc.fleet.celery_app import collect, enqueue, make_app

    subprocess.run(["redis-cli", "-n", "9", "flushdb"], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [
        *[sys.executable, "-c", "from moodle_soc.cli import main; main()", "worker"],
        *["--broker", BROKER, "--store", f"{PG}/{STORE_DB}"],
        *["--concurrency", "1", "--loglevel", "WARNING"],
    ]
    processes = [
        subprocess.Popen(
            [*command, "--hostname", f"bench{n}@%h"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(workers)
    ]
    try:
        app = make_app(BROKER)
        time.sleep(8)  # let the workers connect before the clock starts
        began = time.perf_counter()
        results = enqueue(app, sites, as_of)
        outcomes = collect(results, sites, as_of, timeout=3600)
        celery.elapsed = time.perf_counter() - began  # type: ignore[attr-defined]
        return outcomes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--server-share", type=int, default=15, help="sites in PG and in MariaDB")
    parser.add_argument("--setups", default="local1,local2,local4,celery2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="msoc-fleet-bench-") as tmp:
        began = time.perf_counter()
        text = build_sites(args.sites, args.server_share, Path(tmp))
        print(f"built {args.sites} sites ({args.server_share} PostgreSQL, {args.server_share}"
              f" MariaDB, the rest SQLite) in {time.perf_counter() - began:.0f} s")  # fmt: skip
        recreate(PG, STORE_DB)
        sites = list(parse_fleet(text, "bench-sites.yaml").sites)
        base_rate = None
        header = f"{'setup':<10} {'wall s':>8} {'sites/min':>10} {'scaling':>8}"
        print(f"{header} {'peak RSS/worker':>16} {'errors':>7}")
        for n, setup in enumerate(args.setups.split(",")):
            as_of = datetime(2026, 11, 29, tzinfo=UTC) + timedelta(minutes=n)
            workers = int(setup.removeprefix("local").removeprefix("celery"))
            began = time.perf_counter()
            if setup.startswith("local"):
                outcomes = local(sites, workers, as_of)
                elapsed = time.perf_counter() - began
            else:
                outcomes = celery(sites, workers, as_of)
                elapsed = celery.elapsed  # type: ignore[attr-defined]
            rate = len(sites) / elapsed * 60
            base_rate = base_rate or rate
            peak = max((o.peak_rss_kb or 0) for o in outcomes) / 1024
            errors = sum(1 for o in outcomes if not o.scanned)
            print(f"{setup:<10} {elapsed:>8.1f} {rate:>10.1f} {rate / base_rate:>7.2f}x"
                  f" {peak:>13.0f} MiB {errors:>7}", flush=True)  # fmt: skip
            for outcome in [o for o in outcomes if not o.scanned][:3]:
                print(f"    {outcome.line()}")


if __name__ == "__main__":
    main()
