"""The broker answers and accepts the box's credentials (an MQTT CONNECT and its CONNACK).

The check connects as `<device>-check` with a clean session: the agent's own client id and
persistent session (its queued acks) are left alone while it runs.
"""

from __future__ import annotations

import queue
import ssl
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from protocol.config import MqttSection
from provisioning.checks.base import CheckResult, Context, fail, ok, skip

NAME, TITLE = "broker", "Broker MQTT / broker"
_AUTH_REFUSED = {134: "bad user name or password", 135: "not authorized"}
_FIX_AUTH = (
    "Mật khẩu không khớp với máy chủ: đăng ký lại thiết bị, hoặc trung tâm cập nhật tệp mật khẩu "
    "broker (trafficwatch server broker-acl) / the broker does not know this password: enrol "
    "again, or have the centre regenerate the broker's password file"
)
_FIX_REACH = (
    "Kiểm tra mqtt.host, mqtt.port, mạng và tường lửa / check mqtt.host and mqtt.port, the "
    "network and the firewall"
)


def _password(mqtt_section: MqttSection) -> tuple[str | None, str | None]:
    """(password, problem)."""
    if mqtt_section.password_file is None:
        return None, None
    try:
        return Path(mqtt_section.password_file).read_text(encoding="utf-8").strip(), None
    except OSError as exc:
        return None, f"không đọc được mqtt.password_file / cannot read it: {exc}"


def _client(device_id: str, section: MqttSection, password: str | None) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{device_id}-check-{uuid.uuid4().hex[:6]}",
        clean_session=True,
        protocol=mqtt.MQTTv311,
    )
    if section.tls:
        ca_file = section.ca_file
        if ca_file is None:
            paths = ssl.get_default_verify_paths()
            ca_file = paths.cafile or paths.openssl_cafile
        client.tls_set(ca_certs=ca_file, certfile=section.cert_file, keyfile=section.key_file)
    if section.username is not None:
        client.username_pw_set(section.username, password)
    return client


def check_broker(ctx: Context) -> CheckResult:
    """Connect with the box's credentials and read the broker's answer."""
    if ctx.config is None:
        return skip(NAME, TITLE, "cấu hình không hợp lệ / no valid config")
    section = ctx.config.mqtt
    where = f"{section.host}:{section.port}" + (" (TLS)" if section.tls else "")
    password, problem = _password(section)
    if problem is not None:
        return fail(NAME, TITLE, problem, "Đăng ký lại / enrol again: provision enroll")
    answers: queue.Queue[ReasonCode] = queue.Queue()
    client = _client(ctx.config.device.id, section, password)
    client.on_connect = lambda _c, _u, _f, code, _p: answers.put(code)
    client.connect_timeout = ctx.options.network_timeout_s
    try:
        client.connect(section.host, section.port, keepalive=30)
    except (OSError, ValueError) as exc:
        return fail(
            NAME, TITLE, f"Không kết nối được broker / cannot reach {where}: {exc}", _FIX_REACH
        )
    client.loop_start()
    try:
        code = answers.get(timeout=ctx.options.network_timeout_s)
    except queue.Empty:
        return fail(NAME, TITLE, f"Broker không trả lời / no CONNACK from {where}", _FIX_REACH)
    finally:
        client.disconnect()
        client.loop_stop()
    if code.is_failure:
        refusal = _AUTH_REFUSED.get(int(code.value))
        if refusal is not None:
            return fail(
                NAME,
                TITLE,
                f"Broker từ chối đăng nhập / the broker refused the credentials of "
                f"{section.username}: {refusal}",
                _FIX_AUTH,
            )
        return fail(NAME, TITLE, f"Broker từ chối / refused by {where}: {code}", _FIX_REACH)
    return ok(NAME, TITLE, f"{where}: đăng nhập được / credentials accepted ({section.username})")
