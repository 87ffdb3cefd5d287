"""Capture times the server cannot trust are stored flagged for review, never dropped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from central_server.ingest import OutcomeKind
from central_server.models import Packet, Violation
from tests.central_server.ingest.conftest import RECEIVED_AT, IngestEnv
from tests.factories import FIXED_TIME, header_dict, make_parts
from tests.factories import fixed_device_key as device_key  # not collected as a test


def _clock(**overrides: Any) -> dict[str, Any]:
    clock: dict[str, Any] = header_dict(make_parts(), device_key())["clock"]
    return clock | overrides


def _store(env: IngestEnv, received_after: timedelta, **clock: Any) -> tuple[Packet, Violation]:
    header, data = env.packet(clock=_clock(**clock))
    [outcome] = env.send(data, received_at=FIXED_TIME + received_after)
    assert outcome.kind is OutcomeKind.stored
    with env.db.session() as session:
        packet = session.get(Packet, header.packet_id)
        violation = session.exec(select(Violation)).one()
    assert packet is not None
    return packet, violation


def test_a_prompt_packet_from_a_synced_box_is_not_flagged(ingest_env: IngestEnv) -> None:
    packet, violation = _store(ingest_env, RECEIVED_AT - FIXED_TIME)

    assert not packet.skew_flagged and not violation.clock_flagged
    assert packet.clock_skew_s == pytest.approx(-10)


def test_a_late_packet_from_a_synced_box_is_a_backlog_not_a_clock_fault(
    ingest_env: IngestEnv,
) -> None:
    packet, violation = _store(ingest_env, timedelta(hours=6))

    assert not packet.skew_flagged and not violation.clock_flagged


def test_a_capture_time_in_the_future_is_flagged(ingest_env: IngestEnv) -> None:
    packet, violation = _store(ingest_env, timedelta(minutes=-30))

    assert packet.skew_flagged and violation.clock_flagged
    assert packet.clock_skew_s == pytest.approx(1800)


def test_a_far_capture_time_from_an_unsynced_box_is_flagged(ingest_env: IngestEnv) -> None:
    packet, violation = _store(ingest_env, timedelta(hours=2), synced=False, source="rtc")

    assert packet.skew_flagged and violation.clock_flagged


def test_an_unsynced_clock_flags_the_violation_for_review(ingest_env: IngestEnv) -> None:
    packet, violation = _store(ingest_env, timedelta(seconds=5), synced=False, source="none")

    assert not packet.skew_flagged and violation.clock_flagged


def test_a_large_reported_offset_is_flagged(ingest_env: IngestEnv) -> None:
    packet, violation = _store(ingest_env, timedelta(seconds=5), offset_ms=900_000.0)

    assert packet.skew_flagged and violation.clock_flagged
