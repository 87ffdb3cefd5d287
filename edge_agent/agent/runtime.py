"""The agent process: capture → detect → track → rules in threads joined by bounded queues.

Start order: outbox, publisher, the evidence builder and its segment buffer (when rules are on),
then the stages from the last (rules) to the first (capture) so every consumer is ready before its
producer, then the heartbeat and the watchdog. Stop is the exact reverse: watchdog, heartbeat,
capture (one stop event), then each later stage drains what is queued and ends when it receives
the end marker, then the segment buffer (its encoder flushed), the evidence builder (every
pending violation made into a packet, its clip cut short), the publisher (offline status), the
outbox.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.agent.cpu import ThreadCpu
from edge_agent.agent.health import Health, Outside, PipelineSnapshot
from edge_agent.agent.motion import MotionGate
from edge_agent.agent.pipeline import StageQueue, StageThread
from edge_agent.agent.stages import (
    CaptureWorker,
    DetectorLike,
    DetectWorker,
    FrameTap,
    NoRules,
    OpenTap,
    RuleConsumer,
    RuleWorker,
    TrackWorker,
)
from edge_agent.agent.stats import DetectCounters, StageFigures
from edge_agent.agent.watchdog import RestartBudget, Watchdog
from edge_agent.capture.base import FrameSource
from edge_agent.capture.monitor import CameraMonitor
from edge_agent.capture.reconnect import ReconnectingSource
from edge_agent.outbox import Outbox
from edge_agent.publisher import Publisher
from edge_agent.tracking.bytetrack import ByteTracker
from protocol.config import TrackerSection
from protocol.status import OutboxStatus, StatusHeartbeat

if TYPE_CHECKING:
    from edge_agent.evidence.builder import EvidenceBuilder
    from edge_agent.evidence.segments import SegmentBuffer

logger = logging.getLogger(__name__)

STAGES = ("capture", "detect", "track", "rules")
EXIT_OK = 0
EXIT_FAILED = 1


@dataclass
class AgentParts:
    """Everything the agent is made of; `assemble.build_agent` fills it from the config."""

    device_id: str
    make_source: Callable[[], FrameSource]
    make_detector: Callable[[], DetectorLike]
    live: bool  # the source runs at the camera's pace: capture must never wait
    make_rules: Callable[[], RuleConsumer] = NoRules
    tracker: TrackerSection = field(default_factory=TrackerSection)
    every_nth: int = 1
    motion_gate: bool = False
    heartbeat_s: float = 30.0
    outbox: Outbox | None = None
    make_publisher: Callable[[Callable[[], StatusHeartbeat]], Publisher] | None = None
    config_sha256: str | None = None
    software_version: str | None = None
    disk_path: Path = field(default_factory=Path.cwd)
    queue_size: int = 4  # between the later stages (they block, never drop)
    # Capture → detect: the only queue that drops. Eight 1080p frames (~50 MB) absorb a slow
    # detection or a busy moment of the CPU without losing a frame.
    frame_queue_size: int = 8
    stall_s: dict[str, float] = field(
        default_factory=lambda: {"capture": 30.0, "detect": 30.0, "track": 10.0, "rules": 30.0}
    )
    budget: RestartBudget = field(default_factory=RestartBudget)
    make_monitor: Callable[[], CameraMonitor] = CameraMonitor
    # Called by the capture thread, in order: with every frame before it goes downstream, and
    # with the stream's parameters on every (re)open (the evidence buffer's `add` / `on_open`).
    frame_taps: Sequence[FrameTap] = ()
    open_taps: Sequence[OpenTap] = ()
    # The evidence builder starts before the rules and stops after them, and the segment buffer
    # it cuts clips from closes just before it: every violation reaches the outbox before the
    # publisher stops.
    evidence: EvidenceBuilder | None = None
    segments: SegmentBuffer | None = None


class Agent:
    """One running edge agent; `start()`, `wait()`, then `stop()`."""

    def __init__(self, parts: AgentParts) -> None:
        self.parts = parts
        self.exit_code = EXIT_OK
        self.failure: str | None = None
        self.start_order: list[str] = []
        self.stop_order: list[str] = []
        self.detect_counters = DetectCounters()
        self.capture_worker: CaptureWorker | None = None
        self.publisher: Publisher | None = None
        self._stop = threading.Event()  # the one stop event of the pipeline threads
        self._finished = threading.Event()
        self._cpu = ThreadCpu(STAGES)
        self.queues = {
            "frames": StageQueue("frames", parts.frame_queue_size),
            "detections": StageQueue("detections", parts.queue_size),
            "tracks": StageQueue("tracks", parts.queue_size),
        }
        self.stages = self._make_stages()
        self.health = Health(
            device_id=parts.device_id,
            snapshot=self.snapshot,
            publish=self._publish_status,
            period_s=parts.heartbeat_s,
            outside=self._outside(),
            config_sha256=parts.config_sha256,
            software_version=parts.software_version,
        )
        self.watchdog = Watchdog(
            [self.stages[n] for n in STAGES], self._give_up, budget=parts.budget
        )

    def _make_stages(self) -> dict[str, StageThread]:
        q, stall = self.queues, self.parts.stall_s
        capture = StageThread(
            "capture",
            self._make_capture,
            self._stop,
            outbox=q["frames"],
            drop_when_full=self.parts.live,
            stall_s=stall["capture"],
        )
        detect = StageThread(
            "detect",
            self._make_detect,
            self._stop,
            inbox=q["frames"],
            outbox=q["detections"],
            upstream=capture,
            stall_s=stall["detect"],
        )
        track = StageThread(
            "track",
            self._make_track,
            self._stop,
            inbox=q["detections"],
            outbox=q["tracks"],
            upstream=detect,
            stall_s=stall["track"],
        )
        rules = StageThread(
            "rules",
            lambda: RuleWorker(self.parts.make_rules()),
            self._stop,
            inbox=q["tracks"],
            upstream=track,
            stall_s=stall["rules"],
        )
        return {"capture": capture, "detect": detect, "track": track, "rules": rules}

    def _make_capture(self) -> CaptureWorker:
        worker = CaptureWorker(
            ReconnectingSource(self.parts.make_source()),
            self.parts.make_monitor(),
            taps=self.parts.frame_taps,
            open_taps=self.parts.open_taps,
        )
        self.capture_worker = worker
        return worker

    def _make_detect(self) -> DetectWorker:
        p = self.parts
        return DetectWorker(
            p.make_detector(),
            self.detect_counters,
            every_nth=p.every_nth,
            motion_gate=MotionGate() if p.motion_gate else None,
            refresh_frames=max(p.tracker.buffer_frames // 2, 1),
        )

    def _make_track(self) -> TrackWorker:
        t = self.parts.tracker
        tracker = ByteTracker(
            track_thresh=t.track_thresh, match_thresh=t.match_thresh, buffer_frames=t.buffer_frames
        )
        return TrackWorker(tracker)

    def _outside(self) -> Outside:
        outbox = self.parts.outbox
        if outbox is None:
            return Outside(disk_path=self.parts.disk_path)

        def outbox_status() -> OutboxStatus:
            in_flight = self.publisher.counters().in_flight if self.publisher else 0
            return outbox.stats().to_status(in_flight=in_flight)

        return Outside(
            outbox=outbox_status,
            outbox_alarm=lambda: outbox.stats().alarm,
            auth_refused=lambda: self._publisher_alarm("auth_refused"),
            chunk_too_large=lambda: self._publisher_alarm("chunk_too_large"),
            disk_path=self.parts.disk_path,
        )

    def _publisher_alarm(self, code: str) -> bool:
        return self.publisher is not None and code in self.publisher.counters().alarms

    # --- life cycle ---

    def _components(self) -> list[tuple[str, Callable[[], None], Callable[[], None]]]:
        """(name, start, stop) in start order; stop runs them reversed."""
        components: list[tuple[str, Callable[[], None], Callable[[], None]]] = []
        if self.parts.outbox is not None:
            components.append(("outbox", lambda: None, self.parts.outbox.close))
        if self.parts.make_publisher is not None:
            components.append(("publisher", self._start_publisher, self._stop_publisher))
        if self.parts.evidence is not None:
            evidence = self.parts.evidence
            components.append(("evidence", evidence.start, evidence.stop))
        if self.parts.segments is not None:
            components.append(("segments", lambda: None, self.parts.segments.close))
        for name in reversed(STAGES):
            stage = self.stages[name]
            components.append((name, stage.start, functools.partial(self._stop_stage, stage)))
        components.append(("health", self.health.start, self.health.stop))
        components.append(("watchdog", self.watchdog.start, self.watchdog.stop))
        return components

    def start(self) -> None:
        """Start every component in order (consumers before producers)."""
        for name, start, _ in self._components():
            logger.info("starting %s", name)
            start()
            self.start_order.append(name)
        logger.info("agent %s running", self.parts.device_id)

    def request_stop(self) -> None:
        """Ask `wait()` to return (signal handlers call this; `stop()` does the work)."""
        self._finished.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until a stop is requested, the stream ends or the watchdog gives up; True if so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        rules = self.stages["rules"]
        while not (self._finished.is_set() or rules.done.is_set()):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._finished.wait(0.2)
        return True

    def stop(self) -> int:
        """Stop every started component in reverse start order; returns the exit code."""
        started = set(self.start_order)
        for name, _, stop in reversed(self._components()):
            if name not in started:
                continue
            logger.info("stopping %s", name)
            try:
                stop()
            except Exception:
                logger.exception("stopping %s failed", name)
            self.stop_order.append(name)
        logger.info("agent %s stopped (exit code %d)", self.parts.device_id, self.exit_code)
        return self.exit_code

    def _stop_stage(self, stage: StageThread, timeout: float = 10.0) -> None:
        self._stop.set()  # capture ends at once; later stages drain until the end marker
        if not stage.join(timeout):
            logger.error("stage %s did not stop within %.0f s; abandoning it", stage.name, timeout)

    def _start_publisher(self) -> None:
        assert self.parts.make_publisher is not None
        self.publisher = self.parts.make_publisher(lambda: self.health.heartbeat(advance=False))
        self.publisher.start()

    def _stop_publisher(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()

    def _publish_status(self, heartbeat: StatusHeartbeat) -> bool:
        return self.publisher.publish_status(heartbeat) if self.publisher is not None else False

    def _give_up(self, reason: str) -> None:
        self.failure = reason
        self.exit_code = EXIT_FAILED
        self._finished.set()

    # --- figures ---

    def stage_figures(self) -> dict[str, StageFigures]:
        """Totals of every stage since start."""
        return {name: stage.stats.snapshot() for name, stage in self.stages.items()}

    def snapshot(self) -> PipelineSnapshot:
        """Cumulative pipeline figures now, for the heartbeat."""
        figures = self.stage_figures()
        worker = self.capture_worker
        problems = []
        if worker is not None:
            problems = worker.monitor.problems(connected=worker.source.connected)
        items = {n: f.items for n, f in figures.items()}
        cpu = self._cpu.sample()
        if cpu is None:  # not Linux: each stage's own thread is all that can be measured
            cpu_s = {n: f.cpu_s for n, f in figures.items()}
        else:
            cpu_s = {n: cpu.get(n, 0.0) for n in [*STAGES, "other"]}
            items["other"] = items["capture"]  # the rest (MQTT, heartbeat), per frame read
        return PipelineSnapshot(
            at=time.monotonic(),
            frames_in=figures["capture"].items,
            frames_processed=figures["track"].items,
            # A frame that failed in a stage is as lost as one the queue dropped: count both.
            dropped_frames=self.queues["frames"].dropped
            + figures["detect"].errors
            + figures["track"].errors,
            stage_items=items,
            stage_cpu_s=cpu_s,
            queue_depths={n: q.depth() for n, q in self.queues.items()},
            detection_latency_ms=self.detect_counters.median_latency_ms(),
            camera_problems=problems,
            restarts=self.watchdog.budget.recent(),
        )
