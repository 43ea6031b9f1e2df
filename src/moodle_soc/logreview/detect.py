"""Brute-force bursts and password spraying, found in one pass over streamed failed logins.

Each detector holds, per account or IP, only the attempts inside its sliding window, so memory
depends on how many keys are active at once, not on the size of the log. Overlapping windows of
one key merge into one incident (its first and last attempt, and how many failures it holds).
Attempts are fed in the log's id order, which is Moodle's time order (ids grow as rows are
written).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

#: How far out of time order rows may come (clock skew between web servers) before a key's
#: state is forgotten: a key idle for a window plus this is dropped, which changes nothing
#: as long as rows are not more out of order than this.
SLACK = 3600
PRUNE_EVERY = 4096  # attempts between sweeps of idle keys


@dataclass
class Incident:
    key: str
    first: int
    last: int
    failures: int
    usernames: dict[str, None] = field(default_factory=dict)  # spraying: first-tried order


@dataclass
class BurstDetector:
    """``threshold`` failures of one key within ``window`` seconds."""

    threshold: int
    window: int
    found: list[Incident] = field(default_factory=list)
    _recent: dict[str, deque[int]] = field(default_factory=dict)
    _open: dict[str, Incident] = field(default_factory=dict)
    _latest: int = 0
    _added: int = 0

    def add(self, key: str, time: int) -> None:
        self._latest, self._added = max(self._latest, time), self._added + 1
        if self._added % PRUNE_EVERY == 0:
            self._forget_idle(time)
        recent = self._recent.setdefault(key, deque())
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

    def incidents(self) -> list[Incident]:
        return sorted(self.found, key=lambda i: (i.first, i.key))

    def _forget_idle(self, now: int) -> None:
        """Drop the keys with no attempt in the window (and slack) before the attempt ``now``:
        memory then follows the keys active at once, not every IP or account ever seen. Idle
        is judged from the attempt being added, not the latest one seen, so rows earlier than
        some already fed (a block written with later times first) are not cut off."""
        stale = now - self.window - SLACK
        for key in [k for k, recent in self._recent.items() if not recent or recent[-1] < stale]:
            del self._recent[key]
            self._open.pop(key, None)


@dataclass
class SprayingDetector:
    """One IP failing as ``threshold`` distinct usernames within ``window`` seconds."""

    threshold: int
    window: int
    found: list[Incident] = field(default_factory=list)
    _recent: dict[str, deque[tuple[int, str]]] = field(default_factory=dict)
    _names: dict[str, Counter[str]] = field(default_factory=dict)
    _open: dict[str, Incident] = field(default_factory=dict)
    _latest: int = 0
    _added: int = 0

    def add(self, ip: str, username: str, time: int) -> None:
        self._latest, self._added = max(self._latest, time), self._added + 1
        if self._added % PRUNE_EVERY == 0:
            self._forget_idle(time)
        recent = self._recent.setdefault(ip, deque())
        names = self._names.setdefault(ip, Counter())
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

    def incidents(self) -> list[Incident]:
        return sorted(self.found, key=lambda i: (i.first, i.key))

    def _forget_idle(self, now: int) -> None:
        stale = now - self.window - SLACK
        for ip in [k for k, recent in self._recent.items() if not recent or recent[-1][0] < stale]:
            del self._recent[ip]
            self._names.pop(ip, None)
            self._open.pop(ip, None)
