"""Deliver alerts: e-mail over SMTP and webhooks (Slack, Teams, generic JSON), standard library
only (smtplib, urllib), so no notification service or SDK is needed.

Each channel gets one message per batch (a tick's alerts, or the daily digest). A channel
that fails is reported and the batch stays unsent for the next try; the others still get it.
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from moodle_soc.fleet.alerting import Alert, AlertSettings, EmailSettings, WebhookSettings
from moodle_soc.safety import scrub_secret


def subject(alerts: Sequence[Alert], digest: bool) -> str:
    sites = sorted({a.site for a in alerts})
    what = "daily digest" if digest else f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
    where = sites[0] if len(sites) == 1 else f"{len(sites)} sites"
    return f"moodle-soc {what}: {where}"


def body_text(alerts: Sequence[Alert], digest: bool) -> str:
    lines = [subject(alerts, digest), ""]
    for alert in sorted(alerts, key=lambda a: (a.site, a.kind, a.fingerprint)):
        severity = f"[{alert.severity}] " if alert.severity else ""
        lines.append(f"- {severity}{alert.text}")
    return "\n".join(lines) + "\n"


def json_payload(alerts: Sequence[Alert], digest: bool) -> dict[str, Any]:
    return {
        "source": "moodle-soc",
        "digest": digest,
        "generated_at": datetime.now(UTC).isoformat(),
        "summary": subject(alerts, digest),
        "alerts": [alert.model_dump(mode="json") for alert in alerts],
    }


def webhook_payload(kind: str, alerts: Sequence[Alert], digest: bool) -> dict[str, Any]:
    """The body each service expects: Slack ``text``; a Teams MessageCard; our JSON."""
    if kind == "slack":
        return {"text": body_text(alerts, digest)}
    if kind == "teams":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": subject(alerts, digest),
            "title": subject(alerts, digest),
            "text": "\n\n".join(a.text for a in alerts),
        }
    return json_payload(alerts, digest)


def send_email(settings: EmailSettings, alerts: Sequence[Alert], digest: bool) -> None:
    message = EmailMessage()
    message["Subject"] = subject(alerts, digest)
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message.set_content(body_text(alerts, digest))
    password = os.environ.get(settings.password_env) if settings.password_env else None
    smtp_class = smtplib.SMTP_SSL if settings.ssl else smtplib.SMTP
    with smtp_class(settings.smtp_host, settings.smtp_port, timeout=settings.timeout) as smtp:
        if settings.starttls and not settings.ssl:
            smtp.starttls()
        if settings.username and password is not None:
            smtp.login(settings.username, password)
        smtp.send_message(message)


def send_webhook(settings: WebhookSettings, alerts: Sequence[Alert], digest: bool) -> None:
    url = settings.url or (os.environ.get(settings.url_env) if settings.url_env else None)
    if not url:
        raise ValueError(f"the variable {settings.url_env} holding the webhook URL is not set")
    data = json.dumps(webhook_payload(settings.kind, alerts, digest)).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=settings.timeout) as response:
        response.read()


def deliver(settings: AlertSettings, alerts: Sequence[Alert], *, digest: bool = False) -> list[str]:
    """Send ``alerts`` on every channel; returns one sentence per channel that failed."""
    if not alerts:
        return []
    problems = []
    if settings.email is not None:
        try:
            send_email(settings.email, alerts, digest)
        except (OSError, smtplib.SMTPException) as exc:
            problems.append(f"e-mail via {settings.email.smtp_host} failed: {_said(exc)}")
    for hook in settings.webhooks:
        try:
            send_webhook(hook, alerts, digest)
        except (OSError, ValueError, urllib.error.URLError) as exc:
            secret = hook.url or (os.environ.get(hook.url_env or "") or None)
            problems.append(f"{hook.kind} webhook failed: {scrub_secret(_said(exc), secret)}")
    return problems


def _said(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
