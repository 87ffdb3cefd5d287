"""The box's files: where enrolment puts them, and writing them atomically with the right mode.

Everything lives beside the config (default `/etc/trafficwatch/`): the device key and the broker
password (mode 0600), the server's public key, the broker CA and the enrolment record (0644).
Files are replaced atomically (`edge_agent.atomic_files`): a power cut leaves either the old or
the new file, never half of one; a secret is never readable by others, not even for a moment.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from edge_agent import atomic_files
from provisioning.errors import CANT_CREATE, ProvisionError

PRIVATE = 0o600
PUBLIC = 0o644
DEFAULT_CONFIG = Path("/etc/trafficwatch/config.yaml")
DEFAULT_STATE_DIR = Path("/var/lib/trafficwatch")


@dataclass(frozen=True)
class BoxPaths:
    """Where provisioning keeps each file of one box, derived from its config path."""

    config: Path

    @property
    def folder(self) -> Path:
        """The config's folder (every provisioning file sits here)."""
        return self.config.parent

    @property
    def device_key(self) -> Path:
        """The Ed25519 private key (0600)."""
        return self.folder / "device_key.pem"

    @property
    def server_public_key(self) -> Path:
        """The server's public key (checks acks and pushed configs)."""
        return self.folder / "server_public_key.pem"

    @property
    def broker_ca(self) -> Path:
        """The broker's CA certificate (PEM)."""
        return self.folder / "broker_ca.pem"

    @property
    def mqtt_password(self) -> Path:
        """The broker password (0600)."""
        return self.folder / "mqtt_password"

    @property
    def enrolment(self) -> Path:
        """The enrolment record: server URL, device and key ids (`state.EnrolmentRecord`)."""
        return self.folder / "enrolment.json"


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` (`edge_agent.atomic_files`); a new file gets `mode` (default
    0644), an existing one keeps its mode and owner unless `mode` is given."""
    try:
        atomic_files.write_atomic(path, data, mode, new_mode=PUBLIC)
    except OSError as exc:
        raise ProvisionError(
            CANT_CREATE,
            f"Không ghi được tệp / cannot write {path}: {exc.strerror or exc}",
            "Chạy với quyền root (sudo) hoặc chọn thư mục khác / run as root or pick another "
            "folder (--config)",
        ) from exc


def write_private(path: Path, data: bytes) -> None:
    """Write a secret: mode 0600 whatever the old file's mode was."""
    write_atomic(path, data, PRIVATE)


def remove_secret(path: Path) -> None:
    """Overwrite a secret file with zeros, then delete it (best effort on flash storage)."""
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        with path.open("r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        atomic_files.fsync_dir(path.parent)


def file_mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)
