"""The demo's box: the real edge agent watching a video file as if it were the camera.

The agent is the one `trafficwatch agent run` starts (`build_agent`): it detects and tracks the
vehicles of the footage, the red-light rule judges them against a stop line and a fixed-time
signal plan, and the evidence builder signs packets (clip cut from the file's own H.264, stills,
plate crop) into its outbox, which the publisher sends to the demo server.

The footage is played again and again as one endless camera stream (`LoopingSource`), and the
signal plan follows the passes: green then amber for the first 40 % of each pass, red for the
rest, so a car that crosses the line in the second part of the video runs a red light on every
pass. For the sample video the stop line is where the cars' tracks go (found by running the
detector over it: a car drives up the lane and its track crosses y ≈ 270 about 17 s in, some 5 s
into the red); its first pass starts 12 s in (nothing crosses before), so the first violation
comes within seconds.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from edge_agent.agent.assemble import build_agent
from edge_agent.agent.runtime import Agent
from edge_agent.capture.av_source import AvSource
from edge_agent.capture.base import (
    EncodedPacket,
    Frame,
    FrameClock,
    Pacer,
    SourceError,
    StreamInfo,
)
from protocol.config import DeviceConfig
from protocol.keys import Ed25519PublicKey, public_key_to_pem

SITE_ID = "dh-ltk-thd"
CAMERA_ID = "north"
LOCATION = {"lat": 17.4683, "lon": 106.6229}
SAMPLE_NAME = "car-detection.mp4"
# The sample (768×432, a top-down car-park lane): cars drive up the image across this line.
Line = tuple[tuple[float, float], tuple[float, float]]
SAMPLE_STOP_LINE: Line = ((0.0, 270.0), (768.0, 270.0))
SAMPLE_SKIP_S = 12.0  # the sample's first pass starts here: its first car crosses 5 s later
GREEN_SHARE = 0.4  # of each pass: green then amber (AMBER_S); red for the rest
AMBER_S = 3.0


def sample_video() -> Path:
    """`$TW_SHARED_DATA/video/car-detection.mp4`, else `../shared/data/video/...` of the repo."""
    root = Path(__file__).resolve().parents[1]
    data = Path(os.environ.get("TW_SHARED_DATA") or root.parent / "shared" / "data")
    return data / "video" / SAMPLE_NAME


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What the demo needs to know of a video file."""

    width: int
    height: int
    fps: float
    duration_s: float


def probe_video(path: Path) -> VideoInfo:
    """Size, frame rate and length of a video file (raises `ValueError` if it has no video)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError(f"{path}: no video stream")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            if stream.frames:
                duration = stream.frames / fps
            elif container.duration:
                duration = container.duration / 1_000_000
            else:
                raise ValueError(f"{path}: unknown length")
            return VideoInfo(int(stream.width), int(stream.height), fps, duration)
    except av.error.FFmpegError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def default_stop_line(video: Path, info: VideoInfo) -> Line:
    """The sample's calibrated line; for another video, across the frame at 60 % height."""
    if video.name == SAMPLE_NAME and (info.width, info.height) == (768, 432):
        return SAMPLE_STOP_LINE
    y = round(0.6 * info.height, 1)
    return ((0.0, y), (float(info.width), y))


def signal_plan(pass_s: float, start: datetime) -> dict[str, Any]:
    """A fixed plan with one cycle per pass of the video, a cycle starting at `start`."""
    green = max(GREEN_SHARE * pass_s - AMBER_S, 1.0)
    red = pass_s - green - AMBER_S
    if red <= 1.0:
        raise ValueError(f"video too short for a signal cycle ({pass_s:.1f} s)")
    midnight = start.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    offset = (start - midnight).total_seconds() % pass_s
    return {
        "cycle_s": pass_s,
        "offset_s": offset,
        "phases": [
            {"colour": "green", "duration_s": green},
            {"colour": "amber", "duration_s": AMBER_S},
            {"colour": "red", "duration_s": red},
        ],
    }


def demo_config(
    *,
    device_id: str,
    video: Path,
    info: VideoInfo,
    stop_line: Line,
    box_dir: Path,
    mqtt_port: int,
    pass_start: datetime,
) -> dict[str, Any]:
    """The box's YAML config as a dict (validated by `DeviceConfig` like any box's); the
    signal cycle starts with each pass of the video, the first at `pass_start`."""
    return {
        "device": {
            "id": device_id,
            "site_id": SITE_ID,
            "camera_id": CAMERA_ID,
            "location": LOCATION,
        },
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "ack_timeout_s": 15},
        "camera": {
            "source": str(video),
            "kind": "file",
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "realtime": True,
        },
        "rules": {"enabled": ["red_light"], "cooldown_s": 5},
        "signal": {"source": "fixed_plan", "fixed_plan": signal_plan(info.duration_s, pass_start)},
        "calibration": {"stop_line": [list(p) for p in stop_line], "stop_line_direction_deg": 270},
        "outbox": {
            "path": str(box_dir / "outbox.sqlite3"),
            "max_bytes": 512 * 1024 * 1024,
            "min_free_bytes": 0,
            "dead_letter_path": str(box_dir / "dead_letters"),
        },
        "keys": {
            "device_key": str(box_dir / "device.pem"),
            "server_public_key": str(box_dir / "server_public_key.pem"),
        },
        "health": {"heartbeat_s": 10},
    }


class LoopingSource:
    """A video file played at its own pace again and again, as one endless camera stream.

    Each pass reopens the file. Frames keep one sequence counter, and each pass's stream times and
    H.264 packets are shifted by the length of the passes before it, so the evidence buffer sees
    one continuous stream (a file starts with a keyframe: a pass begins a new segment).
    """

    def __init__(self, path: Path, *, speed: float = 1.0, skip_s: float = 0.0) -> None:
        self.path = path
        self.skip_s = skip_s  # the first pass starts this far into the file
        self.description = f"{path} (phát lặp / looped)"
        self.live = True
        self.passes = 0
        self._inner: AvSource | None = None
        self._clock = FrameClock()
        self._pacer = Pacer(speed)
        self._time_base: Fraction | None = None
        self._frame_s = 0.04
        self._offset = 0  # this pass's shift, in units of the stream's time base
        self._end = 0  # end of the last frame delivered, same units

    def open(self) -> StreamInfo:
        """Open the file (a reopen after a failure starts a new pass)."""
        self.close()
        inner = AvSource(str(self.path), live=False)
        info = inner.open()
        self._inner = inner
        self._time_base = info.time_base
        if info.fps:
            self._frame_s = 1 / info.fps
        self._offset = self._end
        self._pacer.reset()
        return info

    def read(self) -> Frame | None:
        """The next frame, the file's first again after its last; never None."""
        if self._inner is None:
            raise SourceError(f"{self.description}: not open")
        frame = self._inner.read()
        while (
            self.skip_s
            and not self.passes
            and frame is not None
            and (frame.pts_s or 0) < self.skip_s
        ):
            frame = self._inner.read()
        if frame is None:  # end of a pass: the next follows without a gap
            self._inner.close()
            self._inner = AvSource(str(self.path), live=False)
            self._inner.open()
            self._offset = self._end
            self.passes += 1
            frame = self._inner.read()
            if frame is None:
                raise SourceError(f"{self.description}: no frames")
        pts_s = self._shifted(frame)
        self._pacer.wait(pts_s)
        packets = tuple(self._shift(p) for p in frame.packets)
        return self._clock.stamp(frame.image, pts_s, packets)

    def _shifted(self, frame: Frame) -> float | None:
        tb = self._time_base
        if frame.pts_s is None or tb is None:
            return frame.pts_s
        pts = round(Fraction(frame.pts_s) / tb) + self._offset
        self._end = max(self._end, pts + round(Fraction(self._frame_s) / tb))
        # Exactly as the packets' times come out (`float(pts * time_base)`): the buffer pairs them.
        return float(pts * tb)

    def _shift(self, packet: EncodedPacket) -> EncodedPacket:
        tb = self._time_base
        if tb is None or packet.time_base != tb or not self._offset:
            return packet
        return dataclasses.replace(
            packet,
            pts=None if packet.pts is None else packet.pts + self._offset,
            dts=None if packet.dts is None else packet.dts + self._offset,
        )

    def close(self) -> None:
        """Close the file; safe to call twice."""
        if self._inner is not None:
            self._inner.close()
            self._inner = None


@dataclasses.dataclass(frozen=True)
class DemoBox:
    """The running demo box and what it was set up with."""

    agent: Agent
    video: Path
    info: VideoInfo
    stop_line: Line
    plan: dict[str, Any]

    def describe(self) -> str:
        """What the box does, for the demo's report."""
        i, (green, amber, red) = self.info, (p["duration_s"] for p in self.plan["phases"])
        (x1, y1), (x2, y2) = self.stop_line
        return (
            f"[6/6] Thiết bị / box {self.agent.parts.device_id}: the edge agent (detector, "
            f"tracker, red-light rule, evidence) watches {self.video.name} ({i.width}×{i.height}, "
            f"{i.fps:g} fps, {i.duration_s:.1f} s, played in a loop) as its camera\n"
            f"      vạch dừng / stop line ({x1:g}, {y1:g})–({x2:g}, {y2:g}); đèn / signal each "
            f"pass: green {green:.1f} s, amber {amber:.1f} s, red {red:.1f} s; a car crossing on "
            "red becomes a signed packet → MQTT → stored for review"
        )


def start_box(
    *,
    device_id: str,
    video: Path,
    stop_line: Line | None,
    models_dir: Path,
    box_dir: Path,
    server_key: Ed25519PublicKey,
    mqtt_port: int,
    next_seq: int,
) -> DemoBox:
    """Configure, build and start the demo's agent; its sequence numbers start at `next_seq`."""
    info = probe_video(video)
    line = stop_line or default_stop_line(video, info)
    box_dir.mkdir(parents=True, exist_ok=True)
    (box_dir / "server_public_key.pem").write_bytes(public_key_to_pem(server_key))
    skip_s = SAMPLE_SKIP_S if video.name == SAMPLE_NAME else 0.0
    # The first frame is shown now, `skip_s` into the video: its pass began that long ago.
    pass_start = datetime.now(timezone.utc) - timedelta(seconds=skip_s)
    values = demo_config(
        device_id=device_id,
        video=video,
        info=info,
        stop_line=line,
        box_dir=box_dir,
        mqtt_port=mqtt_port,
        pass_start=pass_start,
    )
    config = DeviceConfig.model_validate(values)
    agent = build_agent(
        config, models_dir=models_dir, make_source=lambda: LoopingSource(video, skip_s=skip_s)
    )
    if agent.parts.evidence is not None and next_seq > 0:
        agent.parts.evidence.sequence.ensure_above(next_seq - 1)
    agent.start()
    return DemoBox(agent, video, info, line, values["signal"]["fixed_plan"])
