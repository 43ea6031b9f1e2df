"""Scan time and memory as a Moodle site grows, against a same-run baseline.

Writes the synthetic Acme Academy site into the local PostgreSQL at two sizes (default about
1,000 and 200,000 users, with about ten log rows per user), then for each size measures:

- the baseline: one ``SELECT count(*)`` pass over the user table and the standard log table;
- a full ``moodle-soc`` scan (every check), wall time and peak Python memory.

Checks read aggregates, not rows, so scan time should stay roughly flat while the baseline
grows with the tables. Databases are named ``msoc_bench_<users>`` and reused on later runs
(``--rebuild`` regenerates them; ``--drop`` removes them afterwards). Not a timed test.

    .venv/bin/python benchmarks/scan.py [--sizes 1000,200000] [--rebuild] [--drop]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from datetime import UTC, datetime

import sqlalchemy as sa

from moodle_soc.checks.context import ScanContext
from moodle_soc.checks.runner import run_scan
from moodle_soc.policy import Policy
from moodle_soc.site.connect import open_site, spec_from_url
from moodle_soc.synthetic.acme import build_acme

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def ensure_database(users: int, rebuild: bool) -> str:
    name = f"msoc_bench_{users}"
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists and rebuild:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    if not exists:
        started = time.perf_counter()
        engine = sa.create_engine(f"{SERVER}/{name}")
        build_acme(users=users).write(engine)
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
        engine.dispose()
        print(f"  generated {name} in {time.perf_counter() - started:.1f} s")
    return name


def drop_database(name: str) -> None:
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def baseline(name: str, repeats: int) -> tuple[float, int, int]:
    """Median seconds of one count(*) pass over mdl_user and mdl_logstore_standard_log."""
    engine = sa.create_engine(f"{SERVER}/{name}")
    times = []
    users = logs = 0
    with engine.connect() as connection:
        for _ in range(repeats):
            started = time.perf_counter()
            users = connection.execute(sa.text("SELECT count(*) FROM mdl_user")).scalar_one()
            logs = connection.execute(
                sa.text("SELECT count(*) FROM mdl_logstore_standard_log")
            ).scalar_one()
            times.append(time.perf_counter() - started)
    engine.dispose()
    return statistics.median(times), users, logs


def scan(name: str, repeats: int) -> tuple[float, float, int]:
    """Median wall seconds and peak MiB of a full scan, and its finding count."""
    audit_time = datetime.fromtimestamp(build_acme(users=20).now, UTC)
    times, peaks, findings = [], [], 0
    for _ in range(repeats):
        tracemalloc.start()
        started = time.perf_counter()
        site = open_site(
            spec_from_url(f"postgresql://postgres@127.0.0.1:5432/{name}", "mdl_"),
            audit_time=audit_time,
            wwwroot="https://acme.example.test",
        )
        run = run_scan(ScanContext(site, Policy()))
        site.db.close()
        times.append(time.perf_counter() - started)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
        findings = sum(check.findings for check in run.checks)
    return statistics.median(times), max(peaks), findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,200000", help="comma-separated user counts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the databases")
    parser.add_argument("--drop", action="store_true", help="drop the databases afterwards")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for size in sizes:
        print(f"size {size} users:")
        name = ensure_database(size, args.rebuild)
        base, users, logs = baseline(name, args.repeats)
        wall, peak, findings = scan(name, args.repeats)
        rows.append((size, users, logs, base, wall, peak, findings))
        if args.drop:
            drop_database(name)
    print()
    print(f"{'users':>9} {'log rows':>10} {'baseline s':>11} {'scan s':>8} {'scan/base':>10}"
          f" {'peak MiB':>9} {'findings':>9}")  # fmt: skip
    for _size, users, logs, base, wall, peak, findings in rows:
        print(f"{users:>9} {logs:>10} {base:>11.3f} {wall:>8.3f} {wall / base:>10.2f}"
              f" {peak:>9.1f} {findings:>9}")  # fmt: skip
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        print()
        print(f"growth from {first[1]} to {last[1]} users:"
              f" baseline x{last[3] / first[3]:.1f}, scan x{last[4] / first[4]:.1f}"
              f" (flat scan time means checks read aggregates, not rows)")  # fmt: skip


if __name__ == "__main__":
    main()
