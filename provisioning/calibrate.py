"""`provision calibrate`: the stop line, lanes, solid lines and light region, from flags or a YAML
file, checked against the schema and the camera frame, stored in the config.

Flags, in camera-frame pixels (x right, y down; angles in image degrees, 90 = down):
  --stop-line "x1,y1 x2,y2"
  --lane "ID: x,y x,y x,y [| classes=car,motorbike] [| direction=270] [| one_way]
          [| right_turn_on_red] [| no_lane_change]"       (repeat per lane)
  --solid-line "ID: x,y x,y [x,y ...]"                     (repeat per line)
  --light "x1,y1,x2,y2 [| horizontal]"
A YAML file holds the `calibration` section itself (or a mapping with a `calibration` key).
Flags win over the file, which wins over what the config had; lanes or solid lines given by flag
replace the whole list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from edge_agent.agent.config_loader import ConfigError
from edge_agent.capture import Image
from protocol.config import CameraSection, calibration_sha256, config_sha256
from provisioning import config_edit
from provisioning.archive import upload_if_enrolled
from provisioning.camera import snapshot
from provisioning.errors import CANT_CREATE, NOT_CONFIGURED, USAGE, ProvisionError
from provisioning.render import render, write_png

_NUMBER = r"-?\d+(?:\.\d+)?"
_COORDS = re.compile(r"[\d\s,;.\-]*")


@dataclass(frozen=True)
class CalibrationFlags:
    """The geometry the technician typed (None / empty: not given)."""

    from_yaml: Path | None = None
    stop_line: str | None = None
    stop_direction_deg: float | None = None
    lanes: list[str] = field(default_factory=list)
    solid_lines: list[str] = field(default_factory=list)
    light: str | None = None


def _bad(flag: str, text: str, why: str) -> ProvisionError:
    return ProvisionError(USAGE, f"{flag} {text!r}: {why}", _FIX.get(flag, ""))


_FIX = {
    "--stop-line": '--stop-line "100,900 1800,900"',
    "--lane": '--lane "l1: 100,1080 900,1080 900,500 400,500 | classes=car | direction=270"',
    "--solid-line": '--solid-line "s1: 960,1080 960,400"',
    "--light": '--light "1700,80,1760,240"',
}


def parse_points(text: str, flag: str) -> list[list[float]]:
    """`"x,y x,y"` (commas, spaces or semicolons between numbers) → [[x, y], ...]."""
    if not _COORDS.fullmatch(text):
        raise _bad(flag, text, "chỉ gồm số x,y / only x,y numbers")
    numbers = [float(n) for n in re.findall(_NUMBER, text)]
    if not numbers or len(numbers) % 2:
        raise _bad(flag, text, "cần các cặp x,y / needs x,y pairs")
    return [numbers[i : i + 2] for i in range(0, len(numbers), 2)]


def parse_stop_line(text: str) -> list[list[float]]:
    """Two points: `"x1,y1 x2,y2"` or `x1,y1,x2,y2`."""
    points = parse_points(text, "--stop-line")
    if len(points) != 2:
        raise _bad("--stop-line", text, "cần đúng hai điểm / needs exactly two points")
    return points


def _named(text: str, flag: str) -> tuple[str, str, list[str]]:
    head, *options = [part.strip() for part in text.split("|")]
    name, sep, coords = head.partition(":")
    if not sep or not name.strip():
        raise _bad(flag, text, "thiếu mã / missing 'ID:' before the points")
    return name.strip(), coords, options


def parse_lane(text: str) -> dict[str, Any]:
    """One `--lane` flag as a `Lane` mapping."""
    name, coords, options = _named(text, "--lane")
    lane: dict[str, Any] = {"id": name, "polygon": parse_points(coords, "--lane")}
    for option in options:
        key, sep, value = option.partition("=")
        key = key.strip().replace("-", "_")
        if key == "classes" and sep:
            lane["allowed_classes"] = [c.strip() for c in value.split(",") if c.strip()]
        elif key == "direction" and sep:
            lane["direction_deg"] = float(value)
        elif key in ("one_way", "right_turn_on_red") and not sep:
            lane[key] = True
        elif key == "no_lane_change" and not sep:
            lane["lane_change_allowed"] = False
        else:
            raise _bad("--lane", text, f"tùy chọn không rõ / unknown option {option!r}")
    return lane


def parse_solid_line(text: str) -> dict[str, Any]:
    """One `--solid-line` flag as a `SolidLine` mapping."""
    name, coords, options = _named(text, "--solid-line")
    if options:
        raise _bad("--solid-line", text, "không có tùy chọn / takes no options")
    return {"id": name, "points": parse_points(coords, "--solid-line")}


def parse_light(text: str) -> dict[str, Any]:
    """`x1,y1,x2,y2 [| horizontal]` as a `LightRegion` mapping."""
    box_text, *options = [part.strip() for part in text.split("|")]
    numbers = [float(n) for n in re.findall(_NUMBER, box_text)]
    if len(numbers) != 4:
        raise _bad("--light", text, "cần x1,y1,x2,y2 / needs x1,y1,x2,y2")
    region: dict[str, Any] = {"box": numbers}
    for option in options:
        if option not in ("vertical", "horizontal"):
            raise _bad("--light", text, f"bố trí / layout {option!r}: vertical, horizontal")
        region["layout"] = option
    return region


def _from_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProvisionError(USAGE, f"Không đọc được / cannot read {path}: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("calibration"), dict):
        data = data["calibration"]
    if not isinstance(data, dict):
        raise ProvisionError(USAGE, f"{path}: cần bảng khóa calibration / needs a mapping")
    return data


def merged_calibration(current: dict[str, Any], flags: CalibrationFlags) -> dict[str, Any]:
    """The calibration mapping: the config's, then the YAML file's, then the flags'."""
    calibration = dict(current)
    if flags.from_yaml is not None:
        calibration = _from_yaml(flags.from_yaml)
    if flags.stop_line is not None:
        calibration["stop_line"] = parse_stop_line(flags.stop_line)
    if flags.stop_direction_deg is not None:
        calibration["stop_line_direction_deg"] = flags.stop_direction_deg
    if flags.lanes:
        calibration["lanes"] = [parse_lane(text) for text in flags.lanes]
    if flags.solid_lines:
        calibration["solid_lines"] = [parse_solid_line(text) for text in flags.solid_lines]
    if flags.light is not None:
        calibration["light_region"] = parse_light(flags.light)
    return calibration


def parse_rules(text: str) -> list[str]:
    """`red_light,solid_line` → the list `rules.enabled` takes (validated with the config)."""
    return [code.strip() for code in text.split(",") if code.strip()]


@dataclass(frozen=True)
class CalibrationRun:
    """One `calibrate` invocation."""

    config_path: Path
    flags: CalibrationFlags
    rules: list[str] | None = None
    image: Path | None = None
    output: Path | None = None
    dry_run: bool = False


def _image(run: CalibrationRun, camera: CameraSection) -> Image:
    if run.image is None:
        return snapshot(camera)
    image = cv2.imread(str(run.image), cv2.IMREAD_COLOR)
    if image is None:
        raise ProvisionError(USAGE, f"Không đọc được ảnh / cannot read the image {run.image}")
    return np.asarray(image, dtype=np.uint8)


def calibrate(run: CalibrationRun) -> dict[str, Any]:
    """Validate the calibration, draw it on a snapshot, store it and archive the config."""
    data = config_edit.load_raw(run.config_path)
    if not data:
        raise ProvisionError(
            NOT_CONFIGURED,
            f"Chưa có cấu hình / no config at {run.config_path}",
            "trafficwatch provision enroll (or provision config) first",
        )
    data["calibration"] = merged_calibration(data.get("calibration") or {}, run.flags)
    if run.rules is not None:
        config_edit.set_value(data, ["rules", "enabled"], run.rules)
    try:
        config = config_edit.validate(data, run.config_path)
    except ConfigError as exc:
        raise ProvisionError(USAGE, "; ".join(exc.problems)) from exc
    image = _image(run, config.camera)
    frame = (config.camera.width, config.camera.height)
    warnings = []
    if (image.shape[1], image.shape[0]) != frame:
        warnings.append(
            f"ảnh {image.shape[1]}×{image.shape[0]} khác khung cấu hình {frame[0]}×{frame[1]}: "
            "tọa độ được co giãn để vẽ / the picture's size differs from camera.width×height; "
            "drawing scaled — check camera.width/height"
        )
    output = run.output or run.config_path.parent / "calibration.png"
    if not write_png(str(output), render(image, config.calibration, frame)):
        raise ProvisionError(CANT_CREATE, f"Không ghi được ảnh / cannot write {output}")
    archived = None
    if not run.dry_run:
        config = config_edit.save(run.config_path, data)
        archived, warning = upload_if_enrolled(config, run.config_path)
        warnings += [warning] if warning else []
    return {
        "png": str(output),
        "stored": not run.dry_run,
        "calibration_sha256": calibration_sha256(config.calibration),
        "config_sha256": config_sha256(config),
        "archived": archived is not None,
        "lanes": len(config.calibration.lanes),
        "solid_lines": len(config.calibration.solid_lines),
        "stop_line": config.calibration.stop_line is not None,
        "light_region": config.calibration.light_region is not None,
        "rules": [code.value for code in config.rules.enabled],
        "warnings": warnings,
    }
