"""`provision rotate-key`: a new device key, valid from the box's next sequence number.

The server registers it on the strength of a request signed by the current key, and ends the
current key's range just before the new one's: the backlog in the outbox, already signed with the
current key, still verifies. The new key is on disk (0600) before its public half is sent, and a
rotation cut short is finished by running the command again (the server answers a repeated
request with the same key).

The agent must not sign with the old key past the boundary: `--service` stops it for the
rotation and starts it again with the new key, whose sequence counter in the outbox is raised to
the boundary (`provisioning.sequence`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from protocol.config import DeviceConfig
from protocol.keys import Ed25519PrivateKey, generate_private_key, key_id, private_key_to_pem
from provisioning.archive import load_device_key
from provisioning.errors import SOFTWARE, ProvisionError
from provisioning.files import BoxPaths, write_private
from provisioning.http import request_json
from provisioning.sequence import next_sequence, raise_seq_floor
from provisioning.signed import seal_rotation
from provisioning.state import load_record, save_record

logger = logging.getLogger(__name__)

ROTATE_PATH = "/api/v1/enrolment/keys"


def _systemctl(action: str, service: str) -> None:
    try:
        subprocess.run(["systemctl", action, service], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ProvisionError(
            SOFTWARE,
            f"systemctl {action} {service} thất bại / failed: {detail.strip()}",
            f"journalctl -u {service}",
        ) from exc


@contextlib.contextmanager
def _agent_stopped(service: str | None) -> Iterator[None]:
    if service is None:
        yield
        return
    _systemctl("stop", service)
    try:
        yield
    finally:
        _systemctl("start", service)


def _pending_key(path: Path) -> Ed25519PrivateKey:
    """The new key: one an interrupted rotation left on disk, else a fresh one (saved first)."""
    if path.exists():
        logger.info("finishing an interrupted rotation with %s", path)
        return load_device_key(path)
    key = generate_private_key()
    write_private(path, private_key_to_pem(key))
    return key


def _swap_keys(pending: Path, current: Path) -> None:
    """Put the new key in place, then overwrite the old key's bytes (it must sign nothing more:
    a leaked old key could forge packets in sequence numbers its range never used)."""
    with current.open("r+b") as old:
        size = os.fstat(old.fileno()).st_size
        pending.replace(current)
        old.write(b"\0" * size)
        old.flush()
        os.fsync(old.fileno())


def rotate(config: DeviceConfig, config_path: Path, service: str | None) -> dict[str, Any]:
    """Rotate the device key; returns the new key's id and range."""
    paths = BoxPaths(config_path)
    record = load_record(paths)
    current_path = Path(config.keys.device_key)
    current = load_device_key(current_path)
    pending = current_path.with_name(current_path.name + ".new")
    with _agent_stopped(service):
        new = _pending_key(pending)
        outbox = Path(config.outbox.path)
        next_seq = next_sequence(outbox)
        answer = request_json(
            "POST",
            record.server_url + ROTATE_PATH,
            {"sealed": seal_rotation(current, new, config.device.id, next_seq)},
            ca_file=record.server_ca_file,
        )
        valid_from = int(answer["valid_from_seq"])
        raise_seq_floor(outbox, valid_from)
        _swap_keys(pending, current_path)
    previous = key_id(current)
    record = record.model_copy(
        update={
            "key_id": answer["key_id"],
            "valid_from_seq": valid_from,
            "rotated_at": datetime.now(timezone.utc),
        }
    )
    save_record(paths, record)
    return {
        "device_id": config.device.id,
        "key_id": answer["key_id"],
        "valid_from_seq": valid_from,
        "previous_key_id": previous,
        "previous_valid_to_seq": answer.get("previous_valid_to_seq"),
        "outbox_next_seq": next_seq,
    }
