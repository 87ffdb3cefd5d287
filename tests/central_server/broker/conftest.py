"""Fixtures for the broker-security tests: enrolled boxes with credentials, the generated files,
and a real Mosquitto started with exactly those files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from central_server.broker.cli import main
from central_server.broker.passwords import hash_password
from central_server.devices.models_enrolment import DeviceBrokerCredential
from central_server.settings import Settings
from tests.factories_db import make_device, make_device_key
from tests.fixtures.brokers import MqttTestClient, OwnedMosquitto, find_mosquitto, free_port
from tests.fixtures.db import Database

BOX_A, BOX_B, REVOKED = "dh-cam-001", "dh-cam-002", "dh-cam-003"
PASSWORDS = {
    BOX_A: "a-random-box-password-aaaaaaaaaaaa",
    BOX_B: "a-random-box-password-bbbbbbbbbbbb",
    REVOKED: "a-random-box-password-cccccccccccc",
    "ingest": "ingest-password-0123456789",
    "control": "control-password-0123456789",
}
WAIT_S = 10.0


def enrol_boxes(db: Database) -> None:
    """Boxes A and B in service, and a revoked one, each with a broker credential."""
    with db.session() as session:
        for device_id in (BOX_A, BOX_B, REVOKED):
            revoked = datetime(2026, 1, 1, tzinfo=timezone.utc) if device_id == REVOKED else None
            make_device(session, id=device_id, revoked_at=revoked)
            make_device_key(session, device_id=device_id)
            hashed = hash_password(PASSWORDS[device_id]).mosquitto()
            session.add(
                DeviceBrokerCredential(
                    device_id=device_id, username=device_id, password_hash=hashed
                )
            )


def broker_settings(db: Database, tmp_path: Path) -> Settings:
    """Server settings with the ingest's broker login and a shared-subscription group."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=db.url,
        mqtt_username="ingest",
        mqtt_password=PASSWORDS["ingest"],
        ingest_shared_group="ingest",
    )


@pytest.fixture(autouse=True)
def _control_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_CONTROL_MQTT_PASSWORD", PASSWORDS["control"])


class GeneratedMosquitto(OwnedMosquitto):
    """Mosquitto run on the generated mosquitto.conf, plus only logging lines of the test's."""

    def __init__(self, binary: str, workdir: Path, conf: Path, port: int, tls_port: int) -> None:
        self._conf, self._ports = conf, (port, tls_port)
        super().__init__(binary, workdir)

    def _config_lines(self) -> list[str]:
        self.port, self.tls_port = self._ports
        lines = [f"log_dest file {self.log_path}", "connection_messages true", "persistence false"]
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to `mosquitto`, locked out of tmp
        return lines + self._conf.read_text(encoding="utf-8").splitlines()


@dataclass(frozen=True)
class SecuredBroker:
    """A running Mosquitto on the generated files."""

    process: GeneratedMosquitto
    out: Path

    def client(
        self, name: str, username: str | None = None, password: str | None = None
    ) -> MqttTestClient:
        """A client logging in as `username` (its own password unless given; None: anonymous)."""
        client = MqttTestClient(self.process.host, self.process.port, f"t-{name}")
        if username is not None:
            client.paho.username_pw_set(username, password or PASSWORDS[username])
        return client

    def connected(self, username: str) -> MqttTestClient:
        """A client logged in as `username`, connected (the CONNACK checked)."""
        client = self.client(username, username)
        code: ReasonCode = client.connect(timeout=WAIT_S)
        assert not code.is_failure, f"{username}: {code}"
        return client


@pytest.fixture
def secured(db: Database, tmp_path: Path) -> Iterator[SecuredBroker]:
    """Generate the Mosquitto files for the test's boxes (with the CA) and start the broker."""
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("mosquitto binary not found: apt-get install mosquitto")
    enrol_boxes(db)
    out = tmp_path / "broker"
    port, tls_port = free_port(), free_port()
    argv = ["--format", "mosquitto", "--out", str(out), "--ca", "--hostname", "127.0.0.1"]
    argv += ["--tls-listener", f"127.0.0.1:{tls_port}", "--plain-listener", f"127.0.0.1:{port}"]
    assert main(argv, settings=broker_settings(db, tmp_path)) == 0
    process = GeneratedMosquitto(
        binary, tmp_path / "mosquitto", out / "mosquitto.conf", port, tls_port
    )
    process.start()
    try:
        yield SecuredBroker(process, out)
    finally:
        process.stop()
