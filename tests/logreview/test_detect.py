"""Bursts and spraying: thresholds at, under and over, window edges, merged incidents."""

from __future__ import annotations

import pytest

from moodle_soc.logreview import detect
from moodle_soc.logreview.detect import BurstDetector, SprayingDetector


@pytest.mark.parametrize(("failures", "found"), [(4, 0), (5, 1), (6, 1)])
def test_a_burst_needs_the_threshold_within_the_window(failures: int, found: int) -> None:
    bursts = BurstDetector(threshold=5, window=600)
    for n in range(failures):
        bursts.add("alice", 1000 + n * 100)
    assert len(bursts.incidents()) == found


def test_failures_spread_wider_than_the_window_are_no_burst() -> None:
    bursts = BurstDetector(threshold=3, window=600)
    for n in range(10):
        bursts.add("alice", n * 600)  # each attempt leaves the previous one's window
    assert bursts.incidents() == []


def test_a_continuing_burst_is_one_incident_with_every_failure() -> None:
    bursts = BurstDetector(threshold=3, window=600)
    for n in range(8):
        bursts.add("alice", n * 200)
    bursts.add("alice", 10_000)  # later, alone: not part of it, not a new burst
    [burst] = bursts.incidents()
    assert (burst.key, burst.first, burst.last, burst.failures) == ("alice", 0, 1400, 8)


def test_keys_are_counted_apart() -> None:
    bursts = BurstDetector(threshold=3, window=600)
    for n in range(4):
        bursts.add("alice" if n % 2 else "bob", n)
    assert bursts.incidents() == []


@pytest.mark.parametrize(("names", "found"), [(9, 0), (10, 1), (11, 1)])
def test_spraying_needs_the_threshold_of_distinct_usernames(names: int, found: int) -> None:
    spraying = SprayingDetector(threshold=10, window=3600)
    for n in range(names):
        spraying.add("192.0.2.66", f"user{n}", n * 60)
        spraying.add("192.0.2.66", f"user{n}", n * 60 + 1)  # a repeat is not a new name
    assert len(spraying.incidents()) == found


def test_spraying_incident_lists_usernames_in_the_order_tried() -> None:
    spraying = SprayingDetector(threshold=2, window=3600)
    for n, name in enumerate(["b", "a", "b", "c"]):
        spraying.add("192.0.2.66", name, n)
    [incident] = spraying.incidents()
    assert list(incident.usernames) == ["b", "a", "c"] and incident.failures == 4


def test_rows_earlier_than_some_already_fed_are_not_cut_by_forgetting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A block written with later times first (a restored site's own rows before a grown
    year) must not make every key of the year look idle at each sweep."""
    monkeypatch.setattr(detect, "PRUNE_EVERY", 8)
    bursts = BurstDetector(3, 3600)
    bursts.add("203.0.113.9", 10_000_000)  # a later time, fed first
    for n in range(100):
        bursts.add("198.51.100.7", 1_000 + n * 60)
    assert [(i.key, i.failures) for i in bursts.incidents()] == [("198.51.100.7", 100)]
