"""Plate workers in the ingest process: each stored violation gets its plate read in the background.

The ingest calls `PlateWorkerPool.submit(packet_id)` after its commit (and after the ack): that
only queues the id, so reading never delays or stops ingest. A worker thread loads the packet's
`plate_crop` (read as a plate crop) and, when that gives no confident reading, its `scene_at`
(read around the vehicle's tracked box) from the evidence store, and stores the candidates with
`plates_service.store_reading`. A bad image (empty, tiny, corrupt, a pixel flood) ends as
"no plate" with its reason logged. On start, violations never read (a crash, a restart) are queued.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from central_server import db
from central_server.evidence_store import (
    EvidenceStore,
    EvidenceStoreError,
    FilesystemEvidenceStore,
)
from central_server.models import EvidencePart, Violation, utcnow
from central_server.plates_service import store_reading
from central_server.settings import Settings
from plates import PlateHint, PlateReading
from protocol.enums import MediaRole, VehicleClass

if TYPE_CHECKING:
    from plates import PlateReader

logger = logging.getLogger(__name__)

CATCH_UP_LIMIT = 1000
STORE_ATTEMPTS = 3
RETRY_S = 1.0
SCENE_MARGIN = 0.1  # the vehicle's box is widened by this share: its plate may stick out


class JobStatus(str, Enum):
    """How reading one violation's plate ended."""

    read = "read"  # candidates stored
    no_plate = "no_plate"  # the images hold no readable plate (or no usable image)
    missing = "missing"  # no such violation


@dataclass(frozen=True)
class JobResult:
    """The outcome of one plate job, with the reason when no plate was read."""

    status: JobStatus
    violation_id: int | None = None
    readings: tuple[PlateReading, ...] = ()
    detail: str = ""


def read_violation(
    engine: Engine, store: EvidenceStore, reader: PlateReader, packet_id: uuid.UUID
) -> JobResult:
    """Read the plate of the violation of a stored packet and store its candidates."""
    with db.session_scope(engine, read_only=True) as session:
        found = _load(session, packet_id)
    if found is None:
        return JobResult(JobStatus.missing, detail=f"no violation for packet {packet_id}")
    violation_id, parts, vehicle, region = found
    readings, crop_sha, problems = _read_parts(store, reader, parts, vehicle, region)
    with db.session_scope(engine) as session:
        store_reading(session, violation_id, readings, crop_sha256=crop_sha, now=utcnow())
    if not readings:
        detail = "; ".join(problems) or "không thấy biển số / no plate found"
        logger.info("violation %d: no plate (%s)", violation_id, detail)
        return JobResult(JobStatus.no_plate, violation_id, detail=detail)
    top = readings[0]
    logger.info("violation %d: plate %s (%.2f)", violation_id, top.text, top.confidence)
    return JobResult(JobStatus.read, violation_id, tuple(readings))


_Found = tuple[int, dict[MediaRole, str], VehicleClass, tuple[float, ...] | None]


def _load(session: Session, packet_id: uuid.UUID) -> _Found | None:
    violation = session.exec(select(Violation).where(col(Violation.packet_id) == packet_id)).first()
    if violation is None or violation.id is None:
        return None
    rows = session.exec(
        select(EvidencePart).where(
            col(EvidencePart.packet_id) == packet_id,
            col(EvidencePart.role).in_([MediaRole.plate_crop, MediaRole.scene_at]),
            col(EvidencePart.dropped).is_(False),
        )
    ).all()
    parts = {row.role: row.sha256 for row in rows}
    scene = next((row for row in rows if row.role is MediaRole.scene_at), None)
    region = _vehicle_box(violation, scene)
    return violation.id, parts, violation.vehicle_class, region


def _vehicle_box(violation: Violation, scene: EvidencePart | None) -> tuple[float, ...] | None:
    """The vehicle's tracked box nearest the violation time, in the scene image's pixels."""
    track: list[dict[str, Any]] = violation.facts.get("violation", {}).get("track") or []
    if not track or scene is None:
        return None
    moment = violation.occurred_at
    nearest = min(track, key=lambda p: abs(datetime.fromisoformat(p["t"]) - moment))
    frame = violation.facts.get("frame") or {}
    scale = 1.0
    if scene.width and frame.get("width"):
        scale = scene.width / float(frame["width"])
    return tuple(float(v) * scale for v in nearest["box"])


def _read_parts(
    store: EvidenceStore,
    reader: PlateReader,
    parts: dict[MediaRole, str],
    vehicle: VehicleClass,
    region: tuple[float, ...] | None,
) -> tuple[list[PlateReading], str | None, list[str]]:
    """Readings from the plate crop, else from the scene; problems met on the way."""
    from plates import PlateImageError, decode_image

    problems: list[str] = []
    crop_sha = parts.get(MediaRole.plate_crop)
    readings: list[PlateReading] = []
    for role in (MediaRole.plate_crop, MediaRole.scene_at):
        sha = parts.get(role)
        if sha is None:
            continue
        try:
            image = decode_image(store.get(sha))
        except (PlateImageError, EvidenceStoreError) as exc:
            problems.append(f"{role.value}: {exc}")
            continue
        if role is MediaRole.plate_crop:
            hint = PlateHint(vehicle=vehicle, plate_crop=True)
            found = reader.read(image, hint)
        else:
            found = _on_vehicle(
                reader.read(image, PlateHint(vehicle=vehicle, region=_box(region))), region
            )
        readings = _better(readings, found)
        if readings and readings[0].auto_accept:
            break
    return readings, crop_sha, problems


def _box(region: tuple[float, ...] | None) -> tuple[float, float, float, float] | None:
    if region is None or len(region) != 4:
        return None
    return (region[0], region[1], region[2], region[3])


def _on_vehicle(
    readings: list[PlateReading], region: tuple[float, ...] | None
) -> list[PlateReading]:
    """Only plates on the offending vehicle: a scene shows other vehicles' plates too."""
    box = _box(region)
    if box is None:
        return readings
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * SCENE_MARGIN, (y2 - y1) * SCENE_MARGIN
    return [
        r
        for r in readings
        if x1 - mx <= (r.box[0] + r.box[2]) / 2 <= x2 + mx
        and y1 - my <= (r.box[1] + r.box[3]) / 2 <= y2 + my
    ]


def _better(a: list[PlateReading], b: list[PlateReading]) -> list[PlateReading]:
    """The reading list whose top is grammatical and more confident."""
    if not a or not b:
        return a or b
    key_a = (a[0].grammatical, a[0].confidence)
    key_b = (b[0].grammatical, b[0].confidence)
    return b if key_b > key_a else a


class PlateWorkerPool:
    """Worker threads reading plates of newly stored violations; `submit` never blocks."""

    def __init__(
        self,
        engine: Engine,
        store: EvidenceStore,
        *,
        workers: int = 1,
        reader_factory: Callable[[], PlateReader] | None = None,
        owns_engine: bool = False,
    ) -> None:
        self.engine = engine
        self.store = store
        self._owns_engine = owns_engine
        self.worker_count = max(1, workers)
        self.reader: PlateReader | None = None
        self._reader_factory = reader_factory
        self._queue: queue.Queue[uuid.UUID | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._idle = threading.Condition()

    @classmethod
    def from_settings(cls, settings: Settings, *, workers: int = 1) -> PlateWorkerPool:
        """A pool on its own engine and the configured evidence store."""
        engine = db.make_engine(settings.database_url)
        store = FilesystemEvidenceStore(settings.evidence_dir)
        return cls(engine, store, workers=workers, owns_engine=True)

    def start(self, *, catch_up: bool = True) -> None:
        """Load the reader and start the workers (unread violations queued first)."""
        try:
            self.reader = (self._reader_factory or _default_reader)()
        except ImportError as exc:
            logger.error("plate reading disabled: %s (install trafficwatch[plates])", exc)
            return
        if catch_up:
            self._spawn("plates-catch-up", self._catch_up)
        for index in range(self.worker_count):
            self._spawn(f"plates-worker-{index}", self._work)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def submit(self, packet_id: uuid.UUID) -> None:
        """Queue a stored packet's violation for reading (the ingest's `on_stored` hook)."""
        if self.reader is None or self._stop.is_set():
            return
        with self._idle:
            self._busy += 1
        self._queue.put(packet_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted job is done (tests and orderly shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self._idle.wait(left):
                    return self._busy == 0
            return True

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers; jobs still queued are left (re-read by the next start's catch-up)."""
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in reversed(self._threads):
            thread.join(timeout)
            if thread.is_alive():
                logger.error("thread %s did not stop within %.0f s", thread.name, timeout)
        self._threads.clear()
        if self._owns_engine:
            self.engine.dispose()

    def _work(self) -> None:
        while True:
            packet_id = self._queue.get()
            if packet_id is None or self._stop.is_set():
                return
            try:
                self._run(packet_id)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _run(self, packet_id: uuid.UUID) -> None:
        assert self.reader is not None
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                read_violation(self.engine, self.store, self.reader, packet_id)
                return
            except Exception:
                # Never fatal: the violation keeps plate_read_at empty and is read on restart.
                if attempt == STORE_ATTEMPTS or self._stop.wait(RETRY_S * attempt):
                    logger.exception("plate reading of packet %s failed", packet_id)
                    return

    def _catch_up(self) -> None:
        try:
            for packet_id in unread_packets(self.engine, CATCH_UP_LIMIT):
                self.submit(packet_id)
        except Exception as exc:  # e.g. a database not migrated yet: the ingest says so
            logger.warning("could not list violations whose plate was never read: %s", exc)


def unread_packets(engine: Engine, limit: int) -> Sequence[uuid.UUID]:
    """Packets of violations the server never read a plate for, oldest first."""
    with db.session_scope(engine, read_only=True) as session:
        rows = session.exec(
            select(Violation.packet_id)
            .where(col(Violation.plate_read_at).is_(None))
            .order_by(col(Violation.id))
            .limit(limit)
        ).all()
    return list(rows)


def _default_reader() -> PlateReader:
    from plates import default_reader

    return default_reader()
