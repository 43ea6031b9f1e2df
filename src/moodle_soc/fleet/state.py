"""The monitor's state file: when each site was last scanned, which failures are open, which
alerts were sent, and what waits for the digest.

Alerts are operational messages, not evidence: the evidence store is append-only and holds
what auditors read, so the monitor keeps this small JSON file instead (``--state``; default
``monitor-state.json`` in the user state directory). It is written atomically (a temporary
file renamed over it) under an exclusive lock, so a second monitor on the same file waits
instead of interleaving. Losing it costs one round of repeated alerts, never evidence.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodle_soc.errors import BadInputError
from moodle_soc.fleet.alerting import Alert


class SiteState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    last_attempt: datetime | None = None
    last_success: datetime | None = None
    #: Keys (check|resource) of the findings that failed at the last successful scan;
    #: None until the site has been scanned once.
    open_failures: list[str] | None = None
    unscanned_since: datetime | None = None
    last_record_seq: int | None = None


class MonitorState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int = 1
    sites: dict[str, SiteState] = Field(default_factory=dict)
    #: Fingerprint -> when it was sent: an alert whose fingerprint is here is not sent again.
    sent: dict[str, datetime] = Field(default_factory=dict)
    #: Alerts not delivered yet: held for the digest, or kept after a channel failed.
    pending: list[Alert] = Field(default_factory=list)
    last_digest: datetime | None = None

    def site(self, name: str) -> SiteState:
        return self.sites.setdefault(name, SiteState())

    def fresh(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts not sent (or queued) before, each fingerprint once."""
        queued = {alert.fingerprint for alert in self.pending}
        seen: set[str] = set()
        fresh = []
        for alert in alerts:
            if alert.fingerprint in self.sent or alert.fingerprint in queued:
                continue
            if alert.fingerprint in seen:
                continue
            seen.add(alert.fingerprint)
            fresh.append(alert)
        return fresh

    def forget(self, prefix: str) -> None:
        """Let the conditions under ``prefix`` alert again (a failure fixed, a site back)."""
        for key in [k for k in self.sent if k.startswith(prefix)]:
            del self.sent[key]


def default_state_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("moodle-soc")) / "monitor-state.json"


@contextmanager
def locked_state(path: Path) -> Iterator[MonitorState]:
    """The state at ``path`` (empty when new), saved on leaving the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = read_state(path)
            yield state
            write_state(path, state)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_state(path: Path) -> MonitorState:
    if not path.exists():
        return MonitorState()
    try:
        return MonitorState.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError) as exc:
        raise BadInputError(
            f"The monitor state file {path} cannot be read ({type(exc).__name__}); move it"
            " away to start afresh (alerts already sent may be sent once more)."
        ) from None


def write_state(path: Path, state: MonitorState) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = json.dumps(state.model_dump(mode="json"), indent=1, sort_keys=True)
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
