"""The evidence builder: a violation event in, one signed packet in the outbox out.

`submit(event)` is the rule stage's sink: it pins the key frame and the frame before it from the
ring, leaves a request for the frame after, queues the event and returns at once. The builder's
thread (`tw-evidence`) takes the events in order; for each it waits for the post-roll, takes the
clip from the segment buffer, encodes the stills, signs the packet and puts it in the outbox.

On stop, every queued event is still finished: the clip is cut short to what the buffer holds
and a still that never came is left out; the packet always goes to the outbox before the outbox
closes. Nothing is lost silently: an event the full queue cannot take, or one whose packet could
not be made, is logged and counted (`EvidenceFigures.dropped`).
"""

from __future__ import annotations

import logging
import queue
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from edge_agent.evidence.clip import Clip
from edge_agent.evidence.frames import FrameRequest, FrameRing, KeptFrame
from edge_agent.evidence.packet import BoxFacts, Capture, SequenceCounter, sign_packet
from edge_agent.evidence.settings import (
    CaptureSources,
    ClipSource,
    EvidenceFigures,
    EvidenceSettings,
)
from edge_agent.evidence.stills import (
    AFTER_S,
    BEFORE_S,
    KeyFrame,
    Still,
    crop_stills,
    find_key_frame,
    scene_stills,
)
from edge_agent.outbox import Outbox, OutboxFullError
from edge_agent.rules.types import ViolationEvent
from protocol.evidence import FrameInfo

logger = logging.getLogger(__name__)

__all__ = ["CaptureSources", "EvidenceBuilder", "EvidenceFigures", "EvidenceSettings"]

STOP_WAIT_S = 1.0  # on stop: how long a clip may still be waited for (the encoder's last frames)


@dataclass
class _Pending:
    event: ViolationEvent
    key: KeyFrame | None
    before: KeptFrame | None
    after: FrameRequest


@dataclass
class _Counters:
    submitted: int = 0
    built: int = 0
    dropped: int = 0
    key_frame_missed: int = 0
    without_clip: int = 0
    build_ms: deque[float] = field(default_factory=lambda: deque(maxlen=256))
    work_ms: deque[float] = field(default_factory=lambda: deque(maxlen=256))


class EvidenceBuilder:
    """Makes the packets of violation events off the capture path, in its own thread."""

    def __init__(
        self,
        *,
        facts: BoxFacts,
        outbox: Outbox,
        ring: FrameRing,
        clips: ClipSource | None,
        sources: CaptureSources,
        settings: EvidenceSettings | None = None,
        sequence: SequenceCounter | None = None,
    ) -> None:
        self.facts = facts
        self.outbox = outbox
        self.ring = ring
        self.clips = clips
        self.sources = sources
        self.settings = settings or EvidenceSettings()
        self.sequence = sequence or SequenceCounter(outbox)
        self._queue: queue.Queue[_Pending] = queue.Queue(self.settings.queue_size)
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._counts = _Counters()
        self.packets: deque[tuple[int, str]] = deque(maxlen=100)  # (seq, packet id), latest

    # --- life cycle ---

    def start(self) -> None:
        """Start the builder's thread."""
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="tw-evidence", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Finish every queued event (clips cut short), then end the thread."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.error("evidence builder still busy after %.0f s; abandoning it", timeout_s)
        left = self._queue.qsize()
        if left:
            self._count(dropped=left)
            logger.error("evidence: %d violation(s) never became packets (stopped)", left)

    # --- the rule stage's sink ---

    def submit(self, event: ViolationEvent) -> None:
        """Queue a violation for its packet; returns at once (a full queue drops it, counted)."""
        violation = event.violation
        key = find_key_frame(self.ring, violation, event.frame_seq)
        at = key.frame.captured_at if key is not None else violation.occurred_at
        before = self.ring.small_near(at - timedelta(seconds=BEFORE_S), before=at)
        after = self.ring.request_after(at + timedelta(seconds=AFTER_S))
        pending = _Pending(event, key, before, after)
        self._count(submitted=1)
        alive = self._thread is not None and self._thread.is_alive()
        try:
            if not alive:
                raise queue.Full
            self._queue.put_nowait(pending)
        except queue.Full:
            self.ring.cancel(after)
            self._count(dropped=1)
            logger.error(
                "evidence: violation %s of track %d dropped: %s",
                violation.behaviour.value,
                event.track_id,
                "the builder is not running" if not alive else "too many waiting",
            )

    # --- the builder's thread ---

    def _run(self) -> None:
        while True:
            try:
                pending = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._halt.is_set():
                    return
                continue
            try:
                self._build(pending)
            except Exception:  # one bad event must not end the builder
                self._count(dropped=1)
                logger.exception("evidence: packet for track %d failed", pending.event.track_id)
            finally:
                self.ring.cancel(pending.after)

    def _build(self, pending: _Pending) -> None:
        violation = pending.event.violation
        end = violation.occurred_at + timedelta(seconds=self.settings.post_roll_s)
        self._halt.wait(max(0.0, (end - datetime.now(timezone.utc)).total_seconds()))
        stopping = self._halt.is_set()  # the rules have stopped: no frame will come any more
        after = self._after_frame(pending, 0.0 if stopping else self.settings.clip_timeout_s)
        clip = self._clip(
            violation.occurred_at, end, STOP_WAIT_S if stopping else self.settings.clip_timeout_s
        )
        started = time.perf_counter()  # the media are all there: the builder's own work
        stills = self._stills(pending, after)
        media: list[Still | Clip] = [*stills, *([clip] if clip is not None else [])]
        seq = self.sequence.reserve()
        header, data = sign_packet(
            self.facts,
            seq=seq,
            violation=violation,
            media=media,
            capture=self._capture(pending.key),
        )
        try:
            self.outbox.put(header.packet_id, seq, data)
        except OutboxFullError:
            self._count(dropped=1)
            logger.error("evidence: packet %d lost: the outbox is full (in its loss log)", seq)
            return
        now = datetime.now(timezone.utc)
        build_ms = (now - violation.occurred_at).total_seconds() * 1000
        work_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            self._counts.built += 1
            self._counts.build_ms.append(build_ms)
            self._counts.work_ms.append(work_ms)
            self.packets.append((seq, str(header.packet_id)))
        logger.info(
            "evidence: packet %d (%s, track %d): %d KiB, %s, in the outbox %.0f ms after the "
            "violation",
            seq,
            violation.behaviour.value,
            pending.event.track_id,
            len(data) // 1024,
            ", ".join(p.role.value for p in header.parts),
            build_ms,
        )

    def _after_frame(self, pending: _Pending, wait_s: float) -> KeptFrame | None:
        request = pending.after
        if request.filled.wait(wait_s) and request.frame is not None:
            return request.frame
        # Stopped (or the rules are far behind): the latest frame after the key frame, if any.
        key_at = pending.key.frame.captured_at if pending.key is not None else None
        return self.ring.small_near(request.at, after=key_at)

    def _clip(self, at: datetime, end: datetime, wait_s: float) -> Clip | None:
        if self.clips is None:
            return None
        start = at - timedelta(seconds=self.settings.pre_roll_s)
        try:
            clip = self.clips.clip(start, end, timeout_s=wait_s)
        except Exception:  # the packet goes without a clip rather than not at all
            logger.exception("evidence: the clip could not be made")
            clip = None
        if clip is None:
            self._count(without_clip=1)
            logger.warning("evidence: no clip for [%s, %s]; packet sent without", start, end)
        return clip

    def _stills(self, pending: _Pending, after: KeptFrame | None) -> list[Still]:
        s, key = self.settings, pending.key
        if key is None or not key.exact:
            self._count(key_frame_missed=1)
            logger.warning(
                "evidence: key frame %d no longer held; %s",
                pending.event.frame_seq,
                "using the nearest frame of the vehicle" if key else "no scene_at or crops",
            )
        stills = scene_stills(
            key, pending.before, after, quality=s.jpeg_quality, max_width=s.still_max_width
        )
        if key is not None:
            violation = pending.event.violation
            stills += crop_stills(key, violation, quality=s.jpeg_quality, locate=s.locate_plates)
        return stills

    def _capture(self, key: KeyFrame | None) -> Capture:
        if key is not None:
            width, height = key.frame.width, key.frame.height
        else:
            width, height = self.ring.frame_size or (1, 1)  # no frame ever: no coordinates either
        frame = FrameInfo(width=width, height=height, fps=self.sources.fps())
        return Capture(model=self.sources.model(), clock=self.sources.clock(), frame=frame)

    # --- figures ---

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self._counts, name, getattr(self._counts, name) + value)

    def figures(self) -> EvidenceFigures:
        """Totals since start, and the median latencies of the recent packets."""
        with self._lock:
            c = self._counts
            return EvidenceFigures(
                submitted=c.submitted,
                built=c.built,
                dropped=c.dropped,
                key_frame_missed=c.key_frame_missed,
                without_clip=c.without_clip,
                pending=self._queue.qsize(),
                last_seq=self.sequence.last,
                build_ms=statistics.median(c.build_ms) if c.build_ms else None,
                work_ms=statistics.median(c.work_ms) if c.work_ms else None,
            )
