"""Deliver a notice: an e-mail through the configured SMTP server, a JSON POST to a webhook.

Standard library only (`smtplib`, `urllib`): a centre's network may allow nothing but its own
mail relay, and nothing here is worth a dependency. Each channel has the same time limit; a
channel that fails is reported, never raised, so one dead channel does not silence the other.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any, Protocol

from central_server.alerts.schemas import KIND_LABELS, Notice, kind_of, local_time
from central_server.settings import Settings

logger = logging.getLogger(__name__)

OK = "ok"


class Channel(Protocol):
    """Somewhere a notice can be sent."""

    name: str

    def send(self, notice: Notice) -> None:
        """Deliver `notice`; raise on failure."""


def _label(key: str) -> str:
    kind = kind_of(key)
    label = f"{KIND_LABELS[kind][0]} / {KIND_LABELS[kind][1]}" if kind else key
    subject = key.split(":", 1)[1] if ":" in key else ""
    return f"{label}: {subject}" if subject else label


def render_text(notice: Notice) -> tuple[str, str]:
    """The e-mail's subject and plain-text body, Vietnamese first, then English."""
    subject = (
        f"[trafficwatch {notice.site}] Cảnh báo: {len(notice.fired)} mới, "
        f"{len(notice.cleared)} đã hết / alerts: {len(notice.fired)} firing, "
        f"{len(notice.cleared)} resolved"
    )
    when = local_time(notice.at)
    lines = [f"Cảnh báo lúc {when} (giờ Việt Nam) / alerts at {when} (Vietnam time)", ""]
    if notice.fired:
        lines.append("MỚI / FIRING")
        for alert in notice.fired:
            lines += [f"- {_label(alert.key)}", f"  {alert.message_vi}", f"  {alert.message_en}"]
        lines.append("")
    if notice.cleared:
        lines.append("ĐÃ HẾT / RESOLVED")
        lines += [f"- {_label(key)}" for key in notice.cleared]
        lines.append("")
    lines.append("Tài liệu / runbook: docs/operate.md, mục Cảnh báo / section Alerts.")
    return subject, "\n".join(lines) + "\n"


def render_json(notice: Notice) -> dict[str, Any]:
    """The webhook's body."""
    return {
        "source": "trafficwatch",
        "site": notice.site,
        "at": notice.at.isoformat(),
        "fired": [
            {
                "key": a.key,
                "kind": a.kind.value,
                "subject": a.subject,
                "message_vi": a.message_vi,
                "message_en": a.message_en,
                "detail": a.detail,
            }
            for a in notice.fired
        ],
        "cleared": list(notice.cleared),
    }


class EmailChannel:
    """Mail through an SMTP server (STARTTLS, implicit TLS, or a plain local relay)."""

    name = "email"

    def __init__(self, settings: Settings, recipients: Sequence[str]) -> None:
        if settings.alert_smtp_host is None:
            raise ValueError("TW_ALERT_SMTP_HOST is needed to send alert e-mail")
        self.host = settings.alert_smtp_host
        self.port = settings.alert_smtp_port
        self.security = settings.alert_smtp_security
        self.username = settings.alert_smtp_username
        self.password = settings.alert_smtp_password
        self.sender = settings.alert_email_from
        self.recipients = list(recipients)
        self.timeout = settings.alert_timeout_s

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, notice: Notice) -> None:
        """Send one message to every recipient."""
        subject, body = render_text(notice)
        message = EmailMessage()
        message["Subject"], message["From"] = subject, self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(body)
        with self._connect() as client:
            if self.username and self.password is not None:
                client.login(self.username, self.password.get_secret_value())
            client.send_message(message)


class WebhookChannel:
    """POST the notice as JSON; any 2xx answer counts as delivered."""

    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        if not settings.alert_webhook_url:
            raise ValueError("TW_ALERT_WEBHOOK_URL is empty")
        self.url = settings.alert_webhook_url
        self.token = settings.alert_webhook_token
        self.timeout = settings.alert_timeout_s

    def send(self, notice: Notice) -> None:
        """POST once; raise on a refused connection or a non-2xx answer."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        body = json.dumps(render_json(notice), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            if not 200 <= answer.status < 300:
                raise OSError(f"webhook answered {answer.status}")


def channels_from_settings(settings: Settings) -> list[Channel]:
    """The channels configured (none is allowed: firings are then only audited and logged)."""
    channels: list[Channel] = []
    recipients = [a.strip() for a in settings.alert_email_to.split(",") if a.strip()]
    if recipients and settings.alert_smtp_host is None:
        # A wrong setting must not stop the scheduler's other jobs: said loudly, left out.
        logger.error("TW_ALERT_EMAIL_TO is set but TW_ALERT_SMTP_HOST is not: no alert e-mail")
    elif recipients:
        channels.append(EmailChannel(settings, recipients))
    if settings.alert_webhook_url:
        channels.append(WebhookChannel(settings))
    return channels


def deliver(notice: Notice, channels: Sequence[Channel]) -> dict[str, str]:
    """Send on every channel; each channel's outcome (`ok` or the error)."""
    outcome: dict[str, str] = {}
    for channel in channels:
        try:
            channel.send(notice)
        except Exception as exc:  # any failure of one channel must not stop the others
            logger.error("alert delivery by %s failed: %s", channel.name, exc)
            outcome[channel.name] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            outcome[channel.name] = OK
    return outcome
