"""The benchmarks' reference packet has the documented shape and opens cleanly."""

from __future__ import annotations

from types import ModuleType

from protocol.chunks import split_packet
from protocol.enums import MediaRole
from protocol.envelope import open_packet
from protocol.keys import Ed25519PrivateKey


def test_reference_packet_shape(
    reference_module: ModuleType, reference_packet: bytes, reference_key: Ed25519PrivateKey
) -> None:
    packet = open_packet(reference_packet, reference_key.public_key())
    sizes = {d.role: d.size for d in packet.header.parts}
    assert sizes == {
        MediaRole.scene_before: 120_000,
        MediaRole.scene_at: 120_000,
        MediaRole.scene_after: 120_000,
        MediaRole.plate_crop: 120_000,
        MediaRole.clip: 500_000,
    }
    still = packet.part(MediaRole.scene_at)
    assert (
        still is not None and bytes(still[:2]) == b"\xff\xd8" and bytes(still[-2:]) == b"\xff\xd9"
    )
    assert len(split_packet(packet.header.packet_id, reference_packet)) == 4
    again = reference_module.reference_packet(reference_key, seq=2, device_id="bench-cam-02")[0]
    assert (again.seq, again.device_id) == (2, "bench-cam-02")
