"""Brute-force bursts and password spraying, found in one pass over streamed failed logins.

Each detector holds, per account or IP, only the attempts inside its sliding window, so memory
depends on how many keys are active at once, not on the size of the log. Overlapping windows of
one key merge into one incident (its first and last attempt, and how many failures it holds).
Attempts are fed in the log's id order. A key's results depend only on its own attempts, in
that order: an attempt a whole window after the latest one the key had starts it afresh, and a
key is forgotten (to bound memory) only when no attempt still to come can be that close to its
latest one, as the ``Horizon`` says; so other keys' rows, wherever they fall in time (a clock
set wrong for a while, rows imported later), change nothing, and a run that goes on from a kept
state or replays some keys gives the same incidents as one pass over the whole period.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PRUNE_EVERY = 4096  # attempts between sweeps of keys that can no longer matter


@dataclass(frozen=True)
class Horizon:
    """The earliest time a failed login still to come can have, after a given id: the start of
    the earliest UTC day whose failed logins (the grouped pass's groups, with their id ranges)
    reach beyond that id. After the last group, the newest such day: rows written later carry
    the time they are written (a re-run from a kept state checks it, ``LogCursor.read_days``)."""

    last_ids: tuple[int, ...]  # the groups' last ids, ascending
    floors: tuple[int, ...]  # floors[i]: the earliest day of the groups from i on
    newest: int  # the newest day with failed logins

    @classmethod
    def of(cls, groups: Iterable[tuple[int, int]]) -> Horizon | None:
        """From (day, last id) of each failed-login group; None without any."""
        pairs = sorted((last_id, day) for day, last_id in groups)
        if not pairs:
            return None
        floors, low = [], pairs[-1][1]
        for _, day in reversed(pairs):
            low = min(low, day)
            floors.append(low)
        newest = max(day for _, day in pairs)
        return cls(tuple(last for last, _ in pairs), tuple(reversed(floors)), newest)

    def floor(self, after_id: int) -> int:
        index = bisect_right(self.last_ids, after_id)
        return self.floors[index] if index < len(self.floors) else self.newest


@dataclass
class Incident:
    key: str
    first: int
    last: int
    failures: int
    usernames: dict[str, None] = field(default_factory=dict)  # spraying: first-tried order


@dataclass
class _Keyed:
    """What both detectors share: the horizon, the sweep of keys that can no longer matter."""

    threshold: int
    window: int
    found: list[Incident] = field(default_factory=list)
    _open: dict[str, Incident] = field(default_factory=dict)
    _top: dict[str, int] = field(default_factory=dict)  # key -> its latest attempt's time
    _latest: int = 0
    _added: int = 0
    horizon: Horizon | None = None  # None: keys are never forgotten

    def _fresh(self, key: str, time: int, at: int | None) -> bool:
        """Note an attempt; whether it starts the key afresh (a window after its latest)."""
        self._latest, self._added = max(self._latest, time), self._added + 1
        if at is not None and self.horizon is not None and self._added % PRUNE_EVERY == 0:
            self._forget(self.horizon.floor(at - 1))  # this attempt is still to come
        top = self._top_of(key)
        if top is not None and time < top + self.window:
            self._top[key] = max(top, time)
            return False
        self._top[key] = time
        self._open.pop(key, None)
        return True

    def _forget(self, floor: int) -> None:
        """Drop the keys whose latest attempt is a window before every attempt still to come
        (``floor``): their next attempt would start them afresh anyway."""
        for key in [k for k in self._keys() if (self._top_of(k) or 0) + self.window <= floor]:
            self._drop(key)

    def _top_of(self, key: str) -> int | None:
        """The key's latest attempt (worked out once from a kept state's recent attempts: the
        latest is never dropped from them, only older ones a window before a later one)."""
        top = self._top.get(key)
        if top is None and key in self._keys():
            top = self._top[key] = self._latest_kept(key)
        return top

    def _keys(self) -> Mapping[str, object]:
        raise NotImplementedError

    def _latest_kept(self, key: str) -> int:
        raise NotImplementedError

    def _drop(self, key: str) -> None:
        self._top.pop(key, None)
        self._open.pop(key, None)

    def incidents(self) -> list[Incident]:
        return sorted(self.found, key=lambda i: (i.first, i.key))


@dataclass
class BurstDetector(_Keyed):
    """``threshold`` failures of one key within ``window`` seconds."""

    _recent: dict[str, deque[int]] = field(default_factory=dict)

    def add(self, key: str, time: int, at: int | None = None) -> None:
        """An attempt of ``key`` at ``time`` (``at``: its log id, for the horizon)."""
        if self._fresh(key, time, at):
            self._recent[key] = deque()
        recent = self._recent[key]
        recent.append(time)
        while recent and recent[0] <= time - self.window:
            recent.popleft()
        incident = self._open.get(key)
        if incident is not None and time - incident.last < self.window:
            incident.last, incident.failures = time, incident.failures + 1
        elif len(recent) >= self.threshold:
            incident = Incident(key, recent[0], time, len(recent))
            self._open[key] = incident
            self.found.append(incident)

    def _keys(self) -> Mapping[str, object]:
        return self._recent

    def _latest_kept(self, key: str) -> int:
        return max(self._recent[key], default=0)

    def _drop(self, key: str) -> None:
        super()._drop(key)
        self._recent.pop(key, None)


@dataclass
class SprayingDetector(_Keyed):
    """One IP failing as ``threshold`` distinct usernames within ``window`` seconds."""

    _recent: dict[str, deque[tuple[int, str]]] = field(default_factory=dict)
    _names: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, ip: str, username: str, time: int, at: int | None = None) -> None:
        if self._fresh(ip, time, at):
            self._recent[ip], self._names[ip] = deque(), Counter()
        recent, names = self._recent[ip], self._names[ip]
        recent.append((time, username))
        names[username] += 1
        while recent and recent[0][0] <= time - self.window:
            _, gone = recent.popleft()
            names[gone] -= 1
            if not names[gone]:
                del names[gone]
        incident = self._open.get(ip)
        if incident is not None and time - incident.last < self.window:
            incident.last, incident.failures = time, incident.failures + 1
            incident.usernames.setdefault(username)
        elif len(names) >= self.threshold:
            tried = dict.fromkeys(name for _, name in recent)
            incident = Incident(ip, recent[0][0], time, len(recent), tried)
            self._open[ip] = incident
            self.found.append(incident)

    def _keys(self) -> Mapping[str, object]:
        return self._recent

    def _latest_kept(self, key: str) -> int:
        return max((t for t, _ in self._recent[key]), default=0)

    def _drop(self, key: str) -> None:
        super()._drop(key)
        self._recent.pop(key, None)
        self._names.pop(key, None)
