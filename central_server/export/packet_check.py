"""Bundle checks on the device side: the key record, the signed packet, its media, the ack."""

from __future__ import annotations

import hashlib

from pydantic import ValidationError

from central_server.export import chain
from central_server.export import format as fmt
from central_server.export.checks import Check, fail, ok, warn
from protocol.ack import Ack, open_ack
from protocol.enums import AckStatus
from protocol.envelope import EvidencePacket, decode_packet, verify_packet
from protocol.errors import ProtocolError
from protocol.keys import Ed25519PublicKey, key_id, public_key_from_raw
from protocol.sealed import peek


def load_device(files: dict[str, bytes]) -> tuple[fmt.DeviceFile | None, list[Check]]:
    """Parse `device.json` and check its key id is the key's own."""
    try:
        device = fmt.DeviceFile.model_validate_json(files.get(fmt.DEVICE, b""))
        public = public_key_from_raw(bytes.fromhex(device.key.public_key))
    except (ValidationError, ValueError, ProtocolError) as exc:
        return None, [fail("Hồ sơ khóa thiết bị hỏng", "Device key record malformed", str(exc))]
    if key_id(public) != device.key.key_id:
        return None, [fail("Mã khóa thiết bị sai", "Device key id mismatch", device.key.key_id)]
    return device, []


def check_enrolment(device: fmt.DeviceFile) -> list[Check]:
    """The device's enrolment events are intact and registered the key that signed."""
    events = device.enrolment_events
    if not events:
        return [warn("Không kèm nhật ký đăng ký thiết bị", "No device enrolment record included")]
    for event in events:
        fields = {name: event.get(name) for name in chain.EVENT_FIELDS}
        detail = event.get("detail") or {}
        after = detail.get("after")
        try:
            intact = chain.event_hash(fields) == event["hash"] and (
                after is None or chain.value_sha256(after) == event["after_sha256"]
            )
        except (KeyError, TypeError, ValueError):
            intact = False
        if not intact:
            return [fail("Nhật ký đăng ký thiết bị bị sửa", "Enrolment record altered")]
    added = [e for e in events if ((e.get("detail") or {}).get("after") or {}).get("key_id")]
    if not any(e["detail"]["after"]["key_id"] == device.key.key_id for e in added):
        return [fail("Khóa không có trong nhật ký đăng ký", "Key not in the enrolment record")]
    return [ok("Thiết bị và khóa đã được đăng ký", "Device and key enrolment recorded")]


def check_packet(
    files: dict[str, bytes], manifest: fmt.Manifest, device: fmt.DeviceFile
) -> tuple[EvidencePacket | None, list[Check]]:
    """The packet is the one the manifest names, signed by the device key, parts intact."""
    data = files.get(fmt.PACKET, b"")
    if hashlib.sha256(data).hexdigest() != manifest.packet_sha256:
        return None, [fail("Gói không đúng gói đã lưu", "Packet is not the stored packet")]
    public = public_key_from_raw(bytes.fromhex(device.key.public_key))
    try:
        packet = decode_packet(data)
        report = verify_packet(packet, public)
    except ProtocolError as exc:
        return None, [
            fail("Chữ ký thiết bị trên gói KHÔNG hợp lệ", "Device signature INVALID", str(exc))
        ]
    header = packet.header
    checks = [
        ok(
            "Gói do thiết bị ký, dữ liệu nguyên vẹn",
            "Packet signed by the device, parts intact",
            f"device {header.device_id}, key {header.key_id}, seq {header.seq}",
        )
    ]
    if report.dropped:
        dropped = ", ".join(r.value for r in report.dropped)
        checks.append(warn("Thiết bị đã bỏ bớt phần", "Parts dropped on the device", dropped))
    checks += _key_applies(header.device_id, header.seq, str(header.packet_id), manifest, device)
    return packet, checks


def _key_applies(
    device_id: str, seq: int, packet_id: str, manifest: fmt.Manifest, device: fmt.DeviceFile
) -> list[Check]:
    key = device.key
    checks: list[Check] = []
    if device_id != device.device.id or packet_id != manifest.packet_id:
        checks.append(fail("Gói không thuộc thiết bị/hồ sơ này", "Packet belongs elsewhere"))
    if seq < key.valid_from_seq or (key.valid_to_seq is not None and seq > key.valid_to_seq):
        checks.append(fail("Số thứ tự ngoài hiệu lực của khóa", "Sequence outside key range"))
    if key.revoked_at is not None:
        checks.append(
            warn(
                "Khóa thiết bị đã bị thu hồi sau đó",
                "The device key was revoked later",
                f"{key.revoked_at.isoformat()} {key.revoked_reason or ''}".strip(),
            )
        )
    return checks


def check_media(files: dict[str, bytes], packet: EvidencePacket) -> list[Check]:
    """Each media file is byte for byte the part the device signed."""
    checks: list[Check] = []
    for descriptor, data in zip(packet.header.parts, packet.parts, strict=True):
        ext = fmt.MEDIA_EXTENSIONS.get(descriptor.mime, "bin")
        name = f"{fmt.MEDIA_DIR}{descriptor.role.value}.{ext}"
        if data is None:
            continue
        if files.get(name) != bytes(data):
            checks.append(fail("Ảnh/video không khớp gói", "Media file differs from packet", name))
    media = [n for n in files if n.startswith(fmt.MEDIA_DIR)]
    if not checks:
        checks.append(
            ok("Ảnh/video khớp gói đã ký", "Media files match the signed packet", f"{len(media)}")
        )
    return checks


def check_ack(
    files: dict[str, bytes], packet: EvidencePacket, server_keys: dict[str, Ed25519PublicKey]
) -> list[Check]:
    """The server's signed ack names this packet and says it was stored."""
    data = files.get(fmt.ACK, b"")
    try:
        public = server_keys[peek(data).key_id]
        ack: Ack = open_ack(data, public)
    except (ProtocolError, KeyError) as exc:
        return [fail("Xác nhận của máy chủ KHÔNG hợp lệ", "Server ack INVALID", str(exc))]
    header = packet.header
    if (
        ack.packet_id != header.packet_id
        or ack.device_id != header.device_id
        or ack.packet_sha256 != hashlib.sha256(files.get(fmt.PACKET, b"")).hexdigest()
    ):
        return [fail("Xác nhận nói về gói khác", "The ack names another packet")]
    if ack.status not in (AckStatus.stored, AckStatus.duplicate):
        return [fail("Máy chủ đã từ chối gói", "The server rejected the packet", ack.status.value)]
    return [
        ok(
            "Máy chủ đã ký xác nhận lưu gói",
            "Server signed that it stored the packet",
            f"{ack.acked_at.isoformat()}",
        )
    ]
