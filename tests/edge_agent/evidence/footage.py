"""Real footage for the segment-buffer tests, stamped as a live camera would stamp it.

A file read as fast as possible gets capture times from the decoder's pace, not the camera's;
here each frame's capture time is `T0 + its stream time`, which is what a live camera's frames
carry (a camera delivers a frame when it is shot). Frames, packets and codecs are all real.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
import cv2
import numpy as np

from edge_agent.capture.av_source import AvSource
from edge_agent.capture.base import EncodedPacket, Frame, Image, StreamInfo
from edge_agent.evidence.clip import Clip
from edge_agent.evidence.segments import SegmentBuffer

T0 = datetime(2025, 6, 2, 1, 30, tzinfo=timezone.utc)  # 08:30 in Hà Nội
FPS = 12.5  # the shared sample: 768×432 at 12.5 fps, a keyframe every 60 frames (4.8 s)
WAIT_S = 30.0  # generous bound for a busy machine; never a timing assertion


def at(seconds: float) -> datetime:
    """The capture time `seconds` into the footage."""
    return T0 + timedelta(seconds=seconds)


def read_h264(path: Path) -> tuple[StreamInfo, list[Frame]]:
    """Every frame of an H.264 file through the real `AvSource`, with its packets."""
    source = AvSource(str(path), live=False)
    info = source.open()
    frames: list[Frame] = []
    try:
        while (frame := source.read()) is not None:
            assert frame.pts_s is not None
            frames.append(dataclasses.replace(frame, captured_at=at(frame.pts_s)))
    finally:
        source.close()
    return info, frames


def as_raw(info: StreamInfo, frames: Iterable[Frame]) -> tuple[StreamInfo, list[Frame]]:
    """The same pictures as a raw camera gives them: no codec, no packets."""
    raw = [dataclasses.replace(f, packets=()) for f in frames]
    return StreamInfo(width=info.width, height=info.height, fps=info.fps), raw


def looped(frames: list[Frame], loops: int) -> Iterator[Frame]:
    """The footage played `loops` times in a row as one long stream (packets re-timed)."""
    period = len(frames) / FPS
    tiny = np.zeros((2, 2, 3), np.uint8)  # the remux path never looks at the picture
    for loop in range(loops):
        shift = loop * period
        for frame in frames:
            assert frame.pts_s is not None
            packets = tuple(_shifted(p, shift) for p in frame.packets)
            yield dataclasses.replace(
                frame,
                image=tiny,
                seq=frame.seq + loop * len(frames),
                pts_s=frame.pts_s + shift,
                captured_at=at(frame.pts_s + shift),
                packets=packets,
            )


def _shifted(packet: EncodedPacket, seconds: float) -> EncodedPacket:
    ticks = round(seconds / packet.time_base)
    return dataclasses.replace(
        packet,
        pts=None if packet.pts is None else packet.pts + ticks,
        dts=None if packet.dts is None else packet.dts + ticks,
    )


def wait_until(done: Callable[[], bool]) -> None:
    """Poll until `done()` (a camera feeding an encoder that keeps up); fails after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.002)


def wait_encoded(buffer: SegmentBuffer, count: int) -> None:
    """Wait until the encoder has taken `count` frames (a camera on a box that keeps up)."""
    wait_until(lambda: buffer.stats["frames_encoded"] >= count)


def resized(image: Image, width: int, height: int) -> Image:
    """The picture at another size (another camera mode)."""
    return np.asarray(cv2.resize(image, (width, height)), dtype=np.uint8)


def feed_with_violation(
    buffer: SegmentBuffer,
    frames: Iterable[Frame],
    violation_s: float,
    *,
    paced: bool = False,
    timeout_s: float = WAIT_S,
) -> Clip | None:
    """Feed frames as capture does; at the violation's frame, ask for its clip (as the builder)."""
    result: list[Clip | None] = []
    asker: threading.Thread | None = None
    fed = 0
    for frame in frames:
        buffer.add(frame)
        fed += 1
        if paced:  # the encoder keeps up, as on a box where it has the CPU it needs
            wait_encoded(buffer, fed - 1)
        if asker is None and frame.captured_at >= at(violation_s):
            asker = _ask(buffer, at(violation_s), timeout_s, result)
    assert asker is not None, "the footage never reached the violation"
    asker.join(WAIT_S + timeout_s)
    return result[0]


def _ask(
    buffer: SegmentBuffer, violation: datetime, timeout_s: float, result: list[Clip | None]
) -> threading.Thread:
    """Ask for the violation's clip from another thread, as the evidence builder does."""
    asker = threading.Thread(
        target=lambda: result.append(buffer.clip_around(violation, timeout_s=timeout_s)),
        name="test-clip-request",
    )
    asker.start()
    # The rules ask within moments of the frame; here they must not fall seconds behind.
    wait_until(lambda: buffer.stats["clips_waiting"] > 0 or not asker.is_alive())
    return asker


def source_packets(path: Path) -> list[bytes]:
    """The file's H.264 packets as stored, in decode order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [bytes(p) for p in container.demux(stream) if p.size]
