"""Building the agent from a config: the detector, the publisher's settings."""

from __future__ import annotations

from pathlib import Path

from edge_agent.agent.assemble import build_agent, publisher_settings
from edge_agent.agent.config_loader import load_config
from tests.edge_agent.agent.conftest import ConfigWriter


def test_an_unset_detector_is_the_manifest_default_with_its_tuned_thresholds(
    write_config: ConfigWriter, tmp_path: Path, models_dir: Path
) -> None:
    agent = build_agent(load_config(write_config(tmp_path / "v.mp4")), models_dir=models_dir)
    detector = agent.parts.make_detector()
    try:
        assert detector.name == "yolox_nano"
        assert len(set(detector.thresholds.values())) > 1  # type: ignore[attr-defined]
    finally:
        detector.close()
        agent.parts.outbox.close()  # type: ignore[union-attr]


def test_a_threshold_in_the_config_applies_to_every_label(
    write_config: ConfigWriter, tmp_path: Path, models_dir: Path
) -> None:
    path = write_config(
        tmp_path / "v.mp4", detector={"model": "ssd_mobilenet_v2", "score_threshold": 0.5}
    )
    agent = build_agent(load_config(path), models_dir=models_dir)
    detector = agent.parts.make_detector()
    try:
        assert detector.name == "ssd_mobilenet_v2"
        assert set(detector.thresholds.values()) == {0.5}  # type: ignore[attr-defined]
    finally:
        detector.close()
        agent.parts.outbox.close()  # type: ignore[union-attr]


def test_publisher_settings_follow_the_mqtt_section(
    write_config: ConfigWriter, tmp_path: Path
) -> None:
    password = tmp_path / "mqtt.pass"
    password.write_text("s3cret\n")
    mqtt = {
        "host": "broker.example",
        "port": 8883,
        "tls": True,
        "username": "cam-test-01",
        "password_file": str(password),
        "chunk_size": 131072,
    }
    settings = publisher_settings(load_config(write_config(tmp_path / "v.mp4", mqtt=mqtt)))
    assert (settings.host, settings.port, settings.username) == (
        "broker.example",
        8883,
        "cam-test-01",
    )
    assert settings.password == "s3cret"
    assert settings.ca_file is not None  # TLS on, with the system's CA bundle
    assert settings.chunk_size == 131072
