"""UUIDv7 packet ids: version and variant bits, time-ordered, unique."""

from __future__ import annotations

import time

from protocol.ids import new_packet_id, uuid7_from_parts, uuid7_time_ms


def test_version_variant_and_time() -> None:
    before = time.time_ns() // 1_000_000
    packet_id = new_packet_id()
    after = time.time_ns() // 1_000_000
    assert packet_id.version == 7
    assert packet_id.variant == "specified in RFC 4122"
    assert before <= uuid7_time_ms(packet_id) <= after + 1


def test_ids_from_one_process_never_go_backwards() -> None:
    ids = [new_packet_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_fields_land_where_rfc_9562_puts_them() -> None:
    value = uuid7_from_parts(0x0123_4567_89AB, 0xCDE, 0x3FFF_FFFF_FFFF_FFFF)
    assert str(value) == "01234567-89ab-7cde-bfff-ffffffffffff"
