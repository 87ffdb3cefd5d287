"""`provision config`: write and edit the box's YAML, never saving what the agent would refuse."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edge_agent.agent.config_loader import load_config
from provisioning.config_edit import expects_text, parse_key
from provisioning.errors import ProvisionError
from tests.provisioning.conftest import Provision

MINIMAL = {
    "device": {
        "id": "dh-cam-001",
        "site_id": "dong-hoi-01",
        "camera_id": "north",
        "location": {"lat": 17.4683, "lon": 106.6229},
    },
    "camera": {"source": "rtsp://10.0.0.5/stream1"},
    "rules": {"enabled": []},
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(MINIMAL, allow_unicode=True))
    return path


def test_set_writes_a_valid_config_the_agent_reads(provision: Provision, config_file: Path) -> None:
    result = provision(
        "config",
        "--config",
        config_file,
        "--set",
        "camera.source=rtsp://admin:pass@10.0.0.7:554/h264",
        "--set",
        "camera.fps=12.5",
        "--set",
        "detector.every_nth_frame=2",
        "--json",
    )
    assert result.code == 0, result.err
    assert result.json["changed"] == ["camera.source", "camera.fps", "detector.every_nth_frame"]
    config = load_config(config_file)
    assert config.camera.source == "rtsp://admin:pass@10.0.0.7:554/h264"
    assert (config.camera.fps, config.detector.every_nth_frame) == (12.5, 2)
    assert result.json["archived"] is False and "not enrolled" in result.json["warnings"][0]


def test_an_unknown_key_is_named_and_nothing_is_written(
    provision: Provision, config_file: Path
) -> None:
    before = config_file.read_text()
    result = provision("config", "--config", config_file, "--set", "camera.sourse=x")
    assert result.code == 2
    assert "camera.sourse: khóa không được phép (unknown key)" in result.err
    assert config_file.read_text() == before


def test_a_bad_value_is_named_with_its_reason(provision: Provision, config_file: Path) -> None:
    result = provision("config", "--config", config_file, "--set", "camera.fps=0")
    assert result.code == 2
    assert "camera.fps:" in result.err and "greater than 0" in result.err


def test_enabling_a_rule_says_which_calibration_it_needs(
    provision: Provision, config_file: Path
) -> None:
    result = provision(
        "config", "--config", config_file, "--set", "rules.enabled=[red_light, solid_line]"
    )
    assert result.code == 2
    needs = "calibration.stop_line: cần cho luật red_light (required by rule red_light)"
    assert needs in result.err
    assert "calibration.solid_lines" in result.err


def test_a_usb_camera_number_stays_text_and_lists_take_indexes(
    provision: Provision, config_file: Path
) -> None:
    assert provision("config", "--config", config_file, "--set", "camera.source=0").code == 0
    lane = "{id: l1, polygon: [[0, 1080], [900, 1080], [900, 500]]}"
    assert (
        provision("config", "--config", config_file, "--set", f"calibration.lanes[0]={lane}").code
        == 0
    )
    result = provision(
        "config", "--config", config_file, "--set", "calibration.lanes[0].direction_deg=270"
    )
    assert result.code == 0, result.err
    config = load_config(config_file)
    assert config.camera.source == "0"
    assert config.calibration.lanes[0].direction_deg == 270
    assert provision("config", "--config", config_file, "--unset", "calibration.lanes[0]").code == 0
    assert load_config(config_file).calibration.lanes == []


def test_without_changes_it_validates_and_shows(provision: Provision, config_file: Path) -> None:
    result = provision("config", "--config", config_file, "--show")
    assert result.code == 0
    assert "camera:\n  source: rtsp://10.0.0.5/stream1\n" in result.out
    broken = config_file.with_name("broken.yaml")
    broken.write_text("camera: [unclosed\n")
    failed = provision("config", "--config", broken)
    assert failed.code == 2 and "YAML" in failed.err


def test_a_whole_config_can_come_from_a_file(provision: Provision, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(MINIMAL))
    target = tmp_path / "etc" / "config.yaml"
    result = provision(
        "config", "--config", target, "--from", template, "--set", "device.id=dh-cam-002"
    )
    assert result.code == 0, result.err
    assert load_config(target).device.id == "dh-cam-002"
    assert (target.stat().st_mode & 0o777) == 0o640


def test_keys_and_text_fields_are_read_from_the_schema() -> None:
    assert parse_key("calibration.lanes[0].polygon") == ["calibration", "lanes", 0, "polygon"]
    assert parse_key("calibration.lanes.1.id") == ["calibration", "lanes", 1, "id"]
    assert expects_text(["camera", "source"]) and expects_text(["mqtt", "password_file"])
    assert not expects_text(["camera", "fps"]) and not expects_text(["rules", "enabled"])
    with pytest.raises(ProvisionError):
        parse_key("[0].x")
