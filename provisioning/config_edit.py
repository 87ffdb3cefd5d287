"""Write or edit the box's YAML config key by key, and never save one the agent would refuse.

`--set camera.source=rtsp://...` takes a dotted path (list items as `lanes[0]` or `lanes.0`, the
form validation errors print) and a value read as YAML (`[red_light, solid_line]`, `25`, `true`),
except where the schema wants text: `camera.source=0` stays the string "0". The result is checked
with the agent's own loader (`edge_agent.agent.config_loader`, what `agent run --validate-config`
runs), so every error names the key and the reason.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from edge_agent.agent.config_loader import ConfigError, parse_config
from protocol.config import DeviceConfig
from provisioning.errors import USAGE, ProvisionError
from provisioning.files import write_atomic

PathPart = str | int
NEW_CONFIG_MODE = 0o640  # the camera URL may carry its password; the service's group reads it
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key(key: str) -> list[PathPart]:
    """`calibration.lanes[0].direction_deg` → ["calibration", "lanes", 0, "direction_deg"]."""
    parts: list[PathPart] = []
    pos = 0
    key = key.strip()
    while pos < len(key):
        if key[pos] == "." and parts:
            pos += 1
        match = _PART.match(key, pos)
        if match is None:
            raise ProvisionError(USAGE, f"Khóa không hợp lệ / bad key {key!r}", "a.b[0].c")
        name, index = match.groups()
        parts.append(int(index) if index is not None else (int(name) if name.isdigit() else name))
        pos = match.end()
    if not parts or not isinstance(parts[0], str):
        raise ProvisionError(USAGE, f"Khóa không hợp lệ / bad key {key!r}", "a.b[0].c")
    return parts


def format_key(parts: list[PathPart]) -> str:
    """The path as validation errors print it."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def expects_text(parts: list[PathPart]) -> bool:
    """Whether the schema's field at this path is plain text (keep the value unparsed)."""
    annotation: Any = DeviceConfig
    for part in parts:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            args = get_args(annotation)
            if not args:
                return False
            annotation = args[0]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return False
            annotation = field.annotation
        else:
            return False
    return _unwrap(annotation) is str


def parse_assignment(text: str) -> tuple[list[PathPart], Any]:
    """`key=value` → (path, value)."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise ProvisionError(USAGE, f"Thiếu '=' / expected KEY=VALUE, got {text!r}", "--set a.b=1")
    parts = parse_key(key)
    if expects_text(parts):
        return parts, raw
    try:
        return parts, yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ProvisionError(
            USAGE, f"{key}: giá trị không đọc được / unreadable value: {exc}"
        ) from exc


def _container_for(data: Any, parts: list[PathPart], key: str) -> Any:
    node = data
    for here, nxt in zip(parts, parts[1:], strict=False):
        if isinstance(here, int):
            if not isinstance(node, list) or here >= len(node):
                raise ProvisionError(USAGE, f"{key}: không có phần tử / no item [{here}]")
            node = node[here]
            continue
        if not isinstance(node, dict):
            raise ProvisionError(USAGE, f"{key}: {here} không phải bảng khóa / not a mapping")
        if node.get(here) is None:
            node[here] = [] if isinstance(nxt, int) else {}
        node = node[here]
    return node


def set_value(data: dict[str, Any], parts: list[PathPart], value: Any) -> None:
    """Set the value at `parts`, creating mappings on the way; `[n]` may append at the end."""
    key = format_key(parts)
    node, last = _container_for(data, parts, key), parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last > len(node):
            raise ProvisionError(USAGE, f"{key}: chỉ số ngoài danh sách / index out of range")
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ProvisionError(USAGE, f"{key}: không phải bảng khóa / not a mapping")


def unset_value(data: dict[str, Any], parts: list[PathPart]) -> None:
    """Remove the key at `parts` (the schema's default applies again); absent keys are fine."""
    try:
        node = _container_for(data, parts, format_key(parts))
    except ProvisionError:
        return
    last = parts[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node.pop(last)


def load_raw(path: Path) -> dict[str, Any]:
    """The config file as plain data ({} when it does not exist yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ProvisionError(USAGE, f"Không đọc được / cannot read {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProvisionError(USAGE, f"{path}: YAML không hợp lệ / invalid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProvisionError(USAGE, f"{path}: cấu hình phải là bảng khóa / must be a mapping")
    return data


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of plain values (points, rule lists) on one line: `[x, y]`."""


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flat = all(isinstance(item, str | int | float | bool) or item is None for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def dump(data: dict[str, Any]) -> str:
    """YAML text of the config, keys in the order given."""
    text: str = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return text


def validate(data: dict[str, Any], path: Path) -> DeviceConfig:
    """Validate exactly as the agent does at start; `ConfigError` lists every problem."""
    return parse_config(dump(data), path)


def save(path: Path, data: dict[str, Any]) -> DeviceConfig:
    """Validate, then write atomically; an invalid config is never written."""
    config = validate(data, path)
    mode = None if path.exists() else NEW_CONFIG_MODE
    write_atomic(path, dump(data).encode("utf-8"), mode)
    return config


__all__ = [
    "ConfigError",
    "dump",
    "expects_text",
    "format_key",
    "load_raw",
    "parse_assignment",
    "parse_key",
    "save",
    "set_value",
    "unset_value",
    "validate",
]
