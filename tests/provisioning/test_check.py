"""`provision check` on an enrolled box against real services: the API over HTTP, a Mosquitto
whose password file holds the hash the server issued, a local SNTP responder, a video camera."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlmodel import select

from central_server.devices.models_enrolment import DeviceBrokerCredential
from tests.fixtures.brokers import OwnedBrokerFactory
from tests.provisioning.conftest import Live, ModelStore, Provision, Result

pytestmark = pytest.mark.mosquitto


@dataclass
class Box:
    """An enrolled, configured, calibrated box and how to check it."""

    config: Path
    ntp: str
    models: ModelStore
    provision: Provision

    def check(self, *extra: str, ntp: str | None = None) -> Result:
        """`provision check --json` with this box's model store and NTP server."""
        return self.provision(
            "check",
            "--config",
            self.config,
            "--manifest",
            self.models.manifest,
            "--models-dir",
            self.models.models_dir,
            "--ntp-server",
            ntp or self.ntp,
            "--camera-seconds",
            "1",
            *extra,
        )


def _checks(result: Result) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in result.json["checks"]}


def _enrol(provision: Provision, live: Live, tmp_path: Path, clip: Path) -> Path:
    config = tmp_path / "etc" / "config.yaml"
    result = provision(
        "enroll",
        "--server",
        live.url,
        "--token",
        live.token(camera_id="north"),
        "--config",
        config,
        "--state-dir",
        tmp_path / "state",
        "--camera-source",
        clip,
        "--camera-kind",
        "file",
    )
    assert result.code == 0, result.err
    return config


def _broker_with_issued_password(live: Live, owned_broker: OwnedBrokerFactory, folder: Path) -> int:
    """A Mosquitto refusing anonymous users, whose password file is the server's stored hash."""
    with live.env.db.session() as session:
        credential = session.exec(select(DeviceBrokerCredential)).one()
    passwd = folder / "passwd"
    passwd.write_text(f"{credential.username}:{credential.password_hash}\n")
    passwd.chmod(0o600)
    broker = owned_broker(allow_anonymous=False, extra_config=[f"password_file {passwd}"])
    return broker.port


@pytest.fixture
def box(
    provision: Provision,
    live: Live,
    tmp_path: Path,
    camera_clip: Path,
    owned_broker: OwnedBrokerFactory,
    sntp: Callable[[float], str],
    model_store: ModelStore,
) -> Box:
    config = _enrol(provision, live, tmp_path, camera_clip)
    port = _broker_with_issued_password(live, owned_broker, tmp_path)
    settings = {
        "mqtt.port": port,
        "camera.width": 320,
        "camera.height": 240,
        # Read as fast as it decodes: whatever the machine's load, faster than the 5 fps asked.
        "camera.fps": 5,
        "camera.realtime": "false",
        "outbox.max_bytes": 16 * 1024 * 1024,
        "outbox.min_free_bytes": 0,
    }
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    assert provision("config", "--config", config, *sets).code == 0
    picture = tmp_path / "snapshot.png"
    cv2.imwrite(str(picture), np.full((240, 320, 3), 90, dtype=np.uint8))
    calibrated = provision(
        "calibrate",
        "--config",
        config,
        "--image",
        picture,
        "--stop-line",
        "10,200 310,200",
        "--light",
        "290,10,310,60",
        "--rules",
        "red_light",
    )
    assert calibrated.code == 0, calibrated.err
    return Box(config, sntp(0.0), model_store, provision)


def test_a_healthy_box_passes_every_check(box: Box) -> None:
    result = box.check("--json")
    assert result.code == 0, result.out + result.err
    checks = _checks(result)
    assert list(checks) == [
        "config",
        "keys",
        "camera",
        "models",
        "disk",
        "broker",
        "server",
        "clock",
    ]
    assert {name: c["status"] for name, c in checks.items()} == dict.fromkeys(checks, "ok")
    assert "credentials accepted" in checks["broker"]["detail"]
    assert "config archived" in checks["server"]["detail"]


def test_a_missing_camera_fails_with_its_own_message(box: Box, tmp_path: Path) -> None:
    missing = tmp_path / "unplugged.mp4"
    assert (
        box.provision("config", "--config", box.config, "--set", f"camera.source={missing}").code
        == 0
    )
    result = box.check("--json")
    assert result.code == 1
    checks = _checks(result)
    assert checks["camera"]["status"] == "fail"
    assert "cannot open the camera" in checks["camera"]["detail"]
    assert "camera.source" in checks["camera"]["fix"]
    assert [n for n, c in checks.items() if c["status"] == "fail"] == ["camera"]


def test_a_camera_slower_than_configured_fails(box: Box) -> None:
    # Replayed at its own 25 fps, the clip can never deliver the 100 fps the config expects.
    sets = ("--set", "camera.realtime=true", "--set", "camera.fps=100")
    assert box.provision("config", "--config", box.config, *sets).code == 0
    checks = _checks(box.check("--json", "--skip", "broker", "--skip", "server"))
    assert checks["camera"]["status"] == "fail"
    assert "expected 100" in checks["camera"]["detail"]


def test_a_wrong_broker_password_fails_with_its_own_message(box: Box) -> None:
    password_file = box.config.parent / "mqtt_password"
    password_file.write_text("not-the-issued-password\n")
    result = box.check("--json")
    assert result.code == 1
    checks = _checks(result)
    assert checks["broker"]["status"] == "fail"
    assert "refused the credentials" in checks["broker"]["detail"]
    assert "broker-acl" in checks["broker"]["fix"]  # Mosquitto 2 answers "not authorized"
    assert [n for n, c in checks.items() if c["status"] == "fail"] == ["broker"]


def test_a_bad_model_file_fails_with_its_own_message(box: Box) -> None:
    with box.models.model_file.open("r+b") as fh:
        fh.seek(10)
        fh.write(b"\xff")
    result = box.check("--json")
    assert result.code == 1
    checks = _checks(result)
    assert checks["models"]["status"] == "fail"
    assert "model file altered (sha256 mismatch)" in checks["models"]["detail"]
    assert "trafficwatch models install" in checks["models"]["fix"]
    assert [n for n, c in checks.items() if c["status"] == "fail"] == ["models"]


def test_a_far_off_clock_fails_with_its_own_message(box: Box, sntp: Callable[[float], str]) -> None:
    result = box.check("--json", ntp=sntp(5.0))  # the box is 5 s behind this NTP server
    assert result.code == 1
    checks = _checks(result)
    assert checks["clock"]["status"] == "fail"
    assert "the clock is off by +5.0" in checks["clock"]["detail"]
    assert "timedatectl set-ntp true" in checks["clock"]["fix"]
    assert [n for n, c in checks.items() if c["status"] == "fail"] == ["clock"]


def test_the_table_shows_the_fix_beside_each_failure(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    (box.config.parent / "mqtt_password").write_text("wrong\n")
    result = box.check("--skip", "camera")
    assert result.code == 1
    assert result.out == ""  # the table goes to stderr; stdout stays for --json
    assert "Cách sửa / fix" in result.err and "lỗi / FAIL" in result.err
    assert "broker-acl" in result.err
