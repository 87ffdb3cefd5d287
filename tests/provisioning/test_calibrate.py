"""`provision calibrate`: geometry from flags or YAML, drawn on a snapshot, stored, archived."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from edge_agent.agent.config_loader import load_config
from protocol.config import calibration_sha256
from provisioning.calibrate import parse_lane, parse_points
from provisioning.errors import ProvisionError
from tests.provisioning.conftest import Provision

WIDTH, HEIGHT = 320, 240


@pytest.fixture
def config_file(tmp_path: Path, camera_clip: Path) -> Path:
    path = tmp_path / "config.yaml"
    data = {
        "device": {
            "id": "dh-cam-001",
            "site_id": "dong-hoi-01",
            "camera_id": "north",
            "location": {"lat": 17.4683, "lon": 106.6229},
        },
        "camera": {
            "kind": "file",
            "source": str(camera_clip),
            "width": WIDTH,
            "height": HEIGHT,
            "realtime": False,
        },
        "rules": {"enabled": []},
    }
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "snapshot.png"
    cv2.imwrite(str(path), np.full((HEIGHT, WIDTH, 3), 100, dtype=np.uint8))
    return path


GEOMETRY = (
    "--stop-line",
    "20,200 300,200",
    "--lane",
    "l1: 20,239 150,239 150,120 60,120 | classes=car,truck | direction=270 | one_way",
    "--lane",
    "l2: 160,239 300,239 260,120 160,120 | classes=motorbike",
    "--solid-line",
    "s1: 155,239 155,120",
    "--light",
    "280,10,300,60",
    "--rules",
    "red_light,solid_line,wrong_way",
)


def test_flags_are_drawn_on_the_picture_and_stored(
    provision: Provision, config_file: Path, picture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "check.png"
    result = provision(
        "calibrate",
        "--config",
        config_file,
        "--image",
        picture,
        "--output",
        out,
        *GEOMETRY,
        "--json",
    )
    assert result.code == 0, result.err
    drawn = cv2.imread(str(out))
    assert drawn is not None and drawn.shape == (HEIGHT, WIDTH, 3)
    b, g, r = (int(v) for v in drawn[200, 100])
    assert r > 200 and g < 80 and b < 80  # the stop line is red where it was put
    assert tuple(drawn[5, 5]) == (100, 100, 100)  # untouched outside the geometry
    config = load_config(config_file)
    calibration = config.calibration
    assert calibration.stop_line == ((20, 200), (300, 200))
    assert [lane.id for lane in calibration.lanes] == ["l1", "l2"]
    assert calibration.lanes[0].one_way and calibration.lanes[0].direction_deg == 270
    assert [c.value for c in calibration.lanes[1].allowed_classes] == ["motorbike"]
    assert calibration.light_region is not None
    assert [code.value for code in config.rules.enabled] == ["red_light", "solid_line", "wrong_way"]
    assert result.json["calibration_sha256"] == calibration_sha256(calibration)
    assert result.json["stored"] is True and result.json["archived"] is False


def test_a_snapshot_comes_from_the_camera_and_a_yaml_file_gives_the_geometry(
    provision: Provision, config_file: Path, tmp_path: Path
) -> None:
    geometry = tmp_path / "calibration.yaml"
    geometry.write_text(
        yaml.safe_dump({"calibration": {"stop_line": [[10, 150], [310, 150]], "grace_s": 0.8}})
    )
    result = provision("calibrate", "--config", config_file, "--from-yaml", geometry, "--json")
    assert result.code == 0, result.err
    png = cv2.imread(result.json["png"])
    assert png is not None and png.shape == (HEIGHT, WIDTH, 3)
    assert load_config(config_file).calibration.grace_s == 0.8


def test_a_point_outside_the_frame_is_named_and_nothing_is_stored(
    provision: Provision, config_file: Path, picture: Path
) -> None:
    before = config_file.read_text()
    result = provision(
        "calibrate", "--config", config_file, "--image", picture, "--stop-line", "20,200 900,200"
    )
    assert result.code == 2
    assert "calibration.stop_line[1]: điểm (900.0, 200.0) nằm ngoài khung hình 320×240" in (
        result.err
    )
    assert config_file.read_text() == before


def test_a_dry_run_draws_but_stores_nothing(
    provision: Provision, config_file: Path, picture: Path, tmp_path: Path
) -> None:
    before = config_file.read_text()
    out = tmp_path / "dry.png"
    result = provision(
        "calibrate",
        "--config",
        config_file,
        "--image",
        picture,
        "--output",
        out,
        "--stop-line",
        "20,200 300,200",
        "--dry-run",
    )
    assert result.code == 0, result.err
    assert out.exists() and config_file.read_text() == before


def test_a_camera_that_does_not_open_says_so(
    provision: Provision, config_file: Path, tmp_path: Path
) -> None:
    assert (
        provision(
            "config", "--config", config_file, "--set", f"camera.source={tmp_path / 'none.mp4'}"
        ).code
        == 0
    )
    result = provision("calibrate", "--config", config_file, "--stop-line", "20,200 300,200")
    assert result.code == 69
    assert "no frame from the camera" in result.err and "--image" in result.err


def test_flag_syntax_errors_show_an_example() -> None:
    assert parse_points("1,2 3,4;5,6", "--x") == [[1, 2], [3, 4], [5, 6]]
    assert parse_lane("a: 0,0 10,0 10,10 | no_lane_change")["lane_change_allowed"] is False
    with pytest.raises(ProvisionError) as bad:
        parse_lane("0,0 10,0 10,10")
    assert "ID:" in bad.value.message and "--lane" in bad.value.fix
    with pytest.raises(ProvisionError):
        parse_lane("a: 0,0 10,0 10,10 | colour=red")
