"""The audit-log review of a large standard log, measured beside a raw single pass. Not a test.

Writes the synthetic Acme Academy site into a throwaway database on the local PostgreSQL and/or
MariaDB, grows its standard log with ``moodle_soc.synthetic.grow`` (set-based inserts; Moodle's
own indexes; a realistic mix: 90 % course views, 6 % logins, 4 % failed logins over a year),
then, on the same database in the same run:

- the baseline: one ``SELECT eventname, count(*) ... WHERE timecreated BETWEEN ... GROUP BY
  eventname`` over the period (median of three);
- the full review of the period (``api.log_review``, every section), its wall time (median of
  ``--repeat``), the rows it read and the process's peak resident memory (``ru_maxrss``, which
  covers everything the process did, from the interpreter up);
- the incremental re-run: a review with the cursor kept in a throwaway evidence store, then
  ``--append`` rows (copies of the newest ones, so in the period) added to the log, then the
  re-run from the stored cursor, timed in the same process (no process start), and its share
  of the full review; the re-run's review is checked equal to a full run's.

and prints the ratio.

    .venv/bin/python benchmarks/logs.py [--log-rows 10000000] [--servers postgresql,mariadb]
        [--repeat 3] [--append 100000] [--db msoc_bench_logs]   # --log-rows 50000000: large
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from moodle_soc.api.logs import incremental_log_review, log_review
from moodle_soc.evidence.store.store import open_store
from moodle_soc.site.connect import open_site, spec_from_url
from moodle_soc.synthetic.acme import build_acme
from moodle_soc.synthetic.grow import Growth, grow

PROFILE = False  # --profile: where the re-run's time goes, by function
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


def _vacuum(engine: sa.Engine, table: str) -> None:
    """Set the visibility map of the grown log, so index-only scans (the cursor's count of the
    ids it covered) read no table pages, as on a site whose old rows autovacuum has seen, and
    not depending on whether autovacuum reached the new table before the timing."""
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    print(f"postgresql: vacuumed the log in {time.perf_counter() - started:.0f} s")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _median(run: object, times: int = 3) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(kind: str, log_rows: int, repeat: int, append: int, db: str) -> None:
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
        if kind == "postgresql":  # what autovacuum does to a site's old rows sooner or later
            _vacuum(engine, f"{acme.prefix}logstore_standard_log")
        audit = datetime.fromtimestamp(acme.now, UTC)
        end = audit.date()
        start = end - timedelta(days=364)
        low = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
        high = int(datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC).timestamp())
        table = f"{acme.prefix}logstore_standard_log"
        raw = sa.text(
            f"SELECT eventname, count(*) FROM {table}"
            " WHERE timecreated BETWEEN :low AND :high GROUP BY eventname"
        )

        def baseline() -> None:
            with engine.connect() as connection:
                connection.execute(raw, {"low": low, "high": high}).all()

        base = _median(baseline, max(3, repeat))

        def review(period: tuple[date, date] = (start, end)) -> int:
            site = open_site(spec_from_url(URLS[kind][1].format(db=db), acme.prefix, ""),
                             audit_time=audit)  # fmt: skip
            try:
                done = log_review(site, *period)
                return sum(q["rows"] for q in done.queries)
            finally:
                site.close()

        before = _rss_mb()
        read: list[int] = []
        full = _median(lambda: read.append(review()), repeat)
        rows_read = read[-1]
        print(
            f"{kind}: raw GROUP BY pass {base:.2f} s; full review {full:.2f} s"
            f" ({full / base:.1f}x); {rows_read:,} rows read; peak RSS {_rss_mb():.0f} MB"
            f" ({before:.0f} MB before the reviews)"
        )
        _incremental(kind, db, acme.prefix, audit, (start, end), engine, table, append, full)
        engine.dispose()
    finally:
        _admin(kind, f"DROP DATABASE IF EXISTS {db}")


def _incremental(
    kind: str,
    db: str,
    prefix: str,
    audit: datetime,
    period: tuple[date, date],
    engine: sa.Engine,
    table: str,
    append: int,
    full: float,
) -> None:
    """Keep a cursor, append ``append`` rows, time the re-run from the cursor."""
    spec = spec_from_url(URLS[kind][1].format(db=db), prefix, "")
    with (
        tempfile.TemporaryDirectory() as scratch,
        open_store(str(Path(scratch) / "evidence.sqlite"), create=True) as store,
    ):
        with open_site(spec, audit_time=audit) as site:
            incremental_log_review(site, *period, store=store)
        columns = [c["name"] for c in sa.inspect(engine).get_columns(table) if c["name"] != "id"]
        names = ", ".join(columns)
        # Copies of the newest rows (ids are not dense on MariaDB), their times squeezed in
        # order between the newest row and the period's end: ids follow time, as Moodle
        # writes them (the rolled re-run relies on it, like the detectors).
        moved = ", ".join(
            f"{top} + FLOOR((timecreated - lowest) * {{room}} / {{span}})"
            if name == "timecreated" else name
            for name in columns for top in [":top"]
        )  # fmt: skip
        with engine.begin() as connection:
            top, lowest = connection.execute(
                sa.text(
                    f"SELECT MAX(timecreated), MIN(timecreated) FROM (SELECT timecreated FROM"
                    f" {table} ORDER BY id DESC LIMIT {append}) newest"
                )
            ).one()
            room = max(period_end(period) - int(top) - 1, 0)
            span = max(int(top) - int(lowest), 1)
            connection.execute(
                sa.text(
                    f"INSERT INTO {table} ({names}) SELECT {moved.format(room=room, span=span)}"
                    f" FROM (SELECT {names}, id, {int(lowest)} AS lowest FROM {table}"
                    f" ORDER BY id DESC LIMIT {append}) newest ORDER BY id"
                ),
                {"top": int(top)},
            )
        with open_site(spec, audit_time=audit) as site:
            profile = cProfile.Profile() if PROFILE else None
            started = time.perf_counter()
            if profile is not None:
                profile.enable()
            again = incremental_log_review(site, *period, store=store)
            rerun = time.perf_counter() - started
            if profile is not None:
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        with open_site(spec, audit_time=audit) as site:
            fresh = log_review(site, *period)
        # The review window rolled on by a day at its start: the cursor is moved, not rebuilt.
        rolled = (period[0] + timedelta(days=1), period[1])
        with open_site(spec, audit_time=audit) as site:
            started = time.perf_counter()
            moved = incremental_log_review(site, *rolled, store=store)
            moving = time.perf_counter() - started
        with open_site(spec, audit_time=audit) as site:
            rolled_fresh = log_review(site, *rolled)
    same = again.review.model_dump(exclude={"queries"}) == fresh.model_dump(exclude={"queries"})
    read = sum(q["rows"] for q in again.review.queries)
    in_db = sum(q["duration_ms"] for q in again.review.queries) / 1000
    print(
        f"{kind}: incremental re-run after {append:,} new rows {rerun:.2f} s"
        f" ({rerun / full:.1%} of the full review; grouped pass read {again.rows_read:,} rows,"
        f" all queries {read:,} in {in_db:.2f} s; equal to a full run: {same});"
        f" peak RSS {_rss_mb():.0f} MB"
    )
    same_rolled = moved.review.model_dump(exclude={"queries"}) == rolled_fresh.model_dump(
        exclude={"queries"}
    )
    _show_difference(moved.review.model_dump(mode="json"), rolled_fresh.model_dump(mode="json"))
    print(
        f"{kind}: re-run with the period's start a day later {moving:.2f} s"
        f" ({moving / full:.1%}; {moved.notes[0] if moved.notes else 'no note'};"
        f" equal to a full run: {same_rolled})"
    )
    slowest = sorted(again.review.queries, key=lambda q: -q["duration_ms"])[:4]
    for query in slowest:  # where the re-run's time goes
        seconds, rows = query["duration_ms"] / 1000, query["rows"]
        print(f"    {seconds:6.2f} s  {rows:>9,} rows  {query['purpose']}")


def _show_difference(got: dict[str, Any], full: dict[str, Any], path: str = "") -> None:
    """Print where a re-run's review differs from the full run's (first differences only)."""
    for key in got:
        if key == "queries" or got[key] == full.get(key):
            continue
        if isinstance(got[key], dict) and isinstance(full.get(key), dict):
            _show_difference(got[key], full[key], f"{path}{key}.")
        else:
            shown = f"{str(got[key])[:300]} / full: {str(full.get(key))[:300]}"
            print(f"    differs: {path}{key}: {shown}")


def period_end(period: tuple[date, date]) -> int:
    """The Unix time the period ends (exclusive): midnight after its last day, UTC."""
    return int(
        datetime.combine(period[1] + timedelta(days=1), datetime.min.time(), UTC).timestamp()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-rows", type=int, default=10_000_000)
    parser.add_argument("--servers", default="postgresql,mariadb")
    parser.add_argument("--repeat", type=int, default=3, help="runs per median")
    parser.add_argument("--append", type=int, default=100_000, help="rows for the re-run")
    parser.add_argument("--profile", action="store_true", help="profile the re-run")
    parser.add_argument(
        "--db", default="msoc_bench_logs", help="the throwaway database's name (dropped first)"
    )
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    for kind in args.servers.split(","):
        measure(kind.strip(), args.log_rows, args.repeat, args.append, args.db)


if __name__ == "__main__":
    main()
