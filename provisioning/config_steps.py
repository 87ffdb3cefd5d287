"""`provision config`, and loading the config the other commands act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_agent.agent.config_loader import ConfigError, load_config
from protocol.config import DeviceConfig, calibration_sha256, config_sha256
from provisioning import config_edit
from provisioning.archive import upload_if_enrolled
from provisioning.errors import NOT_CONFIGURED, USAGE, ProvisionError

_FIX = "trafficwatch provision config --set KHÓA=GIÁ_TRỊ / --set KEY=VALUE (--unset KEY)"


def invalid(exc: ConfigError) -> ProvisionError:
    """A config error as the CLI reports it: every problem with its key."""
    return ProvisionError(
        USAGE,
        f"{exc.path}: cấu hình không hợp lệ / invalid config: " + "; ".join(exc.problems),
        _FIX,
    )


def load_valid(path: Path) -> DeviceConfig:
    """The box's config, validated as the agent does; 78 if absent, 2 if invalid."""
    if not path.exists():
        raise ProvisionError(
            NOT_CONFIGURED,
            f"Chưa có cấu hình / no config at {path}",
            "trafficwatch provision enroll (or --config PATH)",
        )
    try:
        return load_config(path)
    except ConfigError as exc:
        raise invalid(exc) from exc


def edit_config(
    path: Path, sets: list[str], unsets: list[str], from_file: Path | None, upload: bool
) -> dict[str, Any]:
    """Apply `--from`, `--unset` and `--set` in that order; write only a valid result."""
    data = config_edit.load_raw(from_file if from_file is not None else path)
    changed: list[str] = []
    for key in unsets:
        parts = config_edit.parse_key(key)
        config_edit.unset_value(data, parts)
        changed.append(config_edit.format_key(parts))
    for assignment in sets:
        parts, value = config_edit.parse_assignment(assignment)
        config_edit.set_value(data, parts, value)
        changed.append(config_edit.format_key(parts))
    try:
        if changed or from_file is not None:
            config = config_edit.save(path, data)
        else:
            config = config_edit.validate(data, path)
    except ConfigError as exc:
        raise invalid(exc) from exc
    warnings: list[str] = []
    archived = None
    if upload and (changed or from_file is not None):
        archived, warning = upload_if_enrolled(config, path)
        warnings += [warning] if warning else []
    return {
        "config": str(path),
        "valid": True,
        "written": bool(changed or from_file is not None),
        "changed": changed,
        "config_sha256": config_sha256(config),
        "calibration_sha256": calibration_sha256(config.calibration),
        "archived": archived is not None,
        "warnings": warnings,
        "yaml": config_edit.dump(data),
    }
