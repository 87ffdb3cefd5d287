"""The outbox on a disk that fills up (a real 2 MiB tmpfs), and under kill -9."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge_agent.outbox import Outbox, OutboxFullError
from protocol.enums import MediaRole
from protocol.envelope import decode_packet, open_packet, packet_sha256
from tests.edge_agent.packets import DEVICE_KEY, make_packet

REPO = Path(__file__).resolve().parents[2]
STILLS = {MediaRole.scene_at: 30_000, MediaRole.plate_crop: 10_000}


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _fill(box: Outbox, count: int) -> list[int]:
    """Put `count` packets with a 150 kB clip; return the seqs that had to be lost."""
    lost = []
    for seq in range(1, count + 1):
        packet = make_packet(seq, clip=150_000, stills=STILLS)
        try:
            box.put(packet.packet_id, packet.seq, packet.data)
        except OutboxFullError:
            lost.append(seq)
    return lost


def _assert_clips_went_first(box: Outbox) -> None:
    """When packet s lost a still, every older packet had already lost its clip."""
    drops = box.drops()
    for i, drop in enumerate(drops):
        if drop.kind == "still":
            clips_before = {d.seq for d in drops[:i] if d.kind == "clip"}
            assert set(range(1, drop.seq)) <= clips_before, f"still of {drop.seq} too early"
    assert "packet" not in {d.kind for d in drops}


def _assert_all_verify(box: Outbox) -> list[tuple[MediaRole, ...]]:
    dropped = []
    for item in box.due(1000):
        packet = open_packet(item.data, DEVICE_KEY.public_key())
        dropped.append(packet.dropped)
    return dropped


def test_a_full_disk_costs_clips_first_and_no_packet(tiny_fs: Path) -> None:
    box = Outbox(tiny_fs / "outbox.db", max_bytes=10**9, min_free_bytes=0, reserve_bytes=256_000)
    assert _fill(box, 40) == []  # ten of them fill the disk

    drops = box.drops()
    assert drops[0].kind == "clip" and drops[0].seq == 1
    first_still = next(i for i, d in enumerate(drops) if d.kind == "still")
    assert [d.seq for d in drops[:first_still]] == list(range(1, first_still + 1))
    assert drops[first_still].seq == 1  # the oldest packet gives its stills first
    assert {d.reason for d in drops} == {"disk_space"}
    _assert_clips_went_first(box)
    assert box.losses() == [] and box.stats().alarm
    assert len(_assert_all_verify(box)) == 40
    box.close()
    assert _integrity(tiny_fs / "outbox.db") == "ok"


def test_enospc_itself_is_survived_by_making_room(
    tiny_fs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # No free-space estimate: every write runs until SQLite reports the disk full.
    box = Outbox(tiny_fs / "outbox.db", max_bytes=10**9, min_free_bytes=None, reserve_bytes=256_000)
    with caplog.at_level(logging.WARNING, logger="edge_agent"):
        assert _fill(box, 30) == []
    assert "disk full storing packet" in caplog.text
    assert {d.reason for d in box.drops()} == {"disk_full"}
    _assert_clips_went_first(box)
    dropped = _assert_all_verify(box)
    assert len(dropped) == 30 and dropped[-1] == ()  # the newest packet is whole
    box.close()
    assert _integrity(tiny_fs / "outbox.db") == "ok"


def test_with_nothing_left_to_drop_the_loss_is_still_recorded(tiny_fs: Path) -> None:
    box = Outbox(tiny_fs / "outbox.db", max_bytes=10**9, min_free_bytes=None, reserve_bytes=256_000)
    with (tiny_fs / "filler").open("wb", buffering=0) as filler:  # something else fills it
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError:
            pass
    packet = make_packet(1, clip=150_000, stills=STILLS)
    with pytest.raises(OutboxFullError, match="disk_full"):
        box.put(packet.packet_id, packet.seq, packet.data)
    (loss,) = box.losses()
    assert (loss.packet_id, loss.sha256) == (str(packet.packet_id), packet_sha256(packet.data))
    assert box.stats().alarm
    box.close()
    assert _integrity(tiny_fs / "outbox.db") == "ok"


_WRITER = textwrap.dedent(
    """
    import sys
    from edge_agent.outbox import Outbox
    from protocol.envelope import packet_sha256
    from tests.edge_agent.packets import make_packet

    box = Outbox(sys.argv[1], max_bytes=10**9, min_free_bytes=0)
    seq = 0
    while True:
        seq += 1
        p = make_packet(seq, clip=200_000)
        box.put(p.packet_id, p.seq, p.data)
        print(p.packet_id, packet_sha256(p.data), flush=True)  # only once committed
    """
)


def test_every_committed_put_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    with child.stdout:
        committed = [child.stdout.readline().split() for _ in range(25)]
        os.kill(child.pid, signal.SIGKILL)  # mid-put: the child never stops putting
        child.wait()

    assert _integrity(path) == "ok"
    box = Outbox(path, min_free_bytes=0)
    stored = {str(i.packet_id): i for i in box.due(10_000)}
    box.close()
    for packet_id, sha256 in committed:
        assert packet_id in stored
        assert packet_sha256(stored[packet_id].data) == sha256 == stored[packet_id].sha256
        assert decode_packet(stored[packet_id].data).dropped == ()
