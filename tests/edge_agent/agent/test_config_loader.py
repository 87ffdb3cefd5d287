"""The YAML config is validated whole at start; `--validate-config` names the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.agent.cli import run
from edge_agent.agent.config_loader import ConfigError, load_config, parse_config
from tests.edge_agent.agent.conftest import ConfigWriter
from trafficwatch.cli import main as trafficwatch

MINIMAL = """
device:
  id: cam-001
  site_id: dh-ltk-thd
  camera_id: north
  location: {lat: 17.47, lon: 106.62}
camera:
  source: rtsp://10.0.0.5/stream
rules:
  enabled: []
"""


def test_a_minimal_config_loads_with_documented_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.device.id == "cam-001"
    assert config.detector.every_nth_frame == 1
    assert config.health.heartbeat_s == 30


def test_an_unknown_key_is_named_with_its_full_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL.replace("  source:", "  sourse:"))
    assert any(p.startswith("camera.sourse: khóa không được phép") for p in caught.value.problems)
    assert any(p.startswith("camera.source: thiếu trường") for p in caught.value.problems)


def test_a_bad_value_is_named_with_its_full_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL + "detector:\n  every_nth_frame: 0\n")
    assert [p.split(":")[0] for p in caught.value.problems] == ["detector.every_nth_frame"]


def test_broken_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL + "camera: [unclosed\n")
    assert "dòng 12" in caught.value.problems[0] and "YAML" in caught.value.problems[0]


def test_an_empty_or_missing_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty"):
        load_config(empty)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_validate_config_says_valid_and_exits_zero(
    write_config: ConfigWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "video.mp4")
    assert run(["--config", str(path), "--validate-config"]) == 0
    assert "cấu hình hợp lệ / config is valid" in capsys.readouterr().out


def test_validate_config_through_the_trafficwatch_command_names_the_bad_key(
    write_config: ConfigWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "video.mp4", health={"heartbeat_seconds": 5})
    code = trafficwatch(["agent", "run", "--config", str(path), "--validate-config"])
    err = capsys.readouterr().err
    assert code == 2
    assert "cấu hình không hợp lệ / invalid config" in err
    assert "health.heartbeat_seconds: khóa không được phép (unknown key)" in err


def test_a_missing_server_key_stops_the_agent_at_start(
    write_config: ConfigWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        tmp_path / "video.mp4", keys={"server_public_key": str(tmp_path / "nope.pem")}
    )
    assert run(["--config", str(path)]) == 2
    assert "keys.server_public_key" in capsys.readouterr().err
