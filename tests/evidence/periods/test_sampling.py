"""Samples: reproducible from the recorded seed, sized by control frequency, never beyond all."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moodle_soc.errors import UsageError
from moodle_soc.evidence.periods.populations import (
    Period,
    Population,
    rows_sha256,
    store_population,
)
from moodle_soc.evidence.periods.sampling import (
    FREQUENCIES,
    draw_sample,
    sample_size,
    store_sample,
)
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.models.records import RecordKind, SiteRef

frequencies = st.sampled_from(sorted(FREQUENCIES))
populations = st.integers(0, 2000).map(lambda n: [{"id": i, "name": f"u{i}"} for i in range(n)])
seeds = st.integers(0, 2**32 - 1)


@given(populations, frequencies, seeds)
def test_the_same_seed_draws_the_same_sample(
    rows: list[dict[str, Any]], freq: str, seed: int
) -> None:
    first = draw_sample(rows, frequency=freq, seed=seed)
    again = draw_sample([dict(r) for r in rows], frequency=freq, seed=seed)
    assert first == again


@given(populations, frequencies, st.one_of(st.none(), seeds))
def test_size_within_the_frequency_range_and_never_beyond_the_population(
    rows: list[dict[str, Any]], freq: str, seed: int | None
) -> None:
    sample = draw_sample(rows, frequency=freq, seed=seed)
    low, high = FREQUENCIES[freq]
    assert sample.size == len(sample.indices) == len(sample.rows) <= len(rows)
    assert sample.size == (
        min(high, max(low, -(-len(rows) // 10))) if len(rows) >= low else len(rows)
    )
    assert len(set(sample.indices)) == sample.size and sample.indices == sorted(sample.indices)
    assert sample.rows == [rows[i] for i in sample.indices]
    assert sample.population_size == len(rows) and sample.population_sha256 == rows_sha256(rows)
    assert draw_sample(rows, frequency=freq, seed=sample.seed) == sample  # the seed is recorded


@pytest.mark.parametrize(
    ("population", "frequency", "size"),
    [
        (365, "daily", 37),  # a year of a daily control: 10 %, inside 20-40
        (90, "daily", 20),  # a quarter: the low end
        (5000, "many-times-daily", 60),  # the high end
        (12, "monthly", 2),
        (52, "weekly", 6),
        (4, "quarterly", 2),
        (1, "annual", 1),
        (3, "daily", 3),  # never more than the population
        (0, "weekly", 0),
    ],
)
def test_sample_sizes(population: int, frequency: str, size: int) -> None:
    assert sample_size(population, frequency) == size


def test_size_table_and_size_are_overridable() -> None:
    rows = [{"id": i} for i in range(100)]
    assert draw_sample(rows, frequency="daily", seed=1, table={"daily": (25, 45)}).size == 25
    assert draw_sample(rows, frequency="custom", seed=1, table={"custom": (7, 7)}).size == 7
    given_size = draw_sample(rows, frequency="daily", seed=1, size=3)
    assert given_size.size == 3 and given_size.size_rule.startswith("given size 3")
    assert draw_sample(rows[:2], frequency="daily", seed=1, size=10).size == 2
    with pytest.raises(UsageError, match="Unknown frequency 'hourly'"):
        draw_sample(rows, frequency="hourly")
    with pytest.raises(UsageError, match="at least 1"):
        draw_sample(rows, frequency="daily", size=0)


def test_store_sample_names_its_population_record(sqlite_store: EvidenceStore) -> None:
    store = sqlite_store
    site = SiteRef(key="s" * 32, name="Acme")
    rows = [{"id": i} for i in range(50)]
    quarter = Period(start=date(2026, 1, 1), end=date(2026, 3, 31))
    population = Population(
        name="users_created", description="d", period=quarter, site="Acme",
        audit_time=datetime(2026, 4, 1, tzinfo=UTC), query_sql=[], notes=[], row_count=50,
        sha256=rows_sha256(rows), columns=["id"], rows=rows,
    )  # fmt: skip
    record = store_population(store, site, population)
    sample = draw_sample(population.rows, frequency="weekly", seed=42)
    stored = store_sample(store, record, sample)
    payload = store.payload(stored)
    assert stored.kind == RecordKind.SAMPLE and stored.effective_date == date(2026, 3, 31)
    assert payload["population_record"]["record_hash"] == record.record_hash
    assert payload["sample"]["seed"] == 42
    assert payload["sample"]["population_sha256"] == population.sha256
    with pytest.raises(StoreError, match="not a population"):
        store_sample(store, stored, sample)
