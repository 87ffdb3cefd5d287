"""Delivery over real sockets: an SMTP server and a webhook endpoint run by the test."""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import SecretStr

from central_server.alerts.delivery import OK, channels_from_settings, deliver
from central_server.alerts.schemas import Alert, AlertKind, Notice
from central_server.settings import Settings
from tests.central_server.alerts.sinks import smtp_sink, webhook_sink

AT = datetime(2026, 3, 2, 1, 15, tzinfo=timezone.utc)  # 08:15 in Vietnam
DISK = Alert(
    AlertKind.disk_nearly_full,
    "Đĩa lưu bằng chứng /srv/evidence đã dùng 93,1 % (còn 12,3 GB trống).",
    "Evidence disk /srv/evidence is 93.1 % full (12.3 GB free).",
    detail={"used_pct": 93.1},
)
NOTICE = Notice(AT, (DISK,), ("device_offline:dh-cam-007",), site="tw-centre")


def _settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **overrides)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_email_reaches_the_smtp_server_vietnamese_first() -> None:
    with smtp_sink() as sink:
        settings = _settings(
            alert_email_to="it@donghoi.gov.vn, truc-ban@donghoi.gov.vn",
            alert_email_from="trafficwatch@donghoi.gov.vn",
            alert_smtp_host=sink.host,
            alert_smtp_port=sink.port,
            alert_smtp_security="none",
        )
        assert deliver(NOTICE, channels_from_settings(settings)) == {"email": OK}

    (message,) = sink.messages
    assert sink.recipients == [["it@donghoi.gov.vn", "truc-ban@donghoi.gov.vn"]]
    assert message["From"] == "trafficwatch@donghoi.gov.vn"
    assert message["Subject"].startswith("[trafficwatch tw-centre] Cảnh báo: 1 mới, 1 đã hết")
    body = message.get_content()
    assert "02/03/2026 08:15" in body  # Vietnam time, dd/mm/yyyy HH:MM
    assert body.index("đã dùng 93,1 %") < body.index("93.1 % full")
    assert "Thiết bị mất kết nối / device offline: dh-cam-007" in body


def test_a_webhook_gets_the_notice_as_json_with_its_token() -> None:
    with webhook_sink() as sink:
        settings = _settings(
            alert_webhook_url=sink.url, alert_webhook_token=SecretStr("hook-secret")
        )
        assert deliver(NOTICE, channels_from_settings(settings)) == {"webhook": OK}

    (call,) = sink.calls
    assert call["headers"]["Authorization"] == "Bearer hook-secret"
    body = call["json"]
    assert body["fired"][0]["key"] == "disk_nearly_full"
    assert body["fired"][0]["message_vi"].startswith("Đĩa lưu bằng chứng")
    assert body["cleared"] == ["device_offline:dh-cam-007"]
    assert body["at"] == AT.isoformat()


def test_one_dead_channel_does_not_silence_the_other() -> None:
    with webhook_sink() as hook:
        settings = _settings(
            alert_email_to="it@donghoi.gov.vn",
            alert_smtp_host="127.0.0.1",
            alert_smtp_port=_closed_port(),
            alert_smtp_security="none",
            alert_timeout_s=2,
            alert_webhook_url=hook.url,
        )
        hook.answers = [500]
        first = deliver(NOTICE, channels_from_settings(settings))
        second = deliver(NOTICE, channels_from_settings(settings))

    assert first["email"].startswith("ConnectionRefusedError")
    assert first["webhook"].startswith("HTTPError") and "500" in first["webhook"]
    assert second["webhook"] == OK
    assert len(hook.calls) == 2


def test_no_channel_configured_means_none() -> None:
    assert channels_from_settings(_settings()) == []


def test_recipients_without_a_mail_server_are_reported_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert channels_from_settings(_settings(alert_email_to="it@donghoi.gov.vn")) == []
    assert "TW_ALERT_SMTP_HOST is not" in caplog.text
