"""Plates in the server: ingest hands each stored violation to the plate workers; corrections.

Real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), real evidence store, real
reader; the last test goes through a real MQTT broker and the ingest process's own threads.
"""

from __future__ import annotations

import struct
import time
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlmodel import col, select

from central_server.errors import AppError
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.ingest import IngestLimits, Ingestor, IngestService, OutcomeKind, ingest_once
from central_server.models import AuditEvent, Violation
from central_server.plates_service import record_plate_correction, store_reading
from central_server.plates_worker import JobStatus, PlateWorkerPool, read_violation
from central_server.server_keys import register_server_key
from central_server.settings import Settings
from plates import PlateReader
from protocol.chunks import split_packet
from protocol.enums import MediaRole
from protocol.ids import new_packet_id
from protocol.keys import Ed25519PrivateKey, generate_private_key
from protocol.topics import Topics
from tests.factories import DEVICE_ID, fake_jpeg, fixed_device_key, make_packet, violation_dict
from tests.factories_db import make_device, make_device_key, make_site
from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient
from tests.fixtures.db import Database
from tests.plates.synth import find_font, render_plate

PLATE = "37-AB 246.80"  # a made-up plate, printed as on a motorbike
COMPACT = "37AB24680"
EDGE_PLATE = "73AA12345"  # what tests.factories' headers say the box read
LIMITS = IngestLimits(
    max_clock_skew_s=1e9,
    chunk_stage_ttl_s=600,
    chunk_stage_max_bytes_per_device=64 << 20,
    sequence_gap_report_after_s=3600,
)
WAIT_S = 60.0  # a generous bound for two cores busy with OCR; never a timing assertion


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    """One reader for the module (loading the models takes a second)."""
    return PlateReader()


@pytest.fixture
def server(
    db: Database, tmp_path: Path
) -> tuple[Ingestor, FilesystemEvidenceStore, Ed25519PrivateKey]:
    """An ingestor and evidence store with the test device enrolled."""
    key = generate_private_key()
    with db.session() as session:
        make_site(session, id="dong-hoi-01")
        make_device(session, id=DEVICE_ID, site_id="dong-hoi-01")
        make_device_key(session, private_key=fixed_device_key(), device_id=DEVICE_ID)
        register_server_key(session, key)
    store = FilesystemEvidenceStore(tmp_path / "evidence")
    return Ingestor(db.engine, store, key, LIMITS), store, key


def plate_jpegs() -> tuple[bytes, bytes]:
    """A vehicle-like scene with a motorbike plate, and the plate's crop, as JPEG."""
    if find_font() is None:
        pytest.skip("no DejaVu Sans Condensed Bold font: apt-get install fonts-dejavu-core")
    plate = render_plate(PLATE, shape="motorbike", lines=2, height=90, turn=(10.0, 5.0, 3.0))
    x1, y1, x2, y2 = (int(v) for v in plate.box)
    crop = plate.image[max(0, y1 - 6) : y2 + 6, max(0, x1 - 6) : x2 + 6]
    return _jpeg(plate.image), _jpeg(crop)


def _jpeg(image: Any) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(data.tobytes())


def pixel_flood() -> bytes:
    """A small JPEG whose header claims 60 000 × 60 000 pixels."""
    data = _jpeg(np.zeros((64, 64, 3), np.uint8))
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", 60_000, 60_000) + data[sof + 9 :]


def ingest(ingestor: Ingestor, scene: bytes, crop: bytes) -> uuid.UUID:
    """Store a packet with these images; returns its id."""
    header, data = make_packet(
        {MediaRole.scene_at: scene, MediaRole.plate_crop: crop},
        packet_id=new_packet_id(),
        seq=int(time.time_ns() % 10**9),
    )
    outcome = ingest_once(
        ingestor, Topics().evidence(DEVICE_ID), split_packet(header.packet_id, data, 1 << 22)[0]
    )
    assert outcome.kind is OutcomeKind.stored
    return header.packet_id


def violation_of(db: Database, packet_id: uuid.UUID) -> Violation:
    """The stored violation of a packet."""
    with db.session() as session:
        return session.exec(select(Violation).where(col(Violation.packet_id) == packet_id)).one()


def test_a_stored_packet_gets_the_plate_read_from_its_crop(
    db: Database, server: Any, reader: PlateReader
) -> None:
    ingestor, store, _ = server
    packet_id = ingest(ingestor, *plate_jpegs())
    pool = PlateWorkerPool(db.engine, store, reader_factory=lambda: reader)
    pool.start(catch_up=False)
    try:
        pool.submit(packet_id)
        assert pool.wait_idle(WAIT_S)
    finally:
        pool.stop()
    violation = violation_of(db, packet_id)
    assert (violation.plate_text, violation.plate_printed) == (COMPACT, PLATE)
    assert violation.plate_lines == 2 and violation.plate_read_at is not None
    candidates = violation.plate_candidates or []
    assert candidates[0]["source"] == "server" and candidates[0]["text"] == COMPACT
    assert [m["name"].split(" ")[0] for m in candidates[0]["models"]] == [
        "PP-OCRv6_det_small",
        "PP-OCRv6_rec_small",
    ]
    # What the box read stays, after the server's candidates.
    assert any(c["source"] == "edge" and c["text"] == EDGE_PLATE for c in candidates)


@pytest.mark.parametrize(
    "bad",
    [fake_jpeg(2000), _jpeg(np.zeros((10, 12, 3), np.uint8)), pixel_flood()],
    ids=["corrupt", "tiny", "pixel-flood"],
)
def test_bad_images_give_no_plate_with_the_reason_and_the_violation_is_kept(
    db: Database, server: Any, reader: PlateReader, bad: bytes
) -> None:
    ingestor, store, _ = server
    packet_id = ingest(ingestor, bad, bad)
    result = read_violation(db.engine, store, reader, packet_id)
    assert result.status is JobStatus.no_plate
    assert "plate_crop" in result.detail and "scene_at" in result.detail
    violation = violation_of(db, packet_id)
    assert violation.plate_read_at is not None
    assert violation.plate_text == EDGE_PLATE  # the box's reading is all there is
    assert [c["source"] for c in violation.plate_candidates or []] == ["edge"]


def test_without_a_usable_crop_the_plate_is_read_on_the_vehicle_in_the_scene(
    db: Database, server: Any, reader: PlateReader
) -> None:
    ingestor, store, _ = server
    if find_font() is None:
        pytest.skip("no DejaVu Sans Condensed Bold font: apt-get install fonts-dejavu-core")
    ours = render_plate(PLATE, shape="motorbike", lines=2, height=90).image
    other = render_plate("43-AB 111.11", shape="motorbike", lines=2, height=90).image
    h = max(ours.shape[0], other.shape[0])
    scene = np.concatenate(
        [np.pad(im, ((0, h - im.shape[0]), (0, 0), (0, 0)), mode="edge") for im in (other, ours)],
        axis=1,
    )
    violation = violation_dict()
    for point in violation["track"]:  # the offending vehicle is the one on the right
        point["box"] = [other.shape[1], 0, scene.shape[1] - 1, h - 1]
    header, data = make_packet(
        {MediaRole.scene_at: _jpeg(scene), MediaRole.plate_crop: fake_jpeg(500)},
        packet_id=new_packet_id(),
        frame={"width": scene.shape[1], "height": h, "fps": 25.0},
        violation=violation,
    )
    topic = Topics().evidence(DEVICE_ID)
    assert ingest_once(ingestor, topic, split_packet(header.packet_id, data, 1 << 22)[0]).kind is (
        OutcomeKind.stored
    )
    result = read_violation(db.engine, store, reader, header.packet_id)
    assert result.status is JobStatus.read
    assert violation_of(db, header.packet_id).plate_text == COMPACT  # not the other vehicle's


def test_violations_never_read_are_read_when_the_workers_start(
    db: Database, server: Any, reader: PlateReader
) -> None:
    ingestor, store, _ = server
    packet_id = ingest(ingestor, *plate_jpegs())  # stored while no worker ran
    pool = PlateWorkerPool(db.engine, store, reader_factory=lambda: reader)
    pool.start()
    try:
        assert _wait_until(lambda: violation_of(db, packet_id).plate_read_at is not None)
    finally:
        pool.stop()
    assert violation_of(db, packet_id).plate_text == COMPACT


def test_a_correction_is_checked_audited_and_kept_beside_the_machine_reading(
    db: Database, server: Any, reader: PlateReader
) -> None:
    ingestor, store, _ = server
    packet_id = ingest(ingestor, *plate_jpegs())
    read_violation(db.engine, store, reader, packet_id)
    violation_id = violation_of(db, packet_id).id
    assert violation_id is not None
    with db.session() as session:
        locked = session.get(Violation, violation_id, with_for_update=True)
        assert locked is not None
        with pytest.raises(AppError) as refused:
            record_plate_correction(session, locked, "37-AB 246.8O0", "user:7")
        assert refused.value.status_code == 422 and "Biển số" in refused.value.message_vi
        record_plate_correction(session, locked, "37-AB 246.86", "user:7")
    violation = violation_of(db, packet_id)
    assert (violation.plate_text, violation.plate_printed) == ("37AB24686", "37-AB 246.86")
    assert violation.plate_corrected_by == "user:7" and violation.plate_corrected_at is not None
    assert (violation.plate_candidates or [])[0]["text"] == COMPACT  # the machine's, beside it
    with db.session() as session:
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "violation.plate_corrected")
        ).one()
    assert (event.actor, event.entity_id) == ("user:7", str(violation_id))
    # A late machine reading refreshes the candidates but never the corrected plate.
    with db.session() as session:
        store_reading(session, violation_id, [])
    assert violation_of(db, packet_id).plate_text == "37AB24686"


@pytest.mark.mosquitto
def test_a_packet_arriving_through_the_broker_gets_its_candidates(
    db: Database, broker: BrokerEndpoint, tmp_path: Path, reader: PlateReader
) -> None:
    with db.session() as session:
        make_device(session, id=DEVICE_ID)
        make_device_key(session, private_key=fixed_device_key(), device_id=DEVICE_ID)
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=db.url,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        topic_prefix=broker.topic_prefix,
        max_clock_skew_s=1e9,
    )
    pool = PlateWorkerPool(
        db.engine, FilesystemEvidenceStore(settings.evidence_dir), reader_factory=lambda: reader
    )
    service = IngestService(settings, client_id=broker.client_id("ingest"), on_stored=pool.submit)
    pool.start(catch_up=False)
    service.start()
    box = MqttTestClient(broker.host, broker.port, broker.client_id("box"))
    box.connect()
    try:
        assert service.wait_ready(WAIT_S)
        scene, crop = plate_jpegs()
        header, data = make_packet({MediaRole.scene_at: scene, MediaRole.plate_crop: crop})
        for chunk in split_packet(header.packet_id, data, 64 * 1024):
            box.publish(Topics(broker.topic_prefix).evidence(DEVICE_ID), chunk, qos=1)
        assert _wait_until(lambda: _read_at(db, header.packet_id))
    finally:
        box.close()
        service.stop()
        pool.stop()
    assert violation_of(db, header.packet_id).plate_text == COMPACT


def _read_at(db: Database, packet_id: uuid.UUID) -> bool:
    with db.session() as session:
        found = session.exec(select(Violation).where(col(Violation.packet_id) == packet_id)).first()
        return found is not None and found.plate_read_at is not None


def _wait_until(check: Any) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False
