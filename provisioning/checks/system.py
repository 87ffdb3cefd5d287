"""The box itself: a valid config, its key in place and private, room on its disk."""

from __future__ import annotations

import shutil
from pathlib import Path

from edge_agent.agent.config_loader import ConfigError, load_config
from protocol.config import DeviceConfig
from protocol.errors import MalformedError
from protocol.keys import key_id, private_key_from_pem
from provisioning.checks.base import CheckResult, Context, fail, ok, skip, warn
from provisioning.files import file_mode

MIB = 1024**2


def check_config(path: Path) -> tuple[CheckResult, DeviceConfig | None]:
    """Validate the config as the agent does; the other checks need it."""
    title = "Cấu hình / config"
    try:
        config = load_config(path)
    except ConfigError as exc:
        return (
            fail(
                "config",
                title,
                "; ".join(exc.problems),
                "trafficwatch provision config --set KHÓA=GIÁ_TRỊ / --set KEY=VALUE",
            ),
            None,
        )
    if not config.rules.enabled:
        return (
            warn(
                "config",
                title,
                "hợp lệ, nhưng chưa bật luật nào / valid, but no rule is enabled",
                "trafficwatch provision calibrate ... --rules red_light",
            ),
            config,
        )
    enabled = ", ".join(code.value for code in config.rules.enabled)
    return ok("config", title, f"hợp lệ / valid; luật / rules: {enabled}"), config


def check_keys(ctx: Context) -> CheckResult:
    """The device key exists, is 0600 and is the key the server registered."""
    name, title = "keys", "Khóa thiết bị / device key"
    if ctx.config is None:
        return skip(name, title, "cấu hình không hợp lệ / no valid config")
    path = Path(ctx.config.keys.device_key)
    try:
        key = private_key_from_pem(path.read_bytes())
        mode = file_mode(path)
    except (OSError, MalformedError) as exc:
        return fail(
            name, title, f"Không đọc được khóa / cannot read {path}: {exc}", "provision enroll"
        )
    if mode & 0o077:
        return fail(
            name,
            title,
            f"Khóa riêng đọc được bởi người khác / private key readable by others (mode {mode:o})",
            f"chmod 600 {path}",
        )
    kid = key_id(key)
    if ctx.record is not None and kid != ctx.record.key_id:
        return fail(
            name,
            title,
            f"Khóa {kid} không phải khóa đã đăng ký {ctx.record.key_id} / not the enrolled key",
            "Đăng ký lại / enrol again (or finish a rotation: provision rotate-key)",
        )
    return ok(name, title, f"{kid}, mode 600")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(ctx: Context) -> CheckResult:
    """Free space where the outbox lives, against what the config keeps free and queues."""
    name, title = "disk", "Đĩa / disk"
    if ctx.config is None:
        return skip(name, title, "cấu hình không hợp lệ / no valid config")
    outbox = ctx.config.outbox
    where = _existing(Path(outbox.path).parent)
    free = shutil.disk_usage(where).free
    shown = f"{free / MIB:,.0f} MiB trống / free at {where}".replace(",", ".")
    if free < outbox.min_free_bytes:
        return fail(
            name,
            title,
            f"{shown}: ít hơn mức giữ lại / below outbox.min_free_bytes "
            f"({outbox.min_free_bytes // MIB} MiB)",
            "Giải phóng đĩa hoặc dùng thẻ nhớ lớn hơn / free space or use a larger card",
        )
    if free < outbox.min_free_bytes + outbox.max_bytes:
        return warn(
            name,
            title,
            f"{shown}: hàng đợi không đạt được outbox.max_bytes / the outbox cannot reach "
            f"outbox.max_bytes ({outbox.max_bytes // MIB} MiB)",
            "Giảm outbox.max_bytes hoặc thêm dung lượng / lower outbox.max_bytes or add space",
        )
    return ok(name, title, shown)
