"""Build a case's evidence bundle from the database and the evidence store (one ZIP file)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, col, select

from central_server.audit import format_at
from central_server.errors import AppError
from central_server.evidence_store import EvidenceStore
from central_server.export import format as fmt
from central_server.export.excerpt import audit_excerpt, enrolment_events
from central_server.models import (
    Device,
    DeviceKey,
    Packet,
    SentAck,
    ServerKey,
    Violation,
)
from central_server.workflow.models import PoliceRecord
from protocol.ack import open_ack
from protocol.enums import AckStatus
from protocol.envelope import decode_packet
from protocol.keys import key_id, public_key_from_raw
from protocol.sealed import peek

logger = logging.getLogger(__name__)

README_TEXT = """\
GÓI BẰNG CHỨNG VI PHẠM GIAO THÔNG — trafficwatch
Kiểm tra gói này (không cần mạng, không cần cơ sở dữ liệu):
    trafficwatch evidence verify <tệp.zip> --server-key <mã khóa máy chủ do Trung tâm công bố>

TRAFFIC-VIOLATION EVIDENCE BUNDLE — trafficwatch
Check this bundle offline (no network, no database):
    trafficwatch evidence verify <file.zip> --server-key <server key id published by the centre>

Nội dung / contents: manifest.json (+ manifest.sig), packet.bin (gói gốc do thiết bị ký / the
device-signed packet), ack.bin (xác nhận có chữ ký của máy chủ / the server's signed ack),
device.json, server_keys.json, audit.json (trích nhật ký / audit excerpt), case.json (các quyết
định / decisions), media/ (ảnh và video trích từ gói / images and clip taken from the packet).
Định dạng / format: docs/evidence-bundle.md.
"""


@dataclass(frozen=True)
class Bundle:
    """A built bundle: the ZIP bytes and the name to save it under."""

    filename: str
    data: bytes
    sha256: str


def _not_found(what_vi: str, what_en: str) -> AppError:
    return AppError(404, "evidence_missing", f"Không tìm thấy {what_vi}.", f"{what_en} not found.")


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _when(value: datetime | None) -> str | None:
    return None if value is None else format_at(value)


def _device_file(session: Session, packet: Packet) -> dict[str, Any]:
    device = session.get(Device, packet.device_id)
    key = session.exec(select(DeviceKey).where(col(DeviceKey.key_id) == packet.key_id)).first()
    if device is None or key is None:
        raise _not_found("khóa thiết bị", f"Device key {packet.key_id}")
    return {
        "device": {
            "id": device.id,
            "site_id": device.site_id,
            "camera_id": device.camera_id,
            "created_at": _when(device.created_at),
            "enrolled_by": device.enrolled_by,
            "revoked_at": _when(device.revoked_at),
        },
        "key": {
            "key_id": key.key_id,
            "public_key": key.public_key.hex(),
            "valid_from_seq": key.valid_from_seq,
            "valid_to_seq": key.valid_to_seq,
            "created_at": _when(key.created_at),
            "revoked_at": _when(key.revoked_at),
            "revoked_reason": key.revoked_reason,
        },
        "enrolment_events": enrolment_events(session, device.id),
    }


def _ack_bytes(session: Session, packet: Packet) -> bytes:
    for wanted in (AckStatus.stored, AckStatus.duplicate):
        statement = (
            select(SentAck)
            .where(col(SentAck.packet_id) == packet.packet_id, col(SentAck.status) == wanted)
            .order_by(col(SentAck.id))
        )
        row: SentAck | None = session.exec(statement).first()
        if row is not None:
            return bytes(row.ack_bytes)
    raise _not_found("xác nhận của máy chủ", f"The server's ack for packet {packet.packet_id}")


def _server_keys(session: Session, key_ids: set[str]) -> dict[str, Any]:
    rows = session.exec(select(ServerKey).where(col(ServerKey.key_id).in_(sorted(key_ids)))).all()
    if len(rows) != len(key_ids):
        raise _not_found("khóa công khai của máy chủ", "A server public key")
    keys = [
        {
            "key_id": row.key_id,
            "public_key": row.public_key.hex(),
            "created_at": _when(row.created_at),
            "retired_at": _when(row.retired_at),
        }
        for row in sorted(rows, key=lambda r: r.key_id)
    ]
    return {"keys": keys}


def _case_file(session: Session, violation: Violation) -> dict[str, Any]:
    records = session.exec(
        select(PoliceRecord)
        .where(col(PoliceRecord.violation_id) == violation.id)
        .order_by(col(PoliceRecord.id))
    ).all()
    case = violation.model_dump(mode="json", exclude={"facts", "plate_candidates"})
    case["police_records"] = [r.model_dump(mode="json") for r in records]
    return case


def _media_files(packet_bytes: bytes) -> dict[str, bytes]:
    packet = decode_packet(packet_bytes)
    files: dict[str, bytes] = {}
    for descriptor, data in zip(packet.header.parts, packet.parts, strict=True):
        if data is not None:
            ext = fmt.MEDIA_EXTENSIONS.get(descriptor.mime, "bin")
            files[f"{fmt.MEDIA_DIR}{descriptor.role.value}.{ext}"] = bytes(data)
    return files


def _zip(files: dict[str, bytes], when: datetime) -> bytes:
    buffer = io.BytesIO()
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            # Media and the packet are already compressed; deflating them only costs time.
            small_text = name.endswith((".json", ".txt"))
            info.compress_type = zipfile.ZIP_DEFLATED if small_text else zipfile.ZIP_STORED
            archive.writestr(info, data)
    return buffer.getvalue()


def _case_files(
    session: Session, store: EvidenceStore, violation: Violation, server_key: Ed25519PrivateKey
) -> tuple[Packet, dict[str, bytes]]:
    packet = session.get(Packet, violation.packet_id)
    if packet is None:
        raise _not_found("gói bằng chứng", f"Packet {violation.packet_id}")
    packet_bytes = store.get(packet.blob_sha256)
    ack = _ack_bytes(session, packet)
    audit = audit_excerpt(session, violation.id or 0)
    key_ids = {peek(ack).key_id, key_id(server_key)}
    if audit["head_signature"] is not None:
        key_ids.add(audit["head_signature"]["key_id"])
    server_keys = _server_keys(session, key_ids)
    _check_ack(ack, server_keys, packet.sha256)
    return packet, {
        fmt.README: README_TEXT.encode(),
        fmt.PACKET: packet_bytes,
        fmt.ACK: ack,
        fmt.DEVICE: _json_bytes(_device_file(session, packet)),
        fmt.SERVER_KEYS: _json_bytes(server_keys),
        fmt.AUDIT: _json_bytes(audit),
        fmt.CASE: _json_bytes(_case_file(session, violation)),
        **_media_files(packet_bytes),
    }


def build_bundle(
    session: Session,
    store: EvidenceStore,
    *,
    violation_id: int,
    server_key: Ed25519PrivateKey,
    exported_by: str,
    now: datetime,
) -> Bundle:
    """Collect a case's evidence into a signed ZIP (read-only; the caller audits the export)."""
    violation = session.get(Violation, violation_id)
    if violation is None:
        raise _not_found("vi phạm", f"Violation {violation_id}")
    packet, files = _case_files(session, store, violation, server_key)
    manifest = _manifest(files, violation, packet, key_id(server_key), exported_by, now)
    files[fmt.MANIFEST] = manifest
    files[fmt.MANIFEST_SIG] = server_key.sign(fmt.MANIFEST_DOMAIN + manifest)
    data = _zip(files, now)
    logger.info("evidence bundle for violation %s: %d bytes", violation_id, len(data))
    return Bundle(
        filename=f"trafficwatch-evidence-{violation_id}.zip",
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _check_ack(ack: bytes, server_keys: dict[str, Any], packet_sha256: str) -> None:
    """Refuse to export an ack that the bundle's own keys would not verify (a server fault)."""
    keys = {k["key_id"]: k["public_key"] for k in server_keys["keys"]}
    parsed = open_ack(ack, public_key_from_raw(bytes.fromhex(keys[peek(ack).key_id])))
    if parsed.packet_sha256 != packet_sha256:
        raise AppError(
            500, "ack_mismatch", "Xác nhận không khớp gói.", "The stored ack names another packet."
        )


def _manifest(
    files: dict[str, bytes],
    violation: Violation,
    packet: Packet,
    signing_key_id: str,
    exported_by: str,
    now: datetime,
) -> bytes:
    entries = [
        {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in sorted(files.items())
    ]
    return _json_bytes(
        {
            "format": fmt.FORMAT_NAME,
            "version": fmt.FORMAT_VERSION,
            "created_at": format_at(now),
            "exported_by": exported_by,
            "violation_id": violation.id,
            "packet_id": str(packet.packet_id),
            "packet_sha256": packet.sha256,
            "signing_key_id": signing_key_id,
            "files": entries,
        }
    )
