"""Faults on the box: `kill -9` at random points, and a disk that fills up (ENOSPC)."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import pytest

from protocol.keys import generate_private_key
from tests.fixtures.proxy import ProxyFactory
from tests.reliability.box import Box
from tests.reliability.harness import WAIT_S, Rig, wait_until

logger = logging.getLogger(__name__)

INCARNATION = 100_000  # sequence numbers each box incarnation may use


def _kill_repeatedly(rig: Rig, kills: int, seed: int) -> None:
    """Start the box, SIGKILL it at a random moment, `kills` times; then let it drain."""
    rng = random.Random(seed)
    logger.info("kill -9 schedule seed %d (rerun with it to reproduce the moments)", seed)
    device = rig.device("cam-kill9")
    key = rig.enrol(device)
    rig.ingest()
    box = rig.box_process(device, key)
    for incarnation in range(kills):
        box.start(seq_start=incarnation * INCARNATION, count=INCARNATION, interval=0.03)
        # From just after start-up (replaying the outbox) to well into steady publishing.
        time.sleep(rng.uniform(0.0, 1.2))
        box.kill()
    box.start(seq_start=kills * INCARNATION, count=3, drain=True)
    assert box.wait_done(WAIT_S * 2), "the box did not drain its outbox after the last restart"
    verdict = rig.check(box.paths)
    assert verdict.lost == 0 and verdict.stored >= 3
    logger.info("%d kills: %s", kills, verdict.summary())


def test_a_box_killed_at_random_points_loses_nothing_and_stores_nothing_twice(rig: Rig) -> None:
    _kill_repeatedly(rig, kills=4, seed=random.randrange(1 << 30))


@pytest.mark.slow
def test_fifty_kills_of_the_box_lose_nothing_and_store_nothing_twice(rig: Rig) -> None:
    _kill_repeatedly(rig, kills=50, seed=random.randrange(1 << 30))


def _fill(directory: Path, n: int) -> Path:
    """Take every byte left on the filesystem (something else on the box ran wild)."""
    filler = directory / f"filler-{n}"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def _fill_and_put_until_a_loss(box: Box, disk: Path, first_seq: int, limit: int = 60) -> int:
    """Something else on the box eats every byte the outbox gives back, before each packet."""
    seq = first_seq
    while not box.outbox.losses() and seq < first_seq + limit:
        _fill(disk, seq)
        box.produce(seq)
        seq += 1
    for path in disk.glob("filler-*"):
        path.unlink()
    return seq


def test_a_full_box_disk_drops_parts_and_packets_on_record_and_delivers_the_rest(
    rig: Rig, tcp_proxy: ProxyFactory, tiny_fs: Path
) -> None:
    dev = rig.device("cam-enospc")
    key = rig.enrol(dev)
    rig.ingest()
    link = tcp_proxy(rig.endpoint.host, rig.endpoint.port)
    link.refuse()  # the uplink is down: the outbox has to hold everything
    box = rig.box(
        dev,
        key,
        outbox_path=tiny_fs / "outbox.db",
        host=link.host,
        port=link.port,
        clip=150_000,
        still=30_000,
        reserve_bytes=256_000,
    )
    for seq in range(12):  # 2.5 MB into 2 MiB: clips must go
        box.produce(seq)
    assert box.outbox.drops() and box.outbox.stats().alarm
    link.heal()
    wait_until(lambda: box.depth() == 0, what="the outbox to drain once the uplink is back")

    link.refuse()
    link.reset_all()
    end = _fill_and_put_until_a_loss(box, tiny_fs, first_seq=12)
    assert box.outbox.losses(), "the disk never got full enough to lose a packet"
    link.heal()
    box.produce(end)  # the disk has room again
    wait_until(lambda: box.depth() == 0, what="the outbox to drain after the losses")
    box.stop()
    verdict = rig.check(box.paths)
    assert verdict.stored_with_drops > 0 and verdict.lost > 0
    logger.info("ENOSPC: %s", verdict.summary())


def test_a_full_disk_costs_the_oldest_packets_not_every_one_of_them(
    rig: Rig, tiny_fs: Path
) -> None:
    dev = rig.device("cam-enospc-2")
    box = rig.box(
        dev,
        generate_private_key(),
        outbox_path=tiny_fs / "outbox.db",
        port=9,  # nothing listens: the box is offline throughout
        clip=150_000,
        still=30_000,
        reserve_bytes=256_000,
    )
    for seq in range(20):
        box.produce(seq)
    _fill_and_put_until_a_loss(box, tiny_fs, first_seq=20)
    stats = box.outbox.stats()
    lost = sorted(loss.seq for loss in box.outbox.losses())
    # Whole packets may go to make room for the newest, oldest first; but not all of them,
    # and not for nothing: the packet they made room for must then be stored.
    assert stats.depth > 0 and box.lost == [], f"{len(lost)} lost, {stats.depth} left"
    assert lost == list(range(len(lost))) and stats.alarm
