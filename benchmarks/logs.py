"""The audit-log review of a large standard log, measured beside a raw single pass. Not a test.

Writes the synthetic Acme Academy site into a throwaway database on the local PostgreSQL and/or
MariaDB, grows its standard log with ``moodle_soc.synthetic.grow`` (set-based inserts; Moodle's
own indexes; a realistic mix: 90 % course views, 6 % logins, 4 % failed logins over a year),
then, on the same database in the same run:

- the baseline: one ``SELECT eventname, count(*) ... WHERE timecreated BETWEEN ... GROUP BY
  eventname`` over the period (median of three);
- the full review of the period (``api.log_review``, every section), its wall time (median of
  three), the rows it read and its peak Python memory (``tracemalloc``);

and prints the ratio. The incremental re-run (a per-site cursor) is not built yet.

    .venv/bin/python benchmarks/logs.py [--log-rows 10000000] [--servers postgresql,mariadb]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from moodle_soc.api.logs import log_review
from moodle_soc.site.connect import open_site, spec_from_url
from moodle_soc.synthetic.acme import build_acme
from moodle_soc.synthetic.grow import Growth, grow

URLS = {
    "postgresql": ("postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
                   "postgresql://postgres@127.0.0.1:5432/{db}",
                   "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": ("mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4",
                "mariadb://root@127.0.0.1:3306/{db}",
                "mysql+pymysql://root@127.0.0.1:3306/mysql?charset=utf8mb4"),
}  # fmt: skip


def _admin(kind: str, sql: str) -> None:
    engine = sa.create_engine(URLS[kind][2], isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(sql)
    engine.dispose()


def _median(run: object, times: int = 3) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(kind: str, log_rows: int) -> None:
    db = "msoc_bench_logs"
    _admin(kind, f"DROP DATABASE IF EXISTS {db}")
    _admin(kind, f"CREATE DATABASE {db}")
    try:
        acme = build_acme(users=40)
        engine = sa.create_engine(URLS[kind][0].format(db=db))
        acme.write(engine)
        started = time.perf_counter()
        grow(engine, acme.prefix, acme.now, Growth(users=2_000, courses=20, log_rows=log_rows,
                                                    managers=1_000))  # fmt: skip
        print(f"{kind}: grew the log by {log_rows:,} rows in {time.perf_counter() - started:.0f} s")
        audit = datetime.fromtimestamp(acme.now, UTC)
        end = audit.date()
        start = end - timedelta(days=364)
        low = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
        high = int(datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC).timestamp())
        raw = sa.text(
            f"SELECT eventname, count(*) FROM {acme.prefix}logstore_standard_log"
            " WHERE timecreated BETWEEN :low AND :high GROUP BY eventname"
        )

        def baseline() -> None:
            with engine.connect() as connection:
                connection.execute(raw, {"low": low, "high": high}).all()

        base = _median(baseline)
        engine.dispose()

        def review(period: tuple[date, date] = (start, end)) -> int:
            site = open_site(spec_from_url(URLS[kind][1].format(db=db), acme.prefix, ""),
                             audit_time=audit)  # fmt: skip
            try:
                done = log_review(site, *period)
                return sum(q["rows"] for q in done.queries)
            finally:
                site.close()

        full = _median(review)
        tracemalloc.start()
        rows_read = review()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"{kind}: raw GROUP BY pass {base:.2f} s; full review {full:.2f} s"
            f" ({full / base:.1f}x); {rows_read:,} rows read; peak Python memory"
            f" {peak / 2**20:.0f} MB"
        )
    finally:
        _admin(kind, f"DROP DATABASE IF EXISTS {db}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-rows", type=int, default=10_000_000)
    parser.add_argument("--servers", default="postgresql,mariadb")
    args = parser.parse_args()
    for kind in args.servers.split(","):
        measure(kind.strip(), args.log_rows)


if __name__ == "__main__":
    main()
