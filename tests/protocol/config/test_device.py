"""The box's config: a minimal YAML works, bad keys are named by path, rules need calibration."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from protocol.config import (
    DeviceConfig,
    SignedConfig,
    calibration_sha256,
    config_sha256,
    format_config_errors,
    open_config,
    seal_config,
)
from protocol.enums import BehaviourCode, SignalSource
from protocol.errors import SignatureError
from protocol.keys import Ed25519PrivateKey
from tests.factories import FIXED_TIME, make_device_config, minimal_config_dict

MINIMAL_YAML = """
device:
  id: dh-cam-001
  site_id: dong-hoi-01
  camera_id: north
  location: {lat: 17.4689, lon: 106.6223}
camera:
  source: rtsp://192.0.2.10/stream1
calibration:
  stop_line: [[100, 600], [1800, 640]]
  light_region: {box: [900, 40, 940, 140]}
"""


def errors_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        DeviceConfig.model_validate(data)
    return format_config_errors(caught.value)


def test_minimal_yaml_validates_with_sane_defaults() -> None:
    config = DeviceConfig.model_validate(yaml.safe_load(MINIMAL_YAML))
    assert config.mqtt.topic_prefix == "tw/v1"
    assert config.mqtt.chunk_size == 262144
    assert config.evidence.pre_roll_s == 2 and config.evidence.post_roll_s == 3
    assert config.rules.enabled == [BehaviourCode.red_light]
    assert BehaviourCode.no_helmet in config.rules.experimental
    assert BehaviourCode.no_helmet not in config.rules.enabled
    assert config.signal.source is SignalSource.classifier


def test_unknown_key_is_named_by_its_path() -> None:
    data = minimal_config_dict()
    data["mqtt"] = {"hots": "broker.local"}
    data["calibration"]["lanes"] = [
        {"id": "l1", "polygon": [[0, 0], [100, 0], [100, 100]], "colour": "red"}
    ]
    assert errors_of(data) == [
        "mqtt.hots: khóa không được phép (unknown key)",
        "calibration.lanes[0].colour: khóa không được phép (unknown key)",
    ]


def test_missing_key_and_bad_range_are_named() -> None:
    data = minimal_config_dict()
    del data["device"]["site_id"]
    data["evidence"] = {"jpeg_quality": 101}
    lines = errors_of(data)
    assert "device.site_id: thiếu trường bắt buộc (missing field)" in lines
    assert any(line.startswith("evidence.jpeg_quality:") for line in lines)


def test_enabled_rules_need_their_calibration() -> None:
    data = minimal_config_dict()
    data["rules"] = {"enabled": ["red_light", "solid_line", "wrong_way"]}
    (line,) = errors_of(data)
    assert "calibration.solid_lines: cần cho luật solid_line" in line
    assert "calibration.lanes: cần cho luật wrong_way" in line


def test_red_light_with_a_classifier_needs_the_light_region() -> None:
    data = minimal_config_dict()
    del data["calibration"]["light_region"]
    assert "calibration.light_region" in errors_of(data)[0]
    data["signal"] = {
        "source": "fixed_plan",
        "fixed_plan": {
            "cycle_s": 60,
            "phases": [
                {"colour": "green", "duration_s": 27},
                {"colour": "amber", "duration_s": 3},
                {"colour": "red", "duration_s": 30},
            ],
        },
    }
    assert DeviceConfig.model_validate(data).signal.fixed_plan is not None


def test_points_must_lie_in_the_camera_frame() -> None:
    data = minimal_config_dict()
    data["calibration"]["stop_line"] = [[100, 600], [2500, 640]]
    assert errors_of(data)[0].startswith("calibration.stop_line[1]: điểm (2500.0, 640.0)")


def test_mqtt_consistency() -> None:
    data = minimal_config_dict()
    data["mqtt"] = {"cert_file": "/etc/tw/client.pem"}
    assert "key_file" in errors_of(data)[0]
    data["mqtt"] = {"reconnect_min_s": 60, "reconnect_max_s": 5}
    assert "reconnect_min_s" in errors_of(data)[0]
    data["mqtt"] = {"topic_prefix": "tw/+"}
    assert errors_of(data)[0].startswith("mqtt.topic_prefix:")


def test_config_hash_is_stable_and_sensitive() -> None:
    config = make_device_config()
    assert config_sha256(config) == config_sha256(make_device_config())
    other = make_device_config(evidence={"jpeg_quality": 81})
    assert config_sha256(other) != config_sha256(config)
    assert calibration_sha256(other.calibration) == calibration_sha256(config.calibration)
    assert len(config_sha256(config)) == 64


def test_signed_config_round_trip(
    server_key: Ed25519PrivateKey, device_key: Ed25519PrivateKey
) -> None:
    signed = SignedConfig(
        device_id="dh-cam-001", version=3, issued_at=FIXED_TIME, config=make_device_config()
    )
    assert open_config(seal_config(signed, server_key), server_key.public_key()) == signed
    with pytest.raises(SignatureError):
        open_config(seal_config(signed, device_key), server_key.public_key())
    with pytest.raises(ValueError, match="device_id"):
        SignedConfig(
            device_id="dh-cam-002", version=1, issued_at=FIXED_TIME, config=make_device_config()
        )
