from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import select

from central_server.models import (
    ChunkStage,
    Device,
    DeviceKey,
    EvidencePart,
    Violation,
    ViolationStatus,
)
from protocol.enums import BehaviourCode, MediaRole, PlateColour
from tests.factories_db import (
    make_device,
    make_device_key,
    make_packet,
    make_site,
    make_violation,
)
from tests.fixtures.db import Database

HANOI = timezone(timedelta(hours=7))


def test_a_violation_round_trips_with_enums_json_and_utc_times(db: Database) -> None:
    occurred = datetime(2025, 3, 18, 7, 30, 15, 123456, tzinfo=HANOI)
    with db.session() as session:
        violation_id = make_violation(
            session,
            occurred_at=occurred,
            plate_colour=PlateColour.yellow,
            facts={"lane": "làn 2", "time_into_red_s": 1.25},
            plate_candidates=[{"text": "30A12345", "confidence": 0.91}],
        ).id
    with db.session() as session:
        stored = session.get(Violation, violation_id)
    assert stored is not None
    assert stored.status is ViolationStatus.pending_review
    assert stored.behaviour is BehaviourCode.red_light
    assert stored.plate_colour is PlateColour.yellow
    assert stored.facts == {"lane": "làn 2", "time_into_red_s": 1.25}
    assert stored.plate_candidates == [{"text": "30A12345", "confidence": 0.91}]
    assert stored.occurred_at == occurred
    assert stored.occurred_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), db.session() as session:
        make_device(session, last_seen_at=datetime(2025, 1, 1, 8, 0))


def test_an_edit_based_on_a_stale_copy_is_refused(db: Database) -> None:
    with db.session() as session:
        stale = make_violation(session)
    violation_id = stale.id
    with db.session() as session:
        fresh = session.get(Violation, violation_id)
        assert fresh is not None
        fresh.status = ViolationStatus.approved
    stale.status = ViolationStatus.rejected
    with pytest.raises(StaleDataError), db.session() as session:
        session.add(stale)
    with db.session() as session:
        stored = session.get(Violation, violation_id)
        assert stored is not None
        assert (stored.status, stored.version) == (ViolationStatus.approved, 2)


def test_updating_a_violation_stamps_updated_at(db: Database) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=timezone.utc)
    with db.session() as session:
        violation_id = make_violation(session, updated_at=long_ago).id
    with db.session() as session:
        violation = session.get(Violation, violation_id)
        assert violation is not None
        violation.plate_text = "51F12346"
    with db.session() as session:
        stored = session.get(Violation, violation_id)
        assert stored is not None and stored.updated_at > long_ago


def test_a_device_sequence_is_stored_once(db: Database) -> None:
    with db.session() as session:
        device = make_device(session)
        make_packet(session, device_id=device.id, seq=7)
    with pytest.raises(IntegrityError), db.session() as session:
        make_packet(session, device_id=device.id, seq=7)


def test_a_packet_holds_each_media_role_once(db: Database) -> None:
    with db.session() as session:
        packet_id = make_packet(session).packet_id
    part = {"packet_id": packet_id, "role": MediaRole.scene_at, "mime": "image/jpeg", "size": 10}
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(EvidencePart(**part, sha256="a" * 64))
        session.flush()
        session.add(EvidencePart(**part, sha256="b" * 64))
        session.flush()


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(Device(id="dev-orphan", site_id="no-such-site"))
        session.flush()


def test_a_chunk_is_staged_once_per_index(db: Database) -> None:
    with db.session() as session:
        packet_id = make_packet(session).packet_id
    chunk = {
        "packet_id": packet_id,
        "index": 0,
        "device_id": "dev-1",
        "count": 2,
        "total_size": 10,
        "packet_sha256": "c" * 64,
        "data": b"\x00\xff" * 3,
    }
    with db.session() as session:
        session.add(ChunkStage(**chunk))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(ChunkStage(**chunk))
    with db.session() as session:
        staged = session.exec(select(ChunkStage)).one()
    assert staged.data == b"\x00\xff" * 3


def test_device_keys_keep_raw_public_keys_and_open_ranges(db: Database) -> None:
    with db.session() as session:
        key = make_device_key(
            session, device_id=make_device(session, site_id=make_site(session).id).id
        )
    with db.session() as session:
        stored = session.exec(select(DeviceKey).where(DeviceKey.key_id == key.key_id)).one()
    assert len(stored.public_key) == 32
    assert stored.valid_to_seq is None
