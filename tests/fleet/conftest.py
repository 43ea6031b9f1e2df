"""Fleet test helpers: small synthetic Moodle sites in SQLite files, and sites.yaml files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from moodle_soc.synthetic.builder import SiteBuilder

MakeSite = Callable[..., str]


@pytest.fixture
def sqlite_site(tmp_path: Path) -> MakeSite:
    """``sqlite_site(seed, **settings)``: a synthetic site file; returns its ``db`` URL."""

    def make(seed: int, site_name: str = "Acme Academy", **settings: object) -> str:
        wwwroot = f"https://site{seed}.example.test"
        builder = SiteBuilder(seed=seed, wwwroot=wwwroot, site_name=site_name)
        for name, value in settings.items():
            builder.setting(name, value)
        path = tmp_path / f"site{seed}-{len(os.listdir(tmp_path))}.sqlite"
        builder.sqlite_file(path).dispose()
        return f"sqlite:///{path}"

    return make


def sites_yaml(tmp_path: Path, text: str, name: str = "sites.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- local servers: skipped when absent, except under CI=true where that fails the run ------

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/7"
RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672//"


def unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def reachable(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (its SQLAlchemy URL); dropped afterwards."""
    import secrets

    import sqlalchemy as sa

    if not reachable("127.0.0.1", 5432):
        unavailable("No PostgreSQL server at 127.0.0.1:5432.")
    name = f"msoc_fleet_{secrets.token_hex(4)}"
    admin = sa.create_engine(f"{PG_ADMIN}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # No commit waits for the disk (a test never outlives a server crash).
        connection.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield f"{PG_ADMIN}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    if not reachable("127.0.0.1", 6379):
        unavailable("No Redis server at 127.0.0.1:6379.")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


@pytest.fixture
def rabbit_url() -> str:
    if not reachable("127.0.0.1", 5672):
        unavailable("No RabbitMQ server at 127.0.0.1:5672.")
    return RABBIT_URL
