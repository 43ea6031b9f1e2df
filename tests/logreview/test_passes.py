"""What the faster passes must not change: gaps found per block of ids equal gaps found over
the whole id range (blocks of 4 ids here, so runs of short blocks, gaps across a block edge
and at the end all occur), and detectors that forget idle keys find what they found before."""

from __future__ import annotations

import itertools
import random

import pytest

from moodle_soc.logreview import detect
from moodle_soc.logreview.detect import BurstDetector, SprayingDetector
from moodle_soc.site import log_review
from moodle_soc.site.log_review import LogReviewQueries
from moodle_soc.synthetic.builder import SiteBuilder

E = "\\core\\event\\"
D20 = 1795132800


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_gaps_per_block_are_the_gaps_of_the_whole_range(
    builder: SiteBuilder, make_site, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(log_review, "GAP_BLOCK", 4)
    rand = random.Random(seed)
    ids = []
    for n in range(60):
        if rand.random() < 0.25:
            builder.reserve_ids("logstore_standard_log", rand.randrange(1, 7))  # deleted rows
        ids.append(builder.log(E + "course_viewed", timecreated=D20 + n, userid=2))
    present = sorted(ids)
    expected = [(a, b) for a, b in itertools.pairwise(present) if b > a + 1]
    missing, gaps = LogReviewQueries(make_site(builder)).id_gaps(present[0], present[-1])
    assert [(g.after, g.before) for g in gaps] == expected and expected
    assert missing == sum(b - a - 1 for a, b in expected)


def _fed(
    attempts: list[tuple[int, str, str]], horizon: detect.Horizon | None
) -> tuple[list[detect.Incident], list[detect.Incident], int]:
    """Feed ``attempts`` (time, IP, username) in their order, their index as the log id."""
    bursts, spraying = BurstDetector(3, 3600), SprayingDetector(3, 7200)
    bursts.horizon = spraying.horizon = horizon
    for at, (when, ip, name) in enumerate(attempts):
        bursts.add(ip, when, at)
        spraying.add(ip, name, when, at)
    return bursts.incidents(), spraying.incidents(), len(bursts._recent)


def _horizon(attempts: list[tuple[int, str, str]]) -> detect.Horizon | None:
    """What the grouped pass tells the detectors: each day's last id."""
    last: dict[int, int] = {}
    for at, (when, _, _) in enumerate(attempts):
        last[when - when % 86400] = at
    return detect.Horizon.of(last.items())


def test_forgetting_idle_keys_finds_the_same_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    rand = random.Random(7)
    attempts = sorted(
        (D20 + rand.randrange(30 * 86400), f"198.51.100.{rand.randrange(200)}", f"u{n % 50}")
        for n in range(5000)
    )
    attempts += [(D20 + 31 * 86400 + n, "192.0.2.66", f"guess{n}") for n in range(12)]

    kept_bursts, kept_spraying, kept_keys = _fed(attempts, None)  # never forgets
    monkeypatch.setattr(detect, "PRUNE_EVERY", 64)
    bursts, spraying, keys = _fed(attempts, _horizon(attempts))
    assert (bursts, spraying) == (kept_bursts, kept_spraying)
    assert any(i.key == "192.0.2.66" for i in spraying)
    # Kept: the IPs that failed since the start of the day being read (167 attempts a day).
    assert kept_keys == 201 and keys < 120


def test_rows_far_out_of_time_order_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic benchmark's log: its first rows carry the last days' times, the year after
    them starts earlier. Forgetting by the newest time seen cut the one IP failing every ten
    minutes into pieces of ``PRUNE_EVERY`` failures; by the horizon (the earliest time of the
    failures still to come), every key keeps what it had until it can no longer matter."""
    monkeypatch.setattr(detect, "PRUNE_EVERY", 64)
    late = [(D20 + 60 * 86400 + n * 30, "192.0.2.66", f"admin{n % 5}") for n in range(40)]
    year = [
        (D20 + n * 600, "198.51.100.7" if n % 4 else f"203.0.113.{n % 250}", f"u{n % 7}")
        for n in range(8000)
    ]
    attempts = late + year

    bursts, spraying, keys = _fed(attempts, _horizon(attempts))

    assert (bursts, spraying) == _fed(attempts, None)[:2]
    by_ip = [(i.key, i.failures) for i in bursts]
    assert ("198.51.100.7", 6000) in by_ip and ("192.0.2.66", 40) in by_ip
    assert len(bursts) == 2 and keys < 260


def test_the_attempt_being_fed_counts_among_those_to_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sweep just before the last failure of a day: the floor is that day, not the next."""
    monkeypatch.setattr(detect, "PRUNE_EVERY", 3)
    attempts = [(D20 + 86400 - 7200 + n * 10, "198.51.100.7", "u") for n in range(3)]
    attempts += [(D20 + 86400 + 7200, "192.0.2.1", "v")]  # the next day

    bursts, _, _ = _fed(attempts, _horizon(attempts))

    assert [(i.key, i.failures) for i in bursts] == [("198.51.100.7", 3)]
