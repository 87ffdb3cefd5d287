"""The status heartbeat: pipeline figures, outbox, disk, temperature, clock, camera, alarms.

Rates (fps in and processed, CPU ms per frame by stage) are measured between two heartbeats, so
each message describes the last period rather than an average since boot.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from protocol.enums import CameraProblem, ClockSource, DeviceState
from protocol.evidence import ClockState
from protocol.status import (
    Alarm,
    DiskStatus,
    OutboxStatus,
    PipelineStatus,
    StatusHeartbeat,
    StatusMetrics,
)

logger = logging.getLogger(__name__)

_THERMAL = Path("/sys/class/thermal")
_TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised
_STA_NANO = 0x2000
ALARM_TEXT = {
    "camera_disconnected": "Mất kết nối camera / camera disconnected",
    "camera_no_frames": "Không nhận được khung hình / no frames from the camera",
    "camera_frozen": "Hình ảnh camera bị đứng / camera picture frozen",
    "camera_dark": "Hình ảnh camera quá tối / camera picture too dark",
    "stage_restarted": "Một giai đoạn xử lý bị treo đã được khởi động lại / a stuck stage "
    "was restarted",
    "evidence_dropped": "Đã bỏ bằng chứng vì thiếu dung lượng đĩa / evidence dropped for lack "
    "of disk space",
    "mqtt_auth_refused": "Máy chủ MQTT từ chối đăng nhập / the MQTT broker refused our credentials",
    "chunk_too_large": "Máy chủ MQTT từ chối một phần gói quá lớn; gói đã được chuyển vào hàng "
    "bị từ chối — hãy giảm mqtt.chunk_size rồi gửi lại / the broker refused an oversized chunk; "
    "the packet was parked as a dead letter: lower mqtt.chunk_size, then resend it",
}


@dataclass(frozen=True)
class PipelineSnapshot:
    """Cumulative pipeline figures at one moment (the health thread turns them into rates)."""

    at: float  # monotonic
    frames_in: int
    frames_processed: int
    dropped_frames: int
    stage_items: dict[str, int]
    stage_cpu_s: dict[str, float]
    queue_depths: dict[str, int]
    detection_latency_ms: float | None
    camera_problems: list[CameraProblem]
    restarts: int = 0


@dataclass
class Outside:
    """What the heartbeat reports beyond the pipeline: outbox, disk, publisher alarms."""

    outbox: Callable[[], OutboxStatus] | None = None
    outbox_alarm: Callable[[], bool] = lambda: False
    auth_refused: Callable[[], bool] = lambda: False
    chunk_too_large: Callable[[], bool] = lambda: False
    disk_path: Path = field(default_factory=Path.cwd)


def read_temperature(root: Path = _THERMAL) -> float | None:
    """The SoC temperature in °C (the first thermal zone), or None where there is none."""
    for zone in sorted(root.glob("thermal_zone*")):
        try:
            return int((zone / "temp").read_text().strip()) / 1000
        except (OSError, ValueError):
            continue
    return None


def clock_state() -> ClockState:
    """The kernel's view of clock sync (adjtimex, read-only): what NTP/chrony told it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        buffer = ctypes.create_string_buffer(512)  # struct timex, generously; modes = 0: read
        state = libc.adjtimex(buffer)
    except (OSError, AttributeError):
        return ClockState(synced=False, source=ClockSource.none, offset_ms=0.0)
    long_size = ctypes.sizeof(ctypes.c_long)
    # struct timex: int modes (padded to a long), long offset, freq, maxerror, esterror, int status
    offset = ctypes.c_long.from_buffer(buffer, long_size).value
    status = ctypes.c_int.from_buffer(buffer, 5 * long_size).value
    offset_ms = offset / (1e6 if status & _STA_NANO else 1e3)
    synced = state not in (-1, _TIME_ERROR)
    return ClockState(
        synced=synced, source=ClockSource.ntp if synced else ClockSource.none, offset_ms=offset_ms
    )


def disk_status(path: Path) -> DiskStatus:
    """Free and total bytes of the filesystem holding `path` (its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    return DiskStatus(free_bytes=usage.free, total_bytes=usage.total)


class Health:
    """Builds heartbeats and publishes one every period on its own thread (`tw-health`)."""

    def __init__(
        self,
        *,
        device_id: str,
        snapshot: Callable[[], PipelineSnapshot],
        publish: Callable[[StatusHeartbeat], bool] | None,
        period_s: float,
        outside: Outside | None = None,
        config_sha256: str | None = None,
        software_version: str | None = None,
    ) -> None:
        self.device_id = device_id
        self.period_s = period_s
        self.published = 0
        self._snapshot = snapshot
        self._publish = publish
        self._outside = outside or Outside()
        self._config_sha256 = config_sha256
        self._software_version = software_version
        self._started = time.monotonic()
        self._previous: PipelineSnapshot | None = None
        self._alarm_since: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the heartbeat thread (one heartbeat at once, then every period)."""
        self._previous = self._snapshot()
        self._thread = threading.Thread(target=self._run, name="tw-health", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the heartbeat thread."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._halt.wait(min(self.period_s, 1.0) if not self.published else self.period_s):
            try:
                heartbeat = self.heartbeat()
                sent = self._publish(heartbeat) if self._publish is not None else False
                self.published += 1
                logger.debug("heartbeat (sent: %s): %s", sent, heartbeat.metrics)
            except Exception:  # a failed heartbeat must not end the heartbeats
                logger.exception("heartbeat failed")

    def heartbeat(self, *, advance: bool = True) -> StatusHeartbeat:
        """A heartbeat over the period since the last one; `advance` starts a new period."""
        with self._lock:
            now = self._snapshot()
            pipeline = _pipeline_status(self._previous, now)
            if advance:
                self._previous = now
            alarms = self._alarms(now)
        outside = self._outside
        outbox = outside.outbox() if outside.outbox is not None else OutboxStatus(depth=0, bytes=0)
        metrics = StatusMetrics(
            uptime_s=time.monotonic() - self._started,
            pipeline=pipeline,
            outbox=outbox,
            disk=disk_status(outside.disk_path),
            temperature_c=read_temperature(),
            clock=clock_state(),
            camera_problems=now.camera_problems,
            alarms=alarms,
            config_sha256=self._config_sha256,
        )
        return StatusHeartbeat(
            device_id=self.device_id,
            state=DeviceState.degraded if alarms else DeviceState.online,
            sent_at=datetime.now(timezone.utc),
            software_version=self._software_version,
            metrics=metrics,
        )

    def _alarms(self, now: PipelineSnapshot) -> list[Alarm]:
        codes = [f"camera_{p.value}" for p in now.camera_problems]
        if now.restarts:
            codes.append("stage_restarted")
        if self._outside.outbox_alarm():
            codes.append("evidence_dropped")
        if self._outside.auth_refused():
            codes.append("mqtt_auth_refused")
        if self._outside.chunk_too_large():
            codes.append("chunk_too_large")
        at = datetime.now(timezone.utc)
        self._alarm_since = {c: self._alarm_since.get(c, at) for c in codes}
        return [Alarm(code=c, message=ALARM_TEXT[c], since=self._alarm_since[c]) for c in codes]


def _pipeline_status(before: PipelineSnapshot | None, now: PipelineSnapshot) -> PipelineStatus:
    """Rates over the period between two snapshots."""
    if before is None:
        before = now
    span = max(now.at - before.at, 1e-6)
    cpu = {}
    for stage, items in now.stage_items.items():
        done = items - before.stage_items.get(stage, 0)
        spent = now.stage_cpu_s.get(stage, 0.0) - before.stage_cpu_s.get(stage, 0.0)
        cpu[stage] = round(1000 * spent / done, 3) if done > 0 else 0.0
    return PipelineStatus(
        fps_in=round(max(now.frames_in - before.frames_in, 0) / span, 3),
        fps_processed=round(max(now.frames_processed - before.frames_processed, 0) / span, 3),
        detection_latency_ms=now.detection_latency_ms,
        cpu_ms_per_frame=cpu,
        queue_depths=now.queue_depths,
        dropped_frames=now.dropped_frames,
    )
