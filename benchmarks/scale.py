"""A large Moodle site scanned against the same site small, measured in one run.

Restores the weak fixture (PostgreSQL) and the hardened fixture (MariaDB) from
``../shared/fixtures`` (or, with ``--base synthetic`` or when the dumps are absent, writes the
synthetic Acme Academy site), copies each, and grows the copy with ``moodle_soc.synthetic.grow``:
by default 200,000 users, about 500,000 role assignments and 10 million log rows on PostgreSQL,
and a smaller size step (20,000 users, 1 million log rows) on MariaDB. Then, for the small and
the grown site of each server, it measures:

- a full scan through the CLI as a separate process (``--format json -o``, evidence stored in a
  fresh SQLite store), the fastest of ``--repeat`` (3) on the shared cores: wall time and the
  process's peak RSS (``wait4``), the JSON report's size, the evidence store's size, the number
  of findings and whether any population was incomplete, the time its queries took (its
  provenance) and, for the grown site, its slowest checks and query purposes;
- the same-run baselines on the same database: one ``count(*)`` over ``user`` and one
  ``GROUP BY eventname`` over the standard log (median of three);
- on the small PostgreSQL site, a scan with ``--no-store`` and ``moodle-soc --help``.

Databases are named ``msoc_scale_<server>_<small|grown>`` (``--names`` changes the prefix) and
dropped at the end unless ``--keep``; ``--reuse`` measures kept databases again without
rebuilding them. Not a test.

    .venv/bin/python benchmarks/scale.py [--users 200000] [--log-rows 10000000]
        [--mariadb-users 20000] [--mariadb-log-rows 1000000] [--servers postgresql,mariadb]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from moodle_soc.synthetic.acme import build_acme
from moodle_soc.synthetic.grow import Growth, grow

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("MOODLE_SOC_FIXTURES", REPO.parent / "shared" / "fixtures"))
CLI = Path(sys.executable).with_name("moodle-soc")
SLOWEST = 6


@dataclass(frozen=True)
class Server:
    kind: str  # postgresql or mariadb
    dump: str  # the fixture restored as the small site
    as_of: str  # the fixture's audit time
    wwwroot: str

    def url(self, database: str, driver: bool = True) -> str:
        if self.kind == "postgresql":
            scheme = "postgresql+psycopg" if driver else "postgresql"
            return f"{scheme}://postgres@{HOST}:5432/{database}"
        scheme = "mariadb+pymysql" if driver else "mariadb"
        return f"{scheme}://root@{HOST}:3306/{database}" + ("?charset=utf8mb4" if driver else "")

    def admin(self) -> sa.Engine:
        return sa.create_engine(
            self.url("postgres" if self.kind == "postgresql" else ""), isolation_level="AUTOCOMMIT"
        )

    def create(self, name: str, template: str | None = None) -> None:
        engine = self.admin()
        with engine.connect() as connection:
            if self.kind == "postgresql":
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                copy = f' TEMPLATE "{template}"' if template else ""
                connection.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
            else:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
                collation = "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                connection.execute(sa.text(f"CREATE DATABASE `{name}` {collation}"))
        engine.dispose()

    def drop(self, name: str) -> None:
        engine = self.admin()
        with engine.connect() as connection:
            quoted = f'"{name}" WITH (FORCE)' if self.kind == "postgresql" else f"`{name}`"
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}"))
        engine.dispose()

    def restore(self, name: str, dump: Path) -> None:
        if self.kind == "postgresql":
            client = ["psql", "-h", HOST, "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
            client += ["-o", os.devnull, name]
        else:
            client = ["mysql", "-h", HOST, "-u", "root", name]
        env = {**os.environ, "PGOPTIONS": "-c synchronous_commit=off"}
        with gzip.open(dump, "rb") as source:
            done = subprocess.run(client, input=source.read(), capture_output=True, env=env)
        if done.returncode != 0:
            raise SystemExit(f"restoring {dump.name} failed: {done.stderr.decode()[-300:]}")


SERVERS = {
    "postgresql": Server("postgresql", "moodle51-weak-pgsql.sql.gz",
                         "2026-11-29T07:16:40+00:00", "http://weak.example.test"),
    "mariadb": Server("mariadb", "moodle51-hardened-mariadb.sql.gz",
                      "2026-11-29T07:17:40+00:00", "https://hardened.example.test"),
}  # fmt: skip


@dataclass
class Measure:
    users: int = 0
    assignments: int = 0
    log_rows: int = 0
    scan_s: float = 0.0
    cpu_s: float = 0.0  # the scan process's own CPU (user + system): what it needs of a core
    rss_mib: float = 0.0
    report_mb: float = 0.0
    evidence_mb: float = 0.0
    findings: int = 0
    incomplete: int = 0
    count_users_s: float = 0.0
    group_log_s: float = 0.0
    query_s: float = 0.0  # the scan's queries, as its provenance records them
    #: Where the scan's time went: the slowest checks and query purposes (seconds).
    slowest_checks: list[tuple[str, float]] = field(default_factory=list)
    slowest_queries: list[tuple[str, float, int]] = field(default_factory=list)


def _timed(connection: sa.Connection, sql: str) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        connection.execute(sa.text(sql)).all()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_cli(args: list[str]) -> tuple[float, float, int, float]:
    """Wall seconds, peak RSS (MiB), exit code and CPU seconds of one ``moodle-soc`` process."""
    started = time.perf_counter()
    process = subprocess.Popen([str(CLI), *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"moodle-soc {' '.join(args[:2])} failed: {error[-400:]}")
    if process.stderr:
        process.stderr.close()
    return wall, usage.ru_maxrss / 1024, process.returncode, usage.ru_utime + usage.ru_stime


def measure(server: Server, name: str, work: Path, prefix: str, repeat: int = 1) -> Measure:
    found = Measure()
    engine = sa.create_engine(server.url(name))
    with engine.connect() as connection:
        found.users = int(
            connection.execute(sa.text(f"SELECT count(*) FROM {prefix}user")).scalar_one()
        )
        found.assignments = int(
            connection.execute(
                sa.text(f"SELECT count(*) FROM {prefix}role_assignments")
            ).scalar_one()
        )
        found.log_rows = int(
            connection.execute(
                sa.text(f"SELECT count(*) FROM {prefix}logstore_standard_log")
            ).scalar_one()
        )
        found.count_users_s = _timed(connection, f"SELECT count(*) FROM {prefix}user")
        found.group_log_s = _timed(
            connection,
            f"SELECT eventname, count(*) FROM {prefix}logstore_standard_log GROUP BY eventname",
        )
    engine.dispose()
    best: tuple[float, float, int, float] | None = None
    for attempt in range(repeat):  # the fastest of the scans: the others waited for the cores
        report = work / f"{name}-{attempt}.json"
        store = work / f"{name}-{attempt}-evidence.sqlite"
        args = ["scan", "--db", server.url(name, driver=False), "--prefix", prefix]
        args += ["--wwwroot", server.wwwroot, "--as-of", server.as_of, "--quiet"]
        args += ["--format", "json", "-o", str(report), "--store", str(store)]
        scanned = run_cli(args)
        if best is None or scanned[0] < best[0]:
            best, kept = scanned, (report, store)
    assert best is not None
    found.scan_s, found.rss_mib, _code, found.cpu_s = best
    report, store = kept
    found.report_mb = report.stat().st_size / 1e6
    found.evidence_mb = store.stat().st_size / 1e6
    data = json.loads(report.read_text(encoding="utf-8"))
    found.findings = len(data["findings"])
    found.incomplete = sum(1 for f in data["findings"] if "incomplete" in f["reason"].lower())
    checks = sorted(data["checks"], key=lambda c: -float(c["duration_ms"] or 0))
    found.slowest_checks = [
        (c["id"], float(c["duration_ms"] or 0) / 1000) for c in checks[:SLOWEST]
    ]
    purposes: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for query in data["queries"]:
        found.query_s += float(query["duration_ms"]) / 1000
        purposes[query["purpose"]][0] += float(query["duration_ms"]) / 1000
        purposes[query["purpose"]][1] += 1
    slowest = sorted(purposes.items(), key=lambda item: -item[1][0])[:SLOWEST]
    found.slowest_queries = [(purpose, s, int(n)) for purpose, (s, n) in slowest]
    return found


def where_it_goes(measured: Measure) -> list[str]:
    """The grown scan's slowest checks and query purposes (from its own report)."""
    lines = ["", "slowest checks of the grown site's scan (s):"]
    lines += [f"- {seconds:.2f} {check}" for check, seconds in measured.slowest_checks]
    lines += ["", "slowest query purposes of the grown site's scan (s, queries):"]
    lines += [f"- {s:.2f} ({n}) {purpose}" for purpose, s, n in measured.slowest_queries]
    return lines


def build(
    server: Server, base: str, growth: Growth, reuse: bool, names: str = "msoc_scale"
) -> tuple[str, str, str, dict[str, float]]:
    small, grown = f"{names}_{server.kind}_small", f"{names}_{server.kind}_grown"
    dump = FIXTURES / server.dump
    if base == "fixture" and not dump.exists():
        print(f"  {dump} is missing: using the synthetic site")
        base = "synthetic"
    prefix = "mdl_"
    if reuse:
        return small, grown, prefix, {}
    started = time.perf_counter()
    for name in (small, grown):
        if server.kind == "postgresql" and name == grown:
            server.create(grown, template=small)
            break
        server.create(name)
        if base == "fixture":
            server.restore(name, dump)
        else:
            acme = build_acme(users=300)
            engine = sa.create_engine(server.url(name))
            acme.write(engine)
            engine.dispose()
    print(f"  small site ready in {time.perf_counter() - started:.1f} s")
    now = int(datetime.fromisoformat(server.as_of).timestamp())
    engine = sa.create_engine(server.url(grown))
    started = time.perf_counter()
    result = grow(engine, prefix, now, growth, lambda line: print(f"  grow {line}"))
    engine.dispose()
    seconds = {"grow": time.perf_counter() - started, **result.seconds}
    print(f"  grown in {seconds['grow']:.1f} s")
    return small, grown, prefix, seconds


def _row(label: str, small: str, grown: str, growth: str = "") -> str:
    return f"| {label} | {small} | {grown} | {growth} |"


def table(server: Server, small: Measure, grown: Measure, grow_s: float | None) -> list[str]:
    def x(a: float, b: float) -> str:
        return f"x{b / a:.1f}" if a else ""

    lines = [
        f"### {server.kind}",
        "",
        "| | small site | grown site | growth |",
        "|---|---|---|---|",
    ]
    lines += [
        _row("users", f"{small.users:,}", f"{grown.users:,}", x(small.users, grown.users)),
        _row("role assignments", f"{small.assignments:,}", f"{grown.assignments:,}"),
        _row("standard log rows", f"{small.log_rows:,}", f"{grown.log_rows:,}"),
        _row("full scan with store (s, fastest)", f"{small.scan_s:.2f}", f"{grown.scan_s:.2f}",
             x(small.scan_s, grown.scan_s)),
        _row("CPU time of the scan process (s)", f"{small.cpu_s:.2f}", f"{grown.cpu_s:.2f}",
             x(small.cpu_s, grown.cpu_s)),
        _row("peak RSS of the scan (MiB)", f"{small.rss_mib:.0f}", f"{grown.rss_mib:.0f}",
             x(small.rss_mib, grown.rss_mib)),
        _row("JSON report (MB)", f"{small.report_mb:.2f}", f"{grown.report_mb:.2f}"),
        _row("evidence store after the run (MB)", f"{small.evidence_mb:.2f}",
             f"{grown.evidence_mb:.2f}"),
        _row("time in the scan's queries, by its provenance (s)", f"{small.query_s:.2f}",
             f"{grown.query_s:.2f}", x(small.query_s, grown.query_s)),
        _row("findings", f"{small.findings}", f"{grown.findings}"),
        _row("findings saying a population is incomplete", f"{small.incomplete}",
             f"{grown.incomplete}"),
        _row("baseline: count(*) over user (s)", f"{small.count_users_s:.3f}",
             f"{grown.count_users_s:.3f}", x(small.count_users_s, grown.count_users_s)),
        _row("baseline: GROUP BY eventname over the log (s)", f"{small.group_log_s:.3f}",
             f"{grown.group_log_s:.3f}", x(small.group_log_s, grown.group_log_s)),
    ]  # fmt: skip
    if grow_s is not None:
        lines.append(_row("growing the copy (s)", "", f"{grow_s:.0f}"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--log-rows", type=int, default=10_000_000)
    parser.add_argument("--mariadb-users", type=int, default=20_000)
    parser.add_argument("--mariadb-log-rows", type=int, default=1_000_000)
    parser.add_argument("--servers", default="postgresql,mariadb")
    parser.add_argument("--base", choices=("fixture", "synthetic"), default="fixture")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--reuse", action="store_true", help="measure kept databases again")
    parser.add_argument(
        "--repeat", type=int, default=3, help="scans of each site; the fastest is reported"
    )
    parser.add_argument(
        "--names", default="msoc_scale", help="database name prefix (<names>_<server>_<size>)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="msoc-scale-"))
    out: list[str] = []
    try:
        for kind in args.servers.split(","):
            server = SERVERS[kind]
            users, logs = (
                (args.users, args.log_rows)
                if kind == "postgresql"
                else (args.mariadb_users, args.mariadb_log_rows)
            )
            growth = Growth(users=users, courses=max(10, users // 100), log_rows=logs)
            print(f"{kind}: +{users:,} users, +{logs:,} log rows")
            small, grown, prefix, seconds = build(server, args.base, growth, args.reuse, args.names)
            load_start = os.getloadavg()[0]  # the cores are shared: times depend on it
            results = [measure(server, name, work, prefix, args.repeat) for name in (small, grown)]
            out += table(server, *results, seconds.get("grow"))
            if kind == "postgresql":
                no_store = ["scan", "--db", server.url(small, driver=False), "--prefix", prefix]
                no_store += ["--wwwroot", server.wwwroot, "--as-of", server.as_of, "--quiet"]
                no_store += ["--format", "json", "-o", str(work / "no-store.json"), "--no-store"]
                scans = [run_cli(no_store) for _ in range(3)]
                helps = [run_cli(["--help"]) for _ in range(5)]
                out.append(
                    _row(
                        "small site: scan with --no-store (s, wall / CPU, best of 3)",
                        f"{min(r[0] for r in scans):.2f} / {min(r[3] for r in scans):.2f}",
                        "",
                    )
                )
                out.append(_row("moodle-soc --help (s, wall / CPU, best of 5)",
                                f"{min(r[0] for r in helps):.2f} / {min(r[3] for r in helps):.2f}",
                                ""))  # fmt: skip
            out.append(
                f"load average at the start / end: {load_start:.1f} / {os.getloadavg()[0]:.1f}"
            )
            out += where_it_goes(results[1])
            out.append("")
            if not args.keep:
                for name in (small, grown):
                    server.drop(name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("\n".join(out))


if __name__ == "__main__":
    main()
