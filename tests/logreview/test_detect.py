"""Bursts and spraying: thresholds at, under and over, window edges, merged incidents."""

from __future__ import annotations

import pytest

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
