"""`provision enroll`: make the box's key here, enrol it with a one-time token, write the config.

The private key is made on the box and written (0600) before anything is sent; only its public
half and a signature proving possession travel. The config is checked with placeholder identity
before the token is spent, so a missing camera source costs no token.
"""

from __future__ import annotations

import copy
import importlib.metadata
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_agent.agent.config_loader import ConfigError
from protocol.keys import generate_private_key, private_key_to_pem
from provisioning import config_edit
from provisioning.archive import upload_if_enrolled
from provisioning.errors import USAGE, ProvisionError
from provisioning.files import BoxPaths, remove_secret, write_atomic, write_private
from provisioning.http import request_json
from provisioning.sequence import raise_seq_floor
from provisioning.signed import enrol_proof, public_pem
from provisioning.state import EnrolmentRecord, save_record

logger = logging.getLogger(__name__)

ENROL_PATH = "/api/v1/enrolment"
_PLACEHOLDER = {
    "device_id": "enrolling",
    "site_id": "site",
    "camera_id": "main",
    "location": {"lat": 0.0, "lon": 0.0},
    "broker": {"host": "localhost", "port": 1883, "tls": False, "username": "u", "password": ""},
}


@dataclass(frozen=True)
class EnrolOptions:
    """What the technician typed."""

    server: str
    token: str
    config_path: Path
    state_dir: Path
    server_ca: str | None = None
    device_id: str | None = None
    camera_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    camera_source: str | None = None
    camera_kind: str | None = None


def _software_version() -> str:
    try:
        return f"trafficwatch/{importlib.metadata.version('trafficwatch')}"
    except importlib.metadata.PackageNotFoundError:
        return "trafficwatch/unknown"


def _base_config(opts: EnrolOptions) -> dict[str, Any]:
    """The existing config (kept: camera, calibration, rules) with the technician's camera."""
    data = config_edit.load_raw(opts.config_path)
    if not data:
        data = {"rules": {"enabled": []}}  # nothing calibrated yet: no rule can run
    camera = data.setdefault("camera", {})
    if opts.camera_source is not None:
        camera["source"] = opts.camera_source
    if opts.camera_kind is not None:
        camera["kind"] = opts.camera_kind
    outbox = data.setdefault("outbox", {})
    outbox.setdefault("path", str(opts.state_dir / "outbox.sqlite3"))
    outbox.setdefault("dead_letter_path", str(opts.state_dir / "dead_letters"))
    return data


def _apply_answer(
    data: dict[str, Any], answer: dict[str, Any], paths: BoxPaths, has_ca: bool
) -> dict[str, Any]:
    """The config with the identity, broker and key files the server's answer gives."""
    out = copy.deepcopy(data)
    out["device"] = {
        "id": answer["device_id"],
        "site_id": answer["site_id"],
        "camera_id": answer["camera_id"],
        "location": answer["location"],
    }
    broker = answer["broker"]
    mqtt = out.setdefault("mqtt", {})
    mqtt.update(
        host=broker["host"],
        port=broker["port"],
        tls=broker["tls"],
        username=broker["username"],
        password_file=str(paths.mqtt_password),
    )
    if "topic_prefix" in broker:
        mqtt["topic_prefix"] = broker["topic_prefix"]
    if has_ca:
        mqtt["ca_file"] = str(paths.broker_ca)
    else:
        mqtt.pop("ca_file", None)
    out["keys"] = {
        "device_key": str(paths.device_key),
        "server_public_key": str(paths.server_public_key),
    }
    return out


def _precheck(data: dict[str, Any], paths: BoxPaths) -> None:
    """Refuse, before the token is spent, a config that would be invalid once enrolled."""
    try:
        config_edit.validate(_apply_answer(data, _PLACEHOLDER, paths, False), paths.config)
    except ConfigError as exc:
        problems = "; ".join(exc.problems)
        raise ProvisionError(
            USAGE,
            f"Cấu hình sẽ không hợp lệ / the config would be invalid: {problems}",
            "Thêm nguồn camera / give the camera: --camera-source rtsp://... (or fix the file)",
        ) from exc


def _request(opts: EnrolOptions, data: dict[str, Any], pem: str, proof: str) -> dict[str, Any]:
    device = data.get("device") or {}
    location = None
    if opts.lat is not None and opts.lon is not None:
        location = {"lat": opts.lat, "lon": opts.lon}
    elif isinstance(device.get("location"), dict):
        location = device["location"]
    return {
        "token": opts.token,
        "public_key_pem": pem,
        "proof": proof,
        "device_id": opts.device_id,
        "camera_id": opts.camera_id or device.get("camera_id"),
        "location": location,
        "software_version": _software_version(),
    }


def enroll(opts: EnrolOptions) -> dict[str, Any]:
    """Enrol the box; returns a summary (device id, key id, files written)."""
    if (opts.lat is None) != (opts.lon is None):
        raise ProvisionError(USAGE, "--lat và --lon đi cùng nhau / give both --lat and --lon")
    paths = BoxPaths(opts.config_path)
    data = _base_config(opts)
    _precheck(data, paths)
    key = generate_private_key()
    pending = paths.device_key.with_name(paths.device_key.name + ".new")
    write_private(pending, private_key_to_pem(key))  # on disk before its public half leaves
    try:
        body = _request(opts, data, public_pem(key), enrol_proof(key, opts.token))
        answer = request_json(
            "POST", opts.server.rstrip("/") + ENROL_PATH, body, ca_file=opts.server_ca
        )
    except BaseException:
        remove_secret(pending)
        raise
    try:
        return _install(opts, paths, data, answer, pending)
    except ProvisionError as exc:
        exc.fix = (
            f"Máy chủ đã đăng ký thiết bị {answer['device_id']}; sửa lỗi rồi xin mã mới với "
            f"--device-id {answer['device_id']} / the server enrolled {answer['device_id']}: fix "
            f"this, then ask for a token with --device-id {answer['device_id']}. {exc.fix}"
        )
        raise


def _install(
    opts: EnrolOptions, paths: BoxPaths, data: dict[str, Any], answer: dict[str, Any], key: Path
) -> dict[str, Any]:
    """Write what the server answered: key in place, server key, CA, password, config, record."""
    broker = answer["broker"]
    ca_pem = broker.get("ca_pem")
    write_atomic(paths.server_public_key, answer["server_public_key_pem"].encode("ascii"), 0o644)
    if ca_pem:
        write_atomic(paths.broker_ca, ca_pem.encode("ascii"), 0o644)
    write_private(paths.mqtt_password, broker["password"].encode("utf-8") + b"\n")
    key.replace(paths.device_key)  # the old key (a re-enrolment) is superseded on the server
    config = config_edit.save(paths.config, _apply_answer(data, answer, paths, bool(ca_pem)))
    record = EnrolmentRecord(
        server_url=opts.server.rstrip("/"),
        server_ca_file=str(Path(opts.server_ca).resolve()) if opts.server_ca else None,
        device_id=answer["device_id"],
        site_id=answer["site_id"],
        camera_id=answer["camera_id"],
        key_id=answer["key_id"],
        valid_from_seq=answer["valid_from_seq"],
        server_key_id=answer["server_key_id"],
        ntp_server=answer.get("ntp_server"),
        enrolled_at=datetime.now(timezone.utc),
    )
    save_record(paths, record)
    if record.valid_from_seq > 0:  # a re-enrolled box: its new key starts past the old one
        raise_seq_floor(Path(config.outbox.path), record.valid_from_seq)
    archived, warning = upload_if_enrolled(config, paths.config)
    logger.info("enrolled as %s, key %s", record.device_id, record.key_id)
    return {
        "device_id": record.device_id,
        "site_id": record.site_id,
        "camera_id": record.camera_id,
        "key_id": record.key_id,
        "valid_from_seq": record.valid_from_seq,
        "broker": f"{broker['host']}:{broker['port']}" + (" (TLS)" if broker["tls"] else ""),
        "config": str(paths.config),
        "device_key": str(paths.device_key),
        "config_sha256": archived.config_sha256 if archived else None,
        "warnings": [warning] if warning else [],
    }
