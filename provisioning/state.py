"""The enrolment record: what the box learnt when it enrolled, kept beside its config.

The device config (`protocol.config.DeviceConfig`) says how the agent runs; this record says how
provisioning reaches the server again (rotate the key, archive a new calibration, `check`).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from provisioning.errors import NOT_CONFIGURED, ProvisionError
from provisioning.files import BoxPaths, write_atomic


class EnrolmentRecord(BaseModel):
    """The box's enrolment: server, identity, key and the clock source it was given."""

    model_config = ConfigDict(extra="forbid")

    server_url: str
    server_ca_file: str | None = None
    device_id: str
    site_id: str
    camera_id: str
    key_id: str
    valid_from_seq: int
    server_key_id: str
    ntp_server: str | None = None
    enrolled_at: datetime
    rotated_at: datetime | None = None


def load_record(paths: BoxPaths) -> EnrolmentRecord:
    """The box's enrolment record; `ProvisionError` (78) if it never enrolled."""
    path = paths.enrolment
    try:
        return EnrolmentRecord.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise ProvisionError(
            NOT_CONFIGURED,
            f"Thiết bị chưa đăng ký / the box is not enrolled (no {path})",
            "trafficwatch provision enroll --server URL --token TOKEN",
        ) from None
    except (OSError, ValidationError) as exc:
        raise ProvisionError(
            NOT_CONFIGURED,
            f"Hồ sơ đăng ký hỏng / unreadable enrolment record {path}: {exc}",
            "Đăng ký lại / enrol again: trafficwatch provision enroll",
        ) from exc


def save_record(paths: BoxPaths, record: EnrolmentRecord) -> None:
    """Write the record (0644: it holds no secret)."""
    write_atomic(paths.enrolment, (record.model_dump_json(indent=2) + "\n").encode(), 0o644)
