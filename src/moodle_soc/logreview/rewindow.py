"""A kept detector state moved to a later period start (a rolling review window).

A detector's results for one key depend only on that key's attempts, and an attempt that comes
a whole window after the key's latest one starts afresh: nothing before it counts any more.
So when the period now starts at ``start`` instead of earlier, only the keys with an attempt in
the window before ``start`` ("dirty" keys) can come out differently: their attempts from
``start`` on are fed again to fresh detectors, slice by slice, until each key has gone a window
without an attempt (from then on the kept state is the same as a fresh run's) or the kept rows
end. Every other key keeps its incidents that begin at or after ``start``.

The replay reads attempts by time, a full run by id: they agree when each key's own attempts
come in time order (other keys' rows may fall anywhere in time). A replayed key whose attempts
come out of id order raises ``OutOfOrder`` (the caller then reads the whole period).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from moodle_soc.logreview.detect import BurstDetector, Incident, SprayingDetector

if TYPE_CHECKING:
    from moodle_soc.site.log_review import FailedLogin

Detector = BurstDetector | SprayingDetector
NEVER = 2**62
DAY = 86400


class OutOfOrder(Exception):
    """A replayed key's attempts are not in the same order by time as by id."""


@dataclass
class Replay:
    """One detector's dirty keys being fed again from the new start."""

    kept: Detector
    fresh: Detector
    key: Callable[[FailedLogin], str | None]
    last_seen: dict[str, int]  # dirty key -> its latest attempt so far
    clean_from: dict[str, int] = field(default_factory=dict)  # key -> kept incidents from then
    last_id: dict[str, int] = field(default_factory=dict)  # key -> its latest replayed id
    label: str = "IP"  # what the keys are, for ``OutOfOrder``

    def feed(self, failure: FailedLogin, username: str) -> None:
        key = self.key(failure)
        if key is None or key not in self.last_seen:
            return
        if failure.id < self.last_id.get(key, 0):
            raise OutOfOrder(f"{self.label} {key}")
        self.last_id[key] = failure.id
        if failure.time - self.last_seen[key] >= self.kept.window:  # a fresh start: clean
            self.clean_from[key] = failure.time
            del self.last_seen[key]
            return
        self.last_seen[key] = failure.time
        if isinstance(self.fresh, SprayingDetector):
            self.fresh.add(key, username, failure.time)
        else:
            self.fresh.add(key, failure.time)

    def idle_until(self, time: int) -> None:
        """Keys with no attempt from a window before ``time`` to ``time`` are clean."""
        for key, last in list(self.last_seen.items()):
            if last + self.kept.window <= time:
                self.clean_from[key] = last + 1
                del self.last_seen[key]

    def merged(self, start: int) -> None:
        """Move the kept detector to the new start (in place)."""
        kept, fresh = self.kept, self.fresh
        for key in self.last_seen:  # still dirty where the kept rows end: the fresh state
            self.clean_from[key] = NEVER

        def keeps(incident: Incident) -> bool:
            return incident.first >= max(start, self.clean_from.get(incident.key, start))

        found = [i for i in kept.found if keeps(i)]
        retained = {id(i) for i in found}
        opened = {key: i for key, i in kept._open.items() if id(i) in retained}
        for key in self.last_seen:
            kept._recent.pop(key, None)
            kept._top.pop(key, None)  # worked out again from the recent attempts
            if key in fresh._recent:
                kept._recent[key] = fresh._recent[key]  # type: ignore[assignment]
            if key in fresh._open:
                opened[key] = fresh._open[key]
        kept.found = found + fresh.found
        kept._open = opened
        if isinstance(kept, SprayingDetector) and isinstance(fresh, SprayingDetector):
            for key in self.last_seen:
                kept._names.pop(key, None)
                if key in fresh._names:
                    kept._names[key] = fresh._names[key]


def replays(
    detectors: Iterable[tuple[Detector, Callable[[FailedLogin], str | None]]],
    before: Iterable[FailedLogin],
    start: int,
) -> list[Replay]:
    """A replay per detector, its dirty keys from ``before`` (the attempts in the longest
    window before ``start``)."""
    earlier = list(before)
    out = []
    for detector, key in detectors:
        seen: dict[str, int] = {}
        for failure in earlier:
            name = key(failure)
            if name is not None and failure.time > start - detector.window:
                seen[name] = max(seen.get(name, 0), failure.time)
        fresh: Detector
        if isinstance(detector, SprayingDetector):
            fresh = SprayingDetector(detector.threshold, detector.window)
        else:
            fresh = BurstDetector(detector.threshold, detector.window)
        out.append(Replay(detector, fresh, key, seen))
    return out


def move_detectors(
    detectors: list[tuple[Detector, Callable[[FailedLogin], str | None]]],
    failures: Callable[[int, int, tuple[set[str], set[int]] | None], Iterable[FailedLogin]],
    username: Callable[[FailedLogin], str],
    kept: tuple[int, int],
    start: int,
) -> None:
    """Move ``detectors`` (fed the kept rows of the period ``kept`` = (start, end) times) to
    the later ``start``. ``failures(low, high, only)`` reads the failed logins in the times
    ``low``..``high`` among the kept rows, in id order (only those of the IPs and account ids
    ``only`` names, when given). The first detector is keyed by account id, the others by IP."""
    if start <= kept[0]:
        return
    longest = max(d.window for d, _ in detectors)
    # A key is clean once a window has passed with no attempt: at most up to the day of the
    # latest attempt the kept detectors saw, as the rows after the cursor (read next) may go
    # on from there (a re-run checks that none is older: ``LogCursor.read_days``).
    seen_until = max(d._latest for d, _ in detectors)
    seen_until -= seen_until % DAY
    before = failures(max(kept[0], start - longest), start, None)
    reps = replays(detectors, before, start)
    by_account, by_ip = reps[0], reps[1:]
    by_account.label = "account id"
    low, width = start, longest
    while low < kept[1] and any(r.last_seen for r in reps):
        # Slices double: most keys are clean within a window or two, one that keeps failing
        # is read to the end in few queries.
        high = min(low + width, kept[1])
        width *= 2
        userids = {int(key) for key in by_account.last_seen}
        ips = {key for rep in by_ip for key in rep.last_seen}
        for failure in failures(low, high, (ips, userids)):
            for rep in reps:
                rep.feed(failure, username(failure))
        for rep in reps:
            rep.idle_until(min(high, seen_until))
        low = high
    for rep in reps:
        rep.merged(start)
