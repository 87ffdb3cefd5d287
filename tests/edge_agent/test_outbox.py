"""The outbox queue: durable puts, due/retry scheduling, acks, stats, threads."""

from __future__ import annotations

import random
import threading
import uuid
from pathlib import Path

import pytest

from edge_agent.outbox import AckOutcome, Outbox
from protocol.enums import AckStatus, MediaRole
from protocol.envelope import packet_sha256
from tests.edge_agent.packets import make_packet


def test_every_commit_is_fsynced(outbox: Outbox) -> None:
    assert outbox.durability() == {"journal_mode": "truncate", "synchronous": 2}


def test_put_survives_reopening_and_is_idempotent(tmp_path: Path) -> None:
    packet = make_packet(1, clip=5_000)
    first = Outbox(tmp_path / "o.db", min_free_bytes=0)
    first.put(packet.packet_id, packet.seq, packet.data)
    first.put(packet.packet_id, packet.seq, packet.data)  # a retry by the evidence stage
    first.close()

    again = Outbox(tmp_path / "o.db", min_free_bytes=0)
    items = again.due(10)
    again.close()
    assert [(i.packet_id, i.seq, i.data) for i in items] == [(packet.packet_id, 1, packet.data)]
    assert items[0].sha256 == packet_sha256(packet.data)


def test_put_refuses_a_packet_whose_header_disagrees(outbox: Outbox) -> None:
    packet = make_packet(3)
    with pytest.raises(ValueError, match="does not match"):
        outbox.put(packet.packet_id, 4, packet.data)
    with pytest.raises(ValueError, match="does not match"):
        outbox.put(uuid.uuid4(), 3, packet.data)
    assert outbox.stats().depth == 0


def test_due_is_oldest_seq_first_and_never_hands_a_packet_out_twice(outbox: Outbox) -> None:
    packets = [make_packet(seq) for seq in (5, 2, 9, 7)]
    for p in packets:
        outbox.put(p.packet_id, p.seq, p.data)

    assert [i.seq for i in outbox.due(2, now=0)] == [2, 5]
    assert [i.seq for i in outbox.due(10, now=0)] == [7, 9]
    assert outbox.due(10, now=0) == []

    outbox.release(packets[1].packet_id)  # publishing seq 2 failed: due again at once
    assert [i.seq for i in outbox.due(10, now=0)] == [2]


def test_a_published_packet_waits_for_its_ack_with_growing_backoff(tmp_path: Path) -> None:
    box = Outbox(
        tmp_path / "o.db",
        min_free_bytes=0,
        ack_timeout=10,
        max_backoff=100,
        jitter=0.2,
        rng=random.Random(7),
    )
    packet = make_packet(1)
    box.put(packet.packet_id, packet.seq, packet.data)
    now = 1_000.0
    waits = []
    for _ in range(6):
        (item,) = box.due(1, now=now)
        at = box.mark_published(item.packet_id, now=now)
        assert at is not None
        assert box.due(1, now=at - 0.001) == []  # still waiting for the server's ack
        waits.append(at - now)
        now = at
    assert [i.attempts for i in box.due(1, now=now)] == [6]
    box.close()
    for wait, base in zip(waits, [10, 20, 40, 80, 100, 100], strict=True):
        assert base <= wait <= base * 1.2


def test_a_clock_set_back_does_not_strand_a_packet(outbox: Outbox) -> None:
    packet = make_packet(1)
    outbox.put(packet.packet_id, packet.seq, packet.data)
    (item,) = outbox.due(1, now=2_000_000_000)
    outbox.mark_published(item.packet_id, now=2_000_000_000)
    # The box booted with a clock years ahead, then NTP corrected it.
    assert [i.seq for i in outbox.due(1, now=1_800_000_000)] == [1]


def test_stored_and_duplicate_acks_delete_only_the_matching_packet(outbox: Outbox) -> None:
    one, two = make_packet(1), make_packet(2)
    for p in (one, two):
        outbox.put(p.packet_id, p.seq, p.data)
    sha_one = packet_sha256(one.data)

    assert outbox.acked(one.packet_id, "ab" * 32, AckStatus.stored) is AckOutcome.mismatch
    assert outbox.acked(one.packet_id, sha_one, AckStatus.stored) is AckOutcome.deleted
    assert outbox.acked(one.packet_id, sha_one, AckStatus.stored) is AckOutcome.unknown
    assert outbox.acked(two.packet_id, packet_sha256(two.data), "duplicate") is AckOutcome.deleted
    stats = outbox.stats()
    assert (stats.depth, stats.bytes, stats.sha_mismatches) == (0, 0, 1)


def test_an_ack_naming_the_packet_before_a_drop_still_releases_it(tmp_path: Path) -> None:
    big = make_packet(1, clip=60_000)
    box = Outbox(tmp_path / "o.db", max_bytes=len(big.data) + 20_000, min_free_bytes=0)
    box.put(big.packet_id, big.seq, big.data)
    (sent,) = box.due(1)  # on the wire, clip included, when the disk filled
    box.mark_published(sent.packet_id)
    later = make_packet(2, clip=60_000)
    box.put(later.packet_id, later.seq, later.data)  # drops the first packet's clip
    assert box.drops()[0].packet_id == str(big.packet_id)

    outcome = box.acked(big.packet_id, packet_sha256(big.data), AckStatus.stored)
    assert outcome is AckOutcome.deleted
    assert [i.seq for i in box.due(5)] == [2]
    box.close()


def test_stats_report_depth_bytes_age_and_the_heartbeat_view(outbox: Outbox) -> None:
    assert outbox.stats().oldest_age is None
    packets = [make_packet(seq, stills={MediaRole.scene_at: 1_000}) for seq in (1, 2)]
    for p in packets:
        outbox.put(p.packet_id, p.seq, p.data)
    stats = outbox.stats()
    assert stats.depth == 2
    assert stats.bytes == sum(len(p.data) for p in packets)
    assert stats.oldest_age is not None and stats.oldest_age >= 0
    assert stats.dropped == {"clip": 0, "still": 0, "packet": 0}
    assert (stats.losses, stats.dead_letters, stats.alarm) == (0, 0, False)
    status = stats.to_status(in_flight=1)
    assert (status.depth, status.bytes, status.in_flight) == (2, stats.bytes, 1)
    assert status.oldest_at is not None


def test_capture_and_publisher_threads_share_the_outbox(outbox: Outbox) -> None:
    errors: list[BaseException] = []
    total = 60
    done = threading.Event()

    def capture(first: int) -> None:
        try:
            for seq in range(first, first + total // 2):
                p = make_packet(seq)
                outbox.put(p.packet_id, p.seq, p.data)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def publisher() -> None:
        acked = 0
        try:
            while acked < total and not done.is_set():
                for item in outbox.due(5):
                    outbox.mark_published(item.packet_id)
                    outbox.acked(item.packet_id, item.sha256, AckStatus.stored)
                    acked += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=capture, args=(0,), name="test-capture-a"),
        threading.Thread(target=capture, args=(1000,), name="test-capture-b"),
        threading.Thread(target=publisher, name="test-publisher"),
    ]
    for t in threads:
        t.start()
    for t in threads[:2]:
        t.join()
    threads[2].join(timeout=60)
    done.set()
    assert errors == []
    assert outbox.stats().depth == 0
