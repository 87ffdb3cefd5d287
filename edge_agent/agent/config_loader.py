"""Read the box's YAML config into `protocol.config.DeviceConfig`, explaining what is wrong.

An enforcement device never runs on half a config: any problem is fatal at start, and
`--validate-config` prints every problem with the full path of the bad key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from protocol.config import DeviceConfig, format_config_errors


class ConfigError(Exception):
    """The config cannot be used; `problems` has one line per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


def parse_config(text: str, path: Path = Path("<config>")) -> DeviceConfig:
    """Validate YAML text as a device config; raises `ConfigError`."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"dòng {mark.line + 1}, cột {mark.column + 1} (line, column): " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [f"{where}YAML không hợp lệ / invalid YAML: {problem}"]) from exc
    if not isinstance(data, dict):
        kind = "trống / empty" if data is None else type(data).__name__
        raise ConfigError(path, [f"cấu hình phải là một bảng khóa / must be a mapping ({kind})"])
    try:
        return DeviceConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, format_config_errors(exc)) from exc


def load_config(path: str | Path) -> DeviceConfig:
    """Read and validate the config file at `path`; raises `ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"không đọc được tệp / cannot read the file: {exc}"]) from exc
    return parse_config(text, path)
