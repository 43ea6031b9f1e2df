"""The evidence-store fixtures (a fresh store on SQLite and on PostgreSQL) for the programme's
tests: the programme lives in the store, so it is tested on both back ends."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).parents[1] / "evidence" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_programme_store_fixtures", _path)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _fixtures  # its dataclasses look their module up
_spec.loader.exec_module(_fixtures)

pg_database = _fixtures.pg_database
pg_store_url = _fixtures.pg_store_url
store_location = _fixtures.store_location
store = _fixtures.store
scans = _fixtures.scans
cli = _fixtures.cli
acme_site_db = _fixtures.acme_site_db
AUDIT_TIMES = _fixtures.AUDIT_TIMES
