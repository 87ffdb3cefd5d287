"""`provision install-service`: the agent as a hardened systemd service.

The agent does not speak sd_notify: its own watchdog restarts a stuck stage and, past its
budget, exits with code 1 (edge_agent/agent/watchdog.py), so the unit has no WatchdogSec and
relies on Restart=on-failure. Exit code 2 (a bad config, a missing key or model) is not retried:
restarting cannot fix it, and a restart loop would hide it. The service runs as its own user,
sees the file system read-only except the state folder, and owns its key files.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from protocol.config import DeviceConfig
from provisioning.errors import REFUSED, SOFTWARE, ProvisionError

UNIT_DIR = Path("/etc/systemd/system")
SERVICE_NAME = "trafficwatch-agent"
DEVICE_GROUPS = ("video", "dialout", "gpio")


@dataclass(frozen=True)
class ServiceOptions:
    """What the unit is made of."""

    config_path: Path
    user: str = "trafficwatch"
    name: str = SERVICE_NAME
    executable: str | None = None
    models_dir: Path = Path("/var/lib/trafficwatch/models")
    unit_dir: Path = UNIT_DIR


def agent_executable() -> str:
    """The `trafficwatch` command of this installation (its venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("trafficwatch")
    if beside.exists():
        return str(beside)
    return shutil.which("trafficwatch") or "/opt/trafficwatch/.venv/bin/trafficwatch"


def device_groups() -> list[str]:
    """The hardware groups this system has (systemd refuses to start with an unknown group)."""
    found = []
    for name in DEVICE_GROUPS:
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        found.append(name)
    return found


def writable_paths(config: DeviceConfig, models_dir: Path) -> list[str]:
    """The folders the agent writes: the outbox, the dead letters, and the models store."""
    folders = {
        str(Path(config.outbox.path).parent),
        str(Path(config.outbox.dead_letter_path)),
        str(models_dir),
    }
    return sorted(folders)


def render_unit(config: DeviceConfig, opts: ServiceOptions) -> str:
    """The unit file's text."""
    exe = opts.executable or agent_executable()
    config_path = opts.config_path.resolve()
    rw = " ".join(writable_paths(config, opts.models_dir))
    found = device_groups()
    groups = (
        "# Cameras (/dev/video*), the signal controller's serial port, GPIO.\n"
        f"SupplementaryGroups={' '.join(found)}\n"
        if found
        else ""
    )
    return f"""\
# trafficwatch edge agent, device {config.device.id} (written by `trafficwatch provision
# install-service`; edit the YAML config, not this file)
[Unit]
Description=trafficwatch edge agent ({config.device.id}) - thiết bị tại nút giao
Wants=network-online.target time-sync.target
After=network-online.target time-sync.target
StartLimitIntervalSec=600
StartLimitBurst=10

[Service]
Type=simple
User={opts.user}
Group={opts.user}
{groups}Environment=TW_MODELS_DIR={opts.models_dir}
ExecStartPre={exe} agent run --config {config_path} --validate-config
ExecStart={exe} agent run --config {config_path} --models-dir {opts.models_dir}
# The agent's watchdog exits 1 when a stage cannot be revived: start it afresh.
Restart=on-failure
RestartSec=5
# 2: bad config, missing key or model; restarting cannot fix it.
RestartPreventExitStatus=2
# SIGTERM: the agent flushes evidence to the outbox and sends its offline status.
KillSignal=SIGTERM
TimeoutStopSec=30

# Hardening: read-only system, private /tmp, no privilege gain, only the state it owns.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths={rw}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
# No ProtectClock: its seccomp filter also blocks the read-only adjtimex() with which the agent
# reports whether the clock is synchronised (edge_agent/agent/health.py).
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
SystemCallArchitectures=native
UMask=0077

[Install]
WantedBy=multi-user.target
"""


def unit_path(opts: ServiceOptions) -> Path:
    """Where the unit file goes."""
    return opts.unit_dir / f"{opts.name}.service"


def _run(*args: str) -> None:
    try:
        subprocess.run(list(args), check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = (getattr(exc, "stderr", "") or str(exc)).strip()
        raise ProvisionError(SOFTWARE, f"{' '.join(args)}: {detail}") from exc


def _ensure_user(user: str, home: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        nologin = shutil.which("nologin") or "/usr/sbin/nologin"
        _run("useradd", "--system", "--home-dir", home, "--shell", nologin, user)


def _own(folders: list[Path], files: list[Path], user: str) -> None:
    """Hand the service the folders it writes and the files it reads (its key is 0600)."""
    entry = pwd.getpwnam(user)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    for path in files:
        if path.exists():
            os.chown(path, entry.pw_uid, entry.pw_gid)


def install(config: DeviceConfig, opts: ServiceOptions, *, start: bool = True) -> Path:
    """Create the user, hand over the files, write the unit, enable and start it (as root)."""
    if os.geteuid() != 0:
        raise ProvisionError(
            REFUSED,
            "Cần quyền root để cài dịch vụ / installing the service needs root",
            "sudo trafficwatch provision install-service (or --dry-run to see the unit)",
        )
    state = Path(config.outbox.path).parent
    _ensure_user(opts.user, str(state))
    files = [opts.config_path, Path(config.keys.device_key)]
    if config.mqtt.password_file:
        files.append(Path(config.mqtt.password_file))
    _own([state, Path(config.outbox.dead_letter_path), opts.models_dir], files, opts.user)
    path = unit_path(opts)
    path.write_text(render_unit(config, opts), encoding="utf-8")
    _run("systemctl", "daemon-reload")
    if start:
        _run("systemctl", "enable", "--now", f"{opts.name}.service")
    return path
