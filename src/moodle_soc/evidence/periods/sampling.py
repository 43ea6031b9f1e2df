"""Reproducible samples drawn from complete populations, sized by how often a control operates.

Auditors size a test of a control by its frequency (an annual control gives one occurrence to
test, a daily one hundreds). Ranges follow common SOC 2 practice: annual 1, quarterly 2,
monthly 2-5, weekly 5-15, daily 20-40, many times a day 25-60. Within a range the size is
**10 % of the population, rounded up, clamped into the range**: a small population gets the
low end and a large one scales up to the high end; never more than the population.

The draw is ``random.Random(seed).sample(range(N), size)``, sorted: anyone with the population
and the recorded seed gets the same rows. A seed not given is drawn with ``secrets`` and
recorded. Stable API: ``FREQUENCIES``, ``sample_size``, ``draw_sample``, ``store_sample``.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from moodle_soc.errors import UsageError
from moodle_soc.evidence.periods.populations import POPULATION_KINDS, rows_sha256
from moodle_soc.evidence.store.store import EvidenceStore, StoreError
from moodle_soc.models.records import RecordKind, SiteRef, StoredRecord

#: Share of the population a ranged frequency aims at before clamping into its range.
SCALE = 0.10
FREQUENCIES: Mapping[str, tuple[int, int]] = {
    "annual": (1, 1),
    "quarterly": (2, 2),
    "monthly": (2, 5),
    "weekly": (5, 15),
    "daily": (20, 40),
    "many-times-daily": (25, 60),
}


class Sample(BaseModel):
    """Which rows of a population were drawn, and everything needed to draw them again."""

    model_config = ConfigDict(frozen=True)

    seed: int
    frequency: str
    size: int
    size_rule: str
    population_size: int
    population_sha256: str
    method: str = "random.Random(seed).sample(range(population_size), size), sorted"
    indices: list[int]
    rows: list[dict[str, Any]]


def _bounds(frequency: str, table: Mapping[str, tuple[int, int]] | None) -> tuple[int, int]:
    sizes = {**FREQUENCIES, **(table or {})}
    if frequency not in sizes:
        raise UsageError(f"Unknown frequency {frequency!r}; known: {', '.join(sizes)}.")
    low, high = sizes[frequency]
    if not 0 < low <= high:
        raise UsageError(f"Frequency {frequency!r} has an invalid size range {low}-{high}.")
    return low, high


def sample_size(
    population: int, frequency: str, *, table: Mapping[str, tuple[int, int]] | None = None
) -> int:
    """10 % of ``population`` rounded up, clamped into the frequency's range, at most all."""
    low, high = _bounds(frequency, table)
    return min(population, max(low, min(high, math.ceil(population * SCALE))))


def draw_sample(
    population_rows: Sequence[dict[str, Any]],
    *,
    frequency: str,
    seed: int | None = None,
    size: int | None = None,
    table: Mapping[str, tuple[int, int]] | None = None,
) -> Sample:
    """A reproducible sample; ``size`` overrides the frequency's size (still at most all)."""
    total = len(population_rows)
    low, high = _bounds(frequency, table)
    chosen = sample_size(total, frequency, table=table)
    rule = f"{SCALE:.0%} of {total} rounded up, clamped into {low}-{high}, at most {total}"
    if size is not None:
        if size < 1:
            raise UsageError(f"The sample size must be at least 1, not {size}.")
        chosen, rule = min(size, total), f"given size {size}, at most {total}"
    seed = secrets.randbits(32) if seed is None else seed
    indices = sorted(random.Random(seed).sample(range(total), chosen))
    return Sample(
        seed=seed,
        frequency=frequency,
        size=chosen,
        size_rule=rule,
        population_size=total,
        population_sha256=rows_sha256(population_rows),
        indices=indices,
        rows=[population_rows[i] for i in indices],
    )


def store_sample(
    store: EvidenceStore,
    population_record: StoredRecord,
    sample: Sample,
    *,
    collected_at: datetime | None = None,
) -> StoredRecord:
    """Append ``sample`` to the population's chain, naming the population record it came from."""
    if population_record.kind not in POPULATION_KINDS:
        raise StoreError(
            f"Record {population_record.seq} is a {population_record.kind} record, not a"
            " population."
        )
    site = next((s for s in store.sites() if s.key == population_record.site_key), None)
    site = site or SiteRef(key=population_record.site_key, name=population_record.site_key)
    payload = {
        "population_record": {
            "seq": population_record.seq,
            "record_hash": population_record.record_hash,
            "content_sha256": population_record.content_sha256,
        },
        "sample": sample.model_dump(mode="json"),
    }
    return store.append(
        site,
        RecordKind.SAMPLE,
        payload,
        collected_at=collected_at or datetime.now(UTC),
        effective_date=population_record.effective_date,
    )
