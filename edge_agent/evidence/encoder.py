"""Continuous H.264 encoding of a raw source into ~1-second segments, off the capture thread.

A camera that gives decoded frames only (picamera2, USB, OpenCV) is encoded all the time, so a
violation's pre-roll exists as compressed video (a 3-second raw 1080p pre-roll is ~450 MB). The
capture thread only offers frames to a small queue; when the encoder falls behind, frames are
dropped from the video (counted), never waited for. A hardware encoder is used where the box has
one: `h264_v4l2m2m` on a Pi 4 (a Pi 5 has none), `h264_nvmpi` on a Jetson whose FFmpeg is built
with jetson-ffmpeg (NVIDIA's `nvv4l2h264enc` is a GStreamer element that FFmpeg cannot call).
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

import av
import av.error
import cv2
import numpy as np
from av.video.frame import PictureType

from edge_agent.capture.base import EncodedPacket, Frame, Image

logger = logging.getLogger(__name__)

SOFTWARE_ENCODER = "libx264"
HARDWARE_ENCODERS = ("h264_v4l2m2m", "h264_nvmpi")
TIME_BASE = Fraction(1, 90000)  # MPEG's clock: fine enough for any frame rate

PacketSink = Callable[["ChainEncoder", EncodedPacket, datetime], None]


@dataclass(frozen=True)
class EncoderSettings:
    """How the box encodes a raw source."""

    bitrate_kbps: int
    fps: float = 25.0  # nominal rate, for rate control; the timestamps are the frames' own
    segment_s: float = 1.0  # a keyframe (a segment boundary) this often
    width: int | None = None  # downscale to this width (height follows); None: full size
    # superfast: High profile at ~12 ms of CPU a 1080p frame here; veryfast ~18 ms, and
    # ultrafast (~8 ms) falls back to Constrained Baseline.
    preset: str = "superfast"
    threads: int = 0  # 0: the encoder's own choice
    queue_frames: int = 4  # raw frames waiting for the encoder (~6 MB each at 1080p)


def _probe(name: str) -> bool:
    """True if the encoder opens here (a hardware encoder is listed even where no chip is)."""
    try:
        ctx: Any = av.CodecContext.create(name, "w")
        ctx.width, ctx.height, ctx.pix_fmt = 320, 240, "yuv420p"
        ctx.time_base = TIME_BASE
        ctx.framerate = Fraction(25)
        ctx.open()
        return True
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        logger.debug("encoder %s unusable here: %s", name, exc)
        return False


@functools.lru_cache(maxsize=8)
def pick_encoder(preferred: str | None = None) -> str:
    """The H.264 encoder to use: `preferred` if it works, else a hardware one, else libx264."""
    if preferred in ("", "none", SOFTWARE_ENCODER):
        candidates: tuple[str, ...] = ()
    elif preferred is not None:
        candidates = (preferred,)
    else:
        candidates = HARDWARE_ENCODERS
    for name in candidates:
        if name in av.codecs_available and _probe(name):
            logger.info("evidence encoder: %s (hardware)", name)
            return name
        if preferred is not None:
            logger.warning("evidence encoder %s not usable here; using %s", name, SOFTWARE_ENCODER)
    logger.info("evidence encoder: %s (software; no hardware encoder here)", SOFTWARE_ENCODER)
    return SOFTWARE_ENCODER


def open_encoder(name: str, settings: EncoderSettings, width: int, height: int) -> Any:
    """An open H.264 encoder context for `width`×`height` frames."""
    ctx: Any = av.CodecContext.create(name, "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = TIME_BASE
    ctx.framerate = Fraction(settings.fps).limit_denominator(1001)
    ctx.bit_rate = settings.bitrate_kbps * 1000
    # Keyframes are forced on time (frames may be dropped); this is only the backstop.
    ctx.gop_size = max(1, round(2 * settings.fps * settings.segment_s))
    ctx.max_b_frames = 0
    if settings.threads:
        ctx.thread_count = settings.threads
    rate = f"{settings.bitrate_kbps}k"
    if name == SOFTWARE_ENCODER:
        # One second of VBV buffer at the target rate: the clip's size follows its duration.
        ctx.options = {
            "preset": settings.preset,
            "tune": "zerolatency",
            "maxrate": rate,
            "bufsize": rate,
            "forced-idr": "1",
            "x264-params": "scenecut=0",  # segments stay one second long
        }
    ctx.open()
    return ctx


def output_size(settings: EncoderSettings, width: int, height: int) -> tuple[int, int]:
    """The encoded size: the frame's, or scaled to `settings.width`; even numbers (4:2:0)."""
    if settings.width is None or settings.width >= width:
        return width - width % 2, height - height % 2
    scaled_h = round(height * settings.width / width)
    return settings.width - settings.width % 2, scaled_h - scaled_h % 2


def to_i420(image: Image, width: int, height: int) -> Image:
    """BGR to planar YUV 4:2:0 at `width`×`height` (OpenCV: ~1 ms a 1080p frame, swscale ~7)."""
    if image.shape[1] != width or image.shape[0] != height:
        if image.shape[1] - width > 1 or image.shape[0] - height > 1:
            image = np.asarray(
                cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
        else:  # an odd size: drop the last column or row (4:2:0 needs even sizes)
            image = image[:height, :width]
    i420 = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2YUV_I420)
    return np.asarray(i420, dtype=np.uint8)


class ChainEncoder:
    """Encodes one chain (one opening of the source) in its own thread; `offer` never blocks."""

    def __init__(
        self, chain: int, settings: EncoderSettings, sink: PacketSink, preferred: str | None = None
    ) -> None:
        self.chain = chain
        self.codec: str | None = None  # chosen in the encoder's thread, at the first frame
        self._preferred = preferred
        self.settings = settings
        self.size: tuple[int, int] | None = None  # encoded width, height once opened
        self.dropped = 0  # frames the queue had no room for
        self.encoded = 0
        self.failed = 0  # frames the encoder refused
        self._sink = sink
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=settings.queue_frames)
        self._ctx: Any = None
        self._origin: float | None = None  # stream time of the chain's first frame
        self._last_pts = -1
        self._last_key: float | None = None
        self._times: dict[int, datetime] = {}
        self._thread = threading.Thread(target=self._run, name=f"tw-evidence-enc-{chain}")
        self._thread.daemon = True
        self._thread.start()

    def offer(self, frame: Frame) -> bool:
        """Queue a frame for encoding; False (and counted) when the encoder is behind."""
        try:
            self._queue.put_nowait(frame)
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def stop(self, timeout_s: float = 5.0) -> None:
        """Encode what is queued, flush the encoder, end the thread."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            logger.error("evidence encoder %d: queue stuck; abandoning it", self.chain)
            return
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (frame := self._queue.get()) is not None:
            try:
                self._encode(frame)
            except (av.error.FFmpegError, ValueError) as exc:
                # A bad frame costs a frame of the clip, never the encoder.
                self.failed += 1
                logger.warning(
                    "evidence encoder %d: frame %d not encoded: %s", self.chain, frame.seq, exc
                )
        if self._ctx is not None:
            try:
                self._emit(self._ctx.encode(None))
            except av.error.FFmpegError as exc:
                logger.warning("evidence encoder %d: flush failed: %s", self.chain, exc)

    def _encode(self, frame: Frame) -> None:
        image = frame.image
        if self._ctx is None:
            height, width = image.shape[:2]
            self.size = output_size(self.settings, width, height)
            self.codec = pick_encoder(self._preferred)  # probing hardware takes a moment
            self._ctx = open_encoder(self.codec, self.settings, *self.size)
        assert self.size is not None
        picture = av.VideoFrame.from_ndarray(to_i420(image, *self.size), format="yuv420p")
        seconds = frame.pts_s if frame.pts_s is not None else frame.monotonic
        if self._origin is None:
            self._origin = seconds
        pts = max(round((seconds - self._origin) / TIME_BASE), self._last_pts + 1)
        self._last_pts = pts
        picture.pts, picture.time_base = pts, TIME_BASE
        if self._last_key is None or seconds - self._last_key >= self.settings.segment_s * 0.98:
            picture.pict_type = PictureType.I  # a segment boundary: a keyframe every segment_s
            self._last_key = seconds
        self._times[pts] = frame.captured_at
        if len(self._times) > 256:  # an encoder that swallowed frames must not grow this forever
            del self._times[next(iter(self._times))]
        self._emit(self._ctx.encode(picture))
        self.encoded += 1

    def _emit(self, packets: list[Any]) -> None:
        for packet in packets:
            pts = packet.pts
            captured_at = self._times.pop(pts, None) if pts is not None else None
            if captured_at is None:
                continue  # never happens with these encoders: one packet per frame, same pts
            encoded = EncodedPacket(
                data=bytes(packet),
                pts=pts,
                dts=packet.dts,
                time_base=TIME_BASE,
                keyframe=bool(packet.is_keyframe),
            )
            self._sink(self, encoded, captured_at)
