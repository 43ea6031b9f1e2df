"""A redelivered scan stores nothing twice, even when two workers race to store it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moodle_soc.api import open_evidence_store
from moodle_soc.evidence.store.idempotent import append_once, count_with_key
from moodle_soc.models.records import RecordKind, SiteRef

SITE = SiteRef(key="site-key", name="Site")
AT = datetime(2026, 11, 29, tzinfo=UTC)


RACER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from moodle_soc.api import open_evidence_store
from moodle_soc.evidence.store.idempotent import append_once
from moodle_soc.models.records import RecordKind, SiteRef
location, go = sys.argv[1], Path(sys.argv[2])
with open_evidence_store(location, create=True) as store:
    while not go.exists():
        time.sleep(0.01)
    for n in range(5):
        _, appended = append_once(store, SiteRef(key="site-key", name="Site"), RecordKind.RUN,
            {"n": n}, key="same", collected_at=datetime(2026, 11, 29, tzinfo=UTC))
        print(appended)
"""


def test_the_same_key_is_appended_once(tmp_path: Path) -> None:
    with open_evidence_store(str(tmp_path / "e.sqlite"), create=True) as store:
        first, appended = append_once(
            store, SITE, RecordKind.RUN, {"a": 1}, key="k1", collected_at=AT
        )
        again, appended_again = append_once(
            store, SITE, RecordKind.RUN, {"a": 2}, key="k1", collected_at=AT
        )
        other, appended_other = append_once(
            store, SITE, RecordKind.RUN, {"a": 1}, key="k2", collected_at=AT
        )
        assert (appended, appended_again, appended_other) == (True, False, True)
        assert again.seq == first.seq != other.seq
        assert store.payload(first) == {"a": 1, "idempotency_key": "k1"}
        assert count_with_key(store, SITE.key, "k1") == 1
        with pytest.raises(ValueError, match="must not be empty"):
            append_once(store, SITE, RecordKind.RUN, {}, key="", collected_at=AT)


def race(location: str, tmp_path: Path, racers: int = 4) -> list[str]:
    """Start ``racers`` processes that append the same key at once; what each appended."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, location, str(go)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(racers)
    ]
    time.sleep(1.5)  # every racer connected and waiting
    go.touch()
    return [line for p in processes for line in p.communicate(timeout=120)[0].split()]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_racing_writers_store_one_record(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    location = (
        str(tmp_path / "race.sqlite")
        if backend == "sqlite"
        else request.getfixturevalue("pg_database")
    )
    with open_evidence_store(location, create=True):
        pass
    appended = race(location, tmp_path)
    assert appended.count("True") == 1 and len(appended) == 20
    with open_evidence_store(location) as store:
        assert count_with_key(store, SITE.key, "same") == 1
        assert len(store.records(site_key=SITE.key)) == 1
