"""Property tests of the hash chain: any sequence of appends over several sites verifies, and
every hash in the store can be recomputed independently (``hashlib`` + ``rfc8785`` only) from
the stored text, without the package's own hashing code."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import rfc8785
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moodle_soc.evidence.store.canonical import canonical_bytes, content_hash
from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import RecordKind, SiteRef

GENESIS = "0" * 64
# RFC 8785 numbers are IEEE doubles: integers beyond 2**53 are not exact, and a whole-number
# float at or above 2**53 is written in integer notation, which Python reads back as an int
# that may differ from the double (5.028222295662503e16 -> 50282222956625030).
MAX_SAFE = 2**53 - 1

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE)
    | st.floats(min_value=-MAX_SAFE, max_value=MAX_SAFE, allow_nan=False)
    | st.floats(min_value=1e21, allow_infinity=False)  # exponent notation: exact again
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=zones
)
appends = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # which site
        # (kinds whose payload the store reads nothing from: any JSON value will do)
        st.sampled_from([RecordKind.RUN, RecordKind.POPULATION, RecordKind.REVIEW_CAMPAIGN]),
        json_values,
        moments,
        st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
    ),
    min_size=1,
    max_size=10,
)
property_settings = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def raw_rows(store: EvidenceStore, site_key: str) -> list[Any]:
    """The stored columns as text, exactly as a third party would read them."""
    with store.engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "SELECT * FROM evidence_records WHERE site_key = :site ORDER BY chain_index"
                ),
                {"site": site_key},
            )
        )


def independent_header_hash(row: Any) -> str:
    header = {
        "v": 1,
        "site": row.site_key,
        "index": row.chain_index,
        "kind": row.kind,
        "created_at": row.created_at,
        "collected_at": row.collected_at,
        "effective_date": row.effective_date,
        "content": row.content_sha256,
        "prev": row.prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(header)).hexdigest()


@property_settings
@given(operations=appends)
def test_any_sequence_of_appends_verifies_and_recomputes(
    store: EvidenceStore, operations: list[tuple[int, RecordKind, Any, datetime, date | None]]
) -> None:
    tag = uuid.uuid4().hex[:12]
    sites = [SiteRef(key=f"{tag}-{n}-ŝïte", name=f"Site {n} ✓") for n in range(3)]
    appended = []
    store.clock = lambda: datetime(2100, 1, 1, tzinfo=UTC)  # any audit time is in its past
    for which, kind, payload, collected_at, effective in operations:
        stored = store.append(
            sites[which], kind, payload, collected_at=collected_at, effective_date=effective
        )
        assert stored.site_key == sites[which].key
        assert stored.collected_at == collected_at
        assert stored.effective_date == effective
        appended.append((stored, payload))

    # The package's own verifier agrees, chain by chain and for the whole store.
    for site in sites:
        report = verify_store(store, site.key)
        assert report.ok, report.problems
        assert report.records == sum(1 for s, _ in appended if s.site_key == site.key)

    # Independently: each site's chain links, indexes and hashes, from the stored text.
    expected = {stored.seq: payload for stored, payload in appended}
    for site in sites:
        rows = raw_rows(store, site.key)
        previous = GENESIS
        for index, row in enumerate(rows):
            assert row.chain_index == index
            assert row.prev_hash == previous
            assert row.record_hash == independent_header_hash(row)
            assert row.content_sha256 == hashlib.sha256(row.payload.encode("utf-8")).hexdigest()
            original = expected[row.seq]
            assert row.payload.encode("utf-8") == rfc8785.dumps(original)
            assert json.loads(row.payload) == original
            previous = row.record_hash
        assert store.head(site.key) == previous

    # What append returned is what the store reads back, payload included.
    for stored, payload in appended:
        assert store.get(str(stored.seq)) == stored
        assert store.get(stored.record_hash) == stored
        # (RFC 8785 writes 1.0 as 1, so a float that is a whole number reads back as an int.)
        assert store.payload(stored) == payload


@settings(max_examples=100, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), json_values, min_size=2, max_size=8))
def test_the_content_hash_ignores_key_order(value: dict[str, Any]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_bytes(reordered) == canonical_bytes(value)
    assert content_hash(reordered) == content_hash(value)
    assert content_hash(value) == hashlib.sha256(rfc8785.dumps(value)).hexdigest()


@settings(max_examples=100, deadline=None)
@given(a=json_values, b=json_values)
def test_different_payloads_hash_differently(a: Any, b: Any) -> None:
    if rfc8785.dumps(a) != rfc8785.dumps(b):
        assert content_hash(a) != content_hash(b)


def test_unicode_nested_and_float_payload_round_trips(store: EvidenceStore) -> None:
    payload = {
        "naïve": ["日本語", "emoji 🧪", "\u0000 nul and \u2028 separator", 'quote " back\\slash'],
        "nested": {"deeper": {"deepest": [1, 2.5, -0.125, 1e-7, 1e21, 123456789.125]}},
        "floats": [0.1, 1 / 3, 5e-324, 1.7976931348623157e308, -2.0],
        "ints": [0, -1, MAX_SAFE, -MAX_SAFE],
        "empty": [{}, [], ""],
        "bools": [True, False, None],
    }
    record = store.append(SiteRef("k", "K"), "run", payload, collected_at=datetime.now(UTC))
    assert store.payload(record) == payload
    assert record.content_sha256 == hashlib.sha256(rfc8785.dumps(payload)).hexdigest()
    assert verify_store(store).ok
