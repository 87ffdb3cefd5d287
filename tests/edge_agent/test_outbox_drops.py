"""Making room under `max_bytes`: clips before stills before whole packets, never silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.outbox import Outbox, OutboxFullError
from protocol.enums import MediaRole
from protocol.envelope import decode_packet, open_packet, packet_sha256
from tests.edge_agent.packets import DEVICE_KEY, Packet, make_packet

U = 100_000  # part sizes in units large enough that headers (~1 kB) never tip a bound
SCENE, PLATE = MediaRole.scene_at, MediaRole.plate_crop


def _put(box: Outbox, packet: Packet) -> None:
    box.put(packet.packet_id, packet.seq, packet.data)


def _drops(box: Outbox) -> list[tuple[int, str, str | None]]:
    return [(d.seq, d.kind, d.role) for d in box.drops()]


def test_clips_go_before_stills_oldest_packet_first(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_bytes=int(13.5 * U), min_free_bytes=0)
    for seq in (1, 2):
        _put(box, make_packet(seq, clip=4 * U, stills={SCENE: U, PLATE: U // 2}))
    _put(box, make_packet(3, stills={SCENE: 10 * U}))
    assert _drops(box) == [(1, "clip", "clip"), (2, "clip", "clip")]

    _put(box, make_packet(4, stills={SCENE: 3 * U}))
    assert _drops(box)[2:] == [
        (1, "still", "plate_crop"),
        (1, "still", "scene_at"),
        (2, "still", "plate_crop"),
        (2, "still", "scene_at"),
    ]
    assert {d.reason for d in box.drops()} == {"max_bytes"}
    assert box.stats().dropped == {"clip": 2, "still": 4, "packet": 0}
    assert box.stats().bytes <= 13.5 * U
    box.close()


def test_a_dropped_part_travels_marked_dropped_under_a_valid_signature(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_bytes=5 * U, min_free_bytes=0)
    first = make_packet(1, clip=3 * U, stills={SCENE: U})
    _put(box, first)
    _put(box, make_packet(2, clip=U))
    (item,) = [i for i in box.due(5) if i.seq == 1]
    packet = open_packet(item.data, DEVICE_KEY.public_key())  # signature and hashes still hold
    assert packet.dropped == (MediaRole.clip,)
    assert packet.part(SCENE) == decode_packet(first.data).part(SCENE)
    assert item.sha256 == packet_sha256(item.data) != packet_sha256(first.data)
    box.close()


def test_the_incoming_clip_goes_before_older_stills(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_bytes=8 * U, min_free_bytes=0)
    _put(box, make_packet(1, stills={SCENE: 5 * U}))
    _put(box, make_packet(2, clip=4 * U, stills={SCENE: U // 2}))
    assert _drops(box) == [(2, "clip", "clip")]
    assert [decode_packet(i.data).dropped for i in box.due(5)] == [(), (MediaRole.clip,)]
    box.close()


def test_whole_packets_go_last_into_the_loss_log_and_raise_the_alarm(tmp_path: Path) -> None:
    bare = [make_packet(seq, stills={}) for seq in range(1, 5)]
    size = len(bare[0].data)
    box = Outbox(tmp_path / "o.db", max_bytes=3 * size + size // 2, min_free_bytes=0)
    for packet in bare:
        _put(box, packet)

    assert _drops(box) == [(1, "packet", None)]
    (loss,) = box.losses()
    assert (loss.packet_id, loss.seq, loss.reason) == (str(bare[0].packet_id), 1, "max_bytes")
    assert loss.sha256 == packet_sha256(bare[0].data)
    assert [i.seq for i in box.due(10)] == [2, 3, 4]
    stats = box.stats()
    assert (stats.dropped["packet"], stats.losses, stats.alarm) == (1, 1, True)

    box.acknowledge_alarm()  # a technician has seen it
    assert not box.stats().alarm
    _put(box, make_packet(5, stills={}))
    assert box.stats().alarm
    box.close()


def test_a_packet_too_large_even_without_media_is_lost_loudly(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_bytes=500, min_free_bytes=0)
    packet = make_packet(1, clip=U)
    with pytest.raises(OutboxFullError, match="too_large") as raised:
        _put(box, packet)
    assert raised.value.packet_id == str(packet.packet_id)
    assert [(x.seq, x.reason) for x in box.losses()] == [(1, "too_large")]
    assert box.drops() == [] and box.stats().alarm
    box.close()
