"""Send the box's config and calibration to the server's archive, signed by the device key.

Packets carry only the config's and the calibration's sha256; the centre can read what a box ran
only if the document itself reached the archive. Enrolment, `config` and `calibrate` upload after
every change, and `check` uploads again (the server keeps each hash once), so a box that was
offline when it was calibrated catches up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from protocol.config import DeviceConfig
from protocol.errors import MalformedError
from protocol.keys import Ed25519PrivateKey, private_key_from_pem
from provisioning.errors import NOT_CONFIGURED, ProvisionError
from provisioning.files import BoxPaths
from provisioning.http import request_json
from provisioning.signed import seal_config_archive
from provisioning.state import EnrolmentRecord, load_record

logger = logging.getLogger(__name__)

ARCHIVE_PATH = "/api/v1/enrolment/configs"


@dataclass(frozen=True)
class Archived:
    """What the server's archive holds now."""

    config_sha256: str
    calibration_sha256: str
    created: list[str]


def load_device_key(path: str | Path) -> Ed25519PrivateKey:
    """The box's private key; `ProvisionError` (78) if missing or unreadable."""
    try:
        return private_key_from_pem(Path(path).read_bytes())
    except (OSError, MalformedError) as exc:
        raise ProvisionError(
            NOT_CONFIGURED,
            f"Không đọc được khóa thiết bị / cannot read the device key {path}: {exc}",
            "Đăng ký lại / enrol again: trafficwatch provision enroll",
        ) from exc


def upload(config: DeviceConfig, record: EnrolmentRecord) -> Archived:
    """Archive this config (idempotent); raises `ProvisionError` when the server cannot."""
    key = load_device_key(config.keys.device_key)
    sealed, config_sha, calibration_sha = seal_config_archive(key, config)
    answer = request_json(
        "POST",
        record.server_url.rstrip("/") + ARCHIVE_PATH,
        {"sealed": sealed},
        ca_file=record.server_ca_file,
    )
    created = [str(kind) for kind in answer.get("created", [])]
    logger.info("config %s archived (new: %s)", config_sha, created or "none")
    return Archived(config_sha, calibration_sha, created)


def upload_if_enrolled(config: DeviceConfig, config_path: Path) -> tuple[Archived | None, str]:
    """Archive after a change when the box is enrolled; (result, warning) never raises."""
    paths = BoxPaths(config_path)
    if not paths.enrolment.exists():
        return None, "chưa đăng ký, chưa lưu trữ / not enrolled: config not archived"
    try:
        return upload(config, load_record(paths)), ""
    except ProvisionError as exc:
        return None, (
            f"chưa lưu trữ lên máy chủ / not archived on the server: {exc.message}. "
            "`trafficwatch provision check` sẽ gửi lại / will send it again"
        )
