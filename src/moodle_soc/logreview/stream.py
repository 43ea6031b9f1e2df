"""What the review's detail stream (failed logins, administrative and role events) made of the
rows it read, kept so a re-run from a cursor reads only the rows after the cursor's last id.

Everything is kept per UTC day where the review needs a sum (reasons, malformed values,
lockout spans), as the events themselves where it lists them (administrative and role events:
few), and as the pattern detectors' own state (``detect``): feeding the detectors the rows
after the cursor, from the kept state, is the same as feeding them the whole period in id
order, so bursts and spraying that span the cursor come out as in a full run.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from moodle_soc.logreview.detect import BurstDetector, Incident, SprayingDetector
from moodle_soc.logreview.rewindow import move_detectors
from moodle_soc.site import log_review as q
from moodle_soc.site.populations import Window

DAY = q.DAY


@dataclass
class Span:
    """Attempts of one (reason, username, userid) on one day: first/last time, by id order."""

    first: int
    last: int
    count: int
    first_id: int
    last_id: int


@dataclass
class StreamState:
    """The detail stream's results for the rows up to the cursor."""

    burst_failures: int
    burst_window: int
    spraying_usernames: int
    spraying_window: int
    reasons: dict[int, Counter[str]] = field(default_factory=dict)  # day -> reason -> failures
    malformed: dict[int, int] = field(default_factory=dict)  # day -> undecodable ``other``
    attempts: dict[tuple[int, str, int, int], Span] = field(default_factory=dict)
    admin: list[q.AdminEvent] = field(default_factory=list)
    role_rows: list[q.RoleEventRow] = field(default_factory=list)
    by_account: BurstDetector = field(init=False)
    by_ip: BurstDetector = field(init=False)
    spraying: SprayingDetector = field(init=False)

    def __post_init__(self) -> None:
        self.by_account = BurstDetector(self.burst_failures, self.burst_window)
        self.by_ip = BurstDetector(self.burst_failures, self.burst_window)
        self.spraying = SprayingDetector(self.spraying_usernames, self.spraying_window)

    @property
    def thresholds(self) -> list[int]:
        return [self.burst_failures, self.burst_window, self.spraying_usernames,
                self.spraying_window]  # fmt: skip

    def count_failure(self, failure: q.FailedLogin, username: str, kept: tuple[int, ...]) -> None:
        """Count a failed login's reason (and its span when its reason is in ``kept``)."""
        day = failure.time - failure.time % DAY
        self.count_reasons(day, failure.reason, failure.malformed, 1)
        self.count_span(failure, username, kept)

    def count_reasons(self, day: int, reason: int | None, malformed: bool, rows: int) -> None:
        """Count ``rows`` failed logins of ``day`` with ``reason``."""
        name = "unknown" if reason is None else str(reason)
        self.reasons.setdefault(day, Counter())[name] += rows
        if malformed:
            self.malformed[day] = self.malformed.get(day, 0) + rows

    def count_span(self, failure: q.FailedLogin, username: str, kept: tuple[int, ...]) -> None:
        """Add a failed login to its account's span of the day when its reason is in ``kept``
        (rows come in id order)."""
        if failure.reason in kept:
            day = failure.time - failure.time % DAY
            key = (failure.reason, username, failure.userid, day)
            span = self.attempts.get(key)
            if span is None:
                self.attempts[key] = Span(failure.time, failure.time, 1, failure.id, failure.id)
            else:
                span.last, span.count, span.last_id = failure.time, span.count + 1, failure.id

    def reason_totals(self, since: int) -> dict[str, int]:
        total: Counter[str] = Counter()
        for day, counts in self.reasons.items():
            if day >= since:
                total.update(counts)
        return dict(sorted(total.items()))

    def malformed_total(self, since: int) -> int:
        return sum(n for day, n in self.malformed.items() if day >= since)

    def spans(self, since: int) -> dict[tuple[int, str, int], Span]:
        """Per (reason, username, userid): the days' spans joined in id order."""
        joined: dict[tuple[int, str, int], Span] = {}
        for (reason, name, userid, day), span in sorted(
            self.attempts.items(), key=lambda item: item[1].first_id
        ):
            if day < since:
                continue
            old = joined.get((reason, name, userid))
            if old is None:
                joined[(reason, name, userid)] = Span(**vars(span))
                continue
            old.count += span.count
            if span.last_id > old.last_id:
                old.last, old.last_id = span.last, span.last_id
        return joined

    def move_to(self, queries: q.LogReviewQueries, kept: Window, start: int, last_id: int) -> None:
        """Keep only what a period starting at ``start`` (later than ``kept``'s) holds: the
        days from ``start`` on, and the detectors as if fed from ``start`` (``rewindow``)."""
        self.reasons = {day: c for day, c in self.reasons.items() if day >= start}
        self.malformed = {day: n for day, n in self.malformed.items() if day >= start}
        self.attempts = {key: s for key, s in self.attempts.items() if key[3] >= start}
        self.admin = [e for e in self.admin if e.time >= start]
        self.role_rows = [r for r in self.role_rows if int(r.row["timecreated"]) >= start]

        def failures(
            low: int, high: int, only: tuple[set[str], set[int]] | None
        ) -> Iterator[q.FailedLogin]:
            window, ids = Window(low, high), (0, last_id)
            if only is None:
                return queries.failed_logins(window, ids)
            return queries.failed_logins(window, ids, ips=only[0], userids=only[1])

        move_detectors(
            [(self.by_account, _account), (self.by_ip, _ip), (self.spraying, _ip)],
            failures, username_of, (kept.start, kept.end), start,
        )  # fmt: skip

    # --- kept as JSON -----------------------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        # The detectors are kept as they are, not swept of idle keys first: a re-run then goes
        # on exactly as a full run would, even with rows far out of time order (the sweeps
        # keep the kept keys to those active in the last window and ``PRUNE_EVERY`` attempts).
        return {
            "thresholds": self.thresholds,
            "reasons": [[day, dict(counts)] for day, counts in sorted(self.reasons.items())],
            "malformed": sorted(self.malformed.items()),
            "attempts": [[*key, *vars(span).values()] for key, span in self.attempts.items()],
            "admin": [vars(e) for e in self.admin],
            "role_rows": [r.row for r in self.role_rows],
            "by_account": _burst_state(self.by_account),
            "by_ip": _burst_state(self.by_ip),
            "spraying": _spraying_state(self.spraying),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> StreamState:
        failures, window, usernames, spray_window = (int(n) for n in data["thresholds"])
        state = cls(failures, window, usernames, spray_window)
        state.reasons = {int(day): Counter(counts) for day, counts in data["reasons"]}
        state.malformed = {int(day): int(n) for day, n in data["malformed"]}
        state.attempts = {
            (int(r), str(name), int(user), int(day)): Span(*(int(v) for v in rest))
            for r, name, user, day, *rest in data["attempts"]
        }
        state.admin = [q.AdminEvent(**e) for e in data["admin"]]
        state.role_rows = [q.RoleEventRow(dict(r)) for r in data["role_rows"]]
        _load_burst(state.by_account, data["by_account"])
        _load_burst(state.by_ip, data["by_ip"])
        _load_spraying(state.spraying, data["spraying"])
        return state


def username_of(failure: q.FailedLogin) -> str:
    """The name a failed login tried (spraying counts distinct ones)."""
    if failure.username:
        return failure.username
    return f"user {failure.userid}" if failure.userid else "(no username)"


def _account(failure: q.FailedLogin) -> str | None:
    return str(failure.userid) if failure.userid > 0 else None


def _ip(failure: q.FailedLogin) -> str | None:
    return failure.ip or None


def _incidents(found: list[Incident], opened: dict[str, Incident]) -> dict[str, Any]:
    index = {id(i): n for n, i in enumerate(found)}
    return {
        "found": [[i.key, i.first, i.last, i.failures, list(i.usernames)] for i in found],
        "open": {key: index[id(i)] for key, i in opened.items()},
    }


def _load_incidents(data: dict[str, Any]) -> tuple[list[Incident], dict[str, Incident]]:
    found = [Incident(k, int(f), int(la), int(n), dict.fromkeys(u)) for k, f, la, n, u in
             data["found"]]  # fmt: skip
    return found, {key: found[int(n)] for key, n in data["open"].items()}


def _burst_state(detector: BurstDetector) -> dict[str, Any]:
    return {
        **_incidents(detector.found, detector._open),
        "recent": {key: list(times) for key, times in detector._recent.items()},
        "latest": detector._latest,
        "added": detector._added,
    }


def _load_burst(detector: BurstDetector, data: dict[str, Any]) -> None:
    detector.found, detector._open = _load_incidents(data)
    detector._recent = {key: deque(int(t) for t in times) for key, times in data["recent"].items()}
    detector._latest, detector._added = int(data["latest"]), int(data["added"])


def _spraying_state(detector: SprayingDetector) -> dict[str, Any]:
    return {
        **_incidents(detector.found, detector._open),
        "recent": {
            key: [[t, name] for t, name in pairs] for key, pairs in detector._recent.items()
        },
        "latest": detector._latest,
        "added": detector._added,
    }


def _load_spraying(detector: SprayingDetector, data: dict[str, Any]) -> None:
    detector.found, detector._open = _load_incidents(data)
    detector._recent = {
        key: deque((int(t), str(name)) for t, name in pairs)
        for key, pairs in data["recent"].items()
    }
    detector._names = {key: Counter(name for _, name in pairs) for key, pairs in
                       detector._recent.items()}  # fmt: skip
    detector._latest, detector._added = int(data["latest"]), int(data["added"])
