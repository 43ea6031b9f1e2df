"""What scanning one fleet site came to: one line at the end of ``fleet scan``, and the input of
the monitor's alerts. Plain JSON-able data: it comes back from a worker process or a Celery
task as it is."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

#: Why a site could not be scanned, by the typed error (retried on Celery: ``connect``).
ErrorKind = Literal[
    "connect", "query", "not_moodle", "unsupported", "config", "input", "usage", "timeout", "crash"
]


class SiteOutcome(BaseModel):
    """``ok``: scanned, no failed finding; ``findings``: scanned, some failed; ``error``: the
    site could not be scanned (``reason`` says why, ``error_kind`` classifies it)."""

    model_config = ConfigDict(frozen=True)

    site: str
    client: str
    status: Literal["ok", "findings", "error"]
    reason: str
    audit_time: datetime
    error_kind: ErrorKind | None = None
    site_key: str | None = None
    record_seq: int | None = None
    record_hash: str | None = None
    stored: bool = False  # False for a redelivered scan an earlier delivery already stored
    failed: int = 0
    errors: int = 0
    worst: str | None = None
    moodle_label: str | None = None
    duration_s: float = 0.0
    peak_rss_kb: int | None = None
    worker: str | None = None

    @property
    def scanned(self) -> bool:
        return self.status != "error"

    def detail(self) -> str:
        """What happened, in a few words: the reason, and the record the run went to."""
        if self.status == "error" or self.record_seq is None:
            return self.reason
        again = "" if self.stored else ", already stored by an earlier delivery"
        return f"{self.reason} (record {self.record_seq}{again})"

    def line(self) -> str:
        """``acme-prod  findings  3 failed findings (worst high) (record 12)``."""
        return f"{self.site}  {self.status}  {self.detail()}"


def error_outcome(
    site: str,
    client: str,
    audit_time: datetime,
    kind: ErrorKind,
    reason: str,
    *,
    duration_s: float = 0.0,
    worker: str | None = None,
) -> SiteOutcome:
    return SiteOutcome(
        site=site,
        client=client,
        status="error",
        reason=reason,
        audit_time=audit_time,
        error_kind=kind,
        duration_s=duration_s,
        worker=worker,
    )
