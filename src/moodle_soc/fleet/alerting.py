"""Alerts: what changed since the monitor last looked, each raised once.

Four kinds: a finding that newly fails (``new_failure``), a failing finding that no longer
fails (``fixed``), a site that could not be scanned (``unscanned``, and ``recovered`` when it
can be again) and a scheduled scan that did not happen (``missed_schedule``). Every alert has a
fingerprint; the monitor's state remembers which conditions are open, so a failure keeps
quiet until it is fixed and an unreachable site raises one alert, not one per tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from moodle_soc.results import Severity

AlertKind = Literal["new_failure", "fixed", "unscanned", "recovered", "missed_schedule", "baseline"]


class EmailSettings(BaseModel):
    """SMTP delivery. The password (if the server wants one) comes from ``password_env``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    smtp_host: str
    smtp_port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
    sender: str = Field(alias="from")
    to: tuple[str, ...] = Field(min_length=1)
    timeout: float = Field(30.0, gt=0)


class WebhookSettings(BaseModel):
    """A Slack or Teams incoming webhook, or any endpoint taking JSON (``json``). The URL is
    given directly or, since webhook URLs are secrets, by ``url_env``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["slack", "teams", "json"]
    url: str | None = None
    url_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
    timeout: float = Field(15.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("a webhook URL starts with https:// (or http://)")
        return value


class AlertSettings(BaseModel):
    """``alerts:`` of sites.yaml. ``mode: digest`` holds alerts for one message on
    ``digest_schedule`` (cron, default 08:00 every day) instead of sending each tick's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: EmailSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = ()
    mode: Literal["immediate", "digest"] = "immediate"
    digest_schedule: str = "0 8 * * *"
    min_severity: Severity = Severity.LOW
    fixed: bool = True  # also announce fixed findings

    @field_validator("digest_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from moodle_soc.fleet.inventory import valid_schedule

        return valid_schedule(value)

    @property
    def configured(self) -> bool:
        return self.email is not None or bool(self.webhooks)


class Alert(BaseModel):
    """One alert: a sentence for people, the fields for machines, a fingerprint for de-dup."""

    model_config = ConfigDict(frozen=True)

    kind: AlertKind
    site: str
    client: str
    fingerprint: str
    text: str
    at: datetime
    severity: str | None = None
    check_id: str | None = None
    resource: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


def finding_key(check_id: str, resource: str) -> str:
    return f"{check_id}|{resource}"


def failure_alerts(
    site: str,
    client: str,
    at: datetime,
    failing: dict[str, dict[str, Any]],
    open_before: set[str] | None,
    settled: set[str],
    settings: AlertSettings,
) -> list[Alert]:
    """Alerts for a scanned site: findings failing now (``failing``: key -> finding) against
    those that failed at the last scan (``open_before``; None for a site never scanned).

    ``settled`` holds the keys whose finding passed (or no longer exists) now; a failure that
    turned into an error stays open, since nothing shows that it was fixed."""
    if open_before is None:
        if not failing:
            return []
        worst = max((Severity(f["severity"]) for f in failing.values()), key=lambda s: s.rank)
        return [
            Alert(
                kind="baseline",
                site=site,
                client=client,
                fingerprint=f"{site}|baseline",
                text=f"First scan of {site}: {len(failing)} failed findings (worst {worst.value}).",
                at=at,
                severity=worst.value,
                details={"failed": len(failing)},
            )
        ]
    alerts = []
    for key in sorted(set(failing) - open_before):
        finding = failing[key]
        if Severity(finding["severity"]).rank < settings.min_severity.rank:
            continue
        alerts.append(
            Alert(
                kind="new_failure",
                site=site,
                client=client,
                fingerprint=f"{site}|fail|{key}",
                text=f"{site}: {finding['check_id']} now fails on {finding['resource']}:"
                f" {finding['reason']}",
                at=at,
                severity=finding["severity"],
                check_id=finding["check_id"],
                resource=finding["resource"],
            )
        )
    if settings.fixed:
        for key in sorted(open_before & settled):
            check_id, _, resource = key.partition("|")
            alerts.append(
                Alert(
                    kind="fixed",
                    site=site,
                    client=client,
                    fingerprint=f"{site}|fixed|{key}",
                    text=f"{site}: {check_id} no longer fails on {resource}.",
                    at=at,
                    check_id=check_id,
                    resource=resource,
                )
            )
    return alerts


def unscanned_alert(site: str, client: str, at: datetime, reason: str) -> Alert:
    return Alert(
        kind="unscanned",
        site=site,
        client=client,
        fingerprint=f"{site}|unscanned",
        text=f"{site} could not be scanned: {reason}",
        at=at,
        details={"reason": reason},
    )


def recovered_alert(site: str, client: str, at: datetime, since: str) -> Alert:
    return Alert(
        kind="recovered",
        site=site,
        client=client,
        fingerprint=f"{site}|recovered|{since}",
        text=f"{site} can be scanned again (it could not be since {since}).",
        at=at,
    )


def missed_alert(site: str, client: str, at: datetime, missed: list[datetime]) -> Alert:
    first = missed[0].isoformat(timespec="minutes")
    return Alert(
        kind="missed_schedule",
        site=site,
        client=client,
        fingerprint=f"{site}|missed|{first}",
        text=f"{site} missed {len(missed)} scheduled scan(s) since {first} (was the monitor"
        " stopped, or a scan running past its next start?).",
        at=at,
        details={"missed": [m.isoformat() for m in missed]},
    )
