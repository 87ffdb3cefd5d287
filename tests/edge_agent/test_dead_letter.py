"""Dead letters: a rejected packet is kept whole, listed, exported and resent (API and CLI)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from edge_agent.dead_letter import DeadLetterStore, cli_main
from edge_agent.outbox import AckOutcome, Outbox
from protocol.enums import AckStatus
from protocol.envelope import packet_sha256
from tests.edge_agent.packets import Packet, make_packet


def _reject(box: Outbox, packet: Packet, reason: str = "bad_signature") -> AckOutcome:
    box.put(packet.packet_id, packet.seq, packet.data)
    (item,) = [i for i in box.due(10) if i.packet_id == packet.packet_id]
    box.mark_published(item.packet_id)
    return box.acked(
        packet.packet_id,
        item.sha256,
        AckStatus.rejected,
        reason=reason,
        ack_bytes=b"signed-ack",
        detail="khóa không khớp",
    )


def test_a_rejected_packet_moves_whole_to_the_dead_letters(outbox: Outbox) -> None:
    packet = make_packet(4, clip=2_000)
    assert _reject(outbox, packet) is AckOutcome.dead_lettered
    stats = outbox.stats()
    assert (stats.depth, stats.dead_letters) == (0, 1)

    (letter,) = DeadLetterStore(outbox).list()
    assert (letter.packet_id, letter.seq, letter.reason) == (packet.packet_id, 4, "bad_signature")
    assert letter.sha256 == packet_sha256(packet.data)
    assert (letter.size, letter.has_ack, letter.detail) == (
        len(packet.data),
        True,
        "khóa không khớp",
    )
    # The same packet offered again is not queued a second time.
    outbox.put(packet.packet_id, packet.seq, packet.data)
    assert outbox.stats().depth == 0


def test_export_writes_the_packets_their_acks_and_a_manifest(
    outbox: Outbox, tmp_path: Path
) -> None:
    packets = [make_packet(seq) for seq in (2, 1)]
    for p in packets:
        _reject(outbox, p, reason="replay")
    manifest_path = DeadLetterStore(outbox).export(tmp_path / "export")

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))["dead_letters"]
    assert [m["seq"] for m in manifest] == [1, 2]
    for entry in manifest:
        data = (manifest_path.parent / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["reason"] == "replay" and entry["detail"] == "khóa không khớp"
        assert (manifest_path.parent / entry["ack_file"]).read_bytes() == b"signed-ack"
    assert {m["packet_id"] for m in manifest} == {str(p.packet_id) for p in packets}


def test_resend_puts_dead_letters_back_in_the_queue_with_attempts_reset(outbox: Outbox) -> None:
    one, two = make_packet(1), make_packet(2)
    for p in (one, two):
        _reject(outbox, p)
    store = DeadLetterStore(outbox)

    assert store.resend([two.packet_id]) == [two.packet_id]
    (item,) = outbox.due(10)
    assert (item.packet_id, item.attempts, item.data) == (two.packet_id, 0, two.data)
    assert [d.packet_id for d in store.list()] == [one.packet_id]

    assert store.resend() == [one.packet_id]
    assert store.list() == [] and outbox.stats().depth == 2


def test_cli_lists_exports_and_resends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path, min_free_bytes=0)
    packet = make_packet(9)
    _reject(box, packet)
    box.close()

    assert cli_main(["--outbox", str(path), "list"]) == 0
    out = capsys.readouterr().out
    assert "gói bị từ chối" in out and str(packet.packet_id) in out and "bad_signature" in out

    assert cli_main(["--outbox", str(path), "export", str(tmp_path / "x")]) == 0
    assert (tmp_path / "x" / f"{packet.packet_id}.twep").read_bytes() == packet.data
    assert "Đã xuất" in capsys.readouterr().out

    assert cli_main(["--outbox", str(path), "resend"]) == 2  # neither ids nor --all
    assert cli_main(["--outbox", str(path), "resend", str(packet.packet_id)]) == 0
    assert "Đã đưa 1 gói" in capsys.readouterr().out
    assert cli_main(["--outbox", str(path), "resend", str(packet.packet_id)]) == 1  # gone now
    assert "Không tìm thấy gói" in capsys.readouterr().out
    assert cli_main(["--outbox", str(path), "list"]) == 0
    assert "Không có gói nào bị từ chối" in capsys.readouterr().out

    assert cli_main(["--outbox", str(tmp_path / "missing.db"), "list"]) == 2
    assert "Không tìm thấy hàng đợi" in capsys.readouterr().out
