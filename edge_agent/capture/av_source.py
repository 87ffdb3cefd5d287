"""PyAV (FFmpeg) source for files and network streams (RTSP, TCP, HTTP): frames and packets.

PyAV is used rather than OpenCV wherever a stream is demuxed, because the evidence stage keeps the
camera's own H.264 packets (a ring of encoded video, never raw frames) and OpenCV hides them.
A broken file is resumed where it broke: the reopened file is sought back to the last keyframe and
everything already delivered is skipped, so no frame or packet is delivered twice.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import av.error

from edge_agent.capture.base import (
    EncodedPacket,
    Frame,
    FrameClock,
    Pacer,
    SourceError,
    StreamInfo,
    redact_url,
)

logger = logging.getLogger(__name__)


class AvSource:
    """Frames (BGR) and their compressed packets from a file or a network stream."""

    def __init__(
        self,
        url: str,
        *,
        live: bool,
        realtime: bool = False,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 5.0,
        decode_threads: int = 2,
    ) -> None:
        self.url = url
        self.description = redact_url(url)
        self.is_file = "://" not in url or url.startswith("file:")
        # A file replayed at real speed stands in for a camera: it must not wait for the pipeline.
        self.live = live or realtime
        self._pacer = Pacer() if realtime and self.is_file else None
        self._timeouts = (open_timeout_s, read_timeout_s)
        self._decode_threads = decode_threads
        self._clock = FrameClock()
        self._container: Any = None
        self._stream: Any = None
        self._demux: Iterator[Any] | None = None
        self._decoded: deque[Any] = deque()
        self._packets: list[EncodedPacket] = []
        self._last_pts: int | None = None  # last frame delivered, for resuming a file
        self._last_dts: int | None = None  # last packet delivered
        self._ended = False
        self.decode_errors = 0

    def open(self) -> StreamInfo:
        """Open the stream; a file reopened after a failure resumes after its last frame."""
        self.close()
        if not self.is_file:
            # A new session of a live stream starts its own clock: nothing to skip.
            self._last_pts = self._last_dts = None
            self._packets = []
        options = {"rtsp_transport": "tcp"} if self.url.startswith("rtsp") else {}
        try:
            self._container = av.open(self.url, options=options, timeout=self._timeouts)
            if not self._container.streams.video:
                raise SourceError(f"{self.description}: no video stream")
            stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = self._decode_threads
            self._stream = stream
            if self.is_file and self._last_pts is not None:
                self._container.seek(self._last_pts, stream=stream, backward=True)
            self._demux = self._container.demux(stream)
        except (av.error.FFmpegError, OSError) as exc:
            self.close()
            raise SourceError(f"{self.description}: cannot open: {exc}") from exc
        self._ended = False
        if self._pacer is not None:
            self._pacer.reset()
        return self._info()

    def _info(self) -> StreamInfo:
        ctx = self._stream.codec_context
        rate = self._stream.average_rate or self._stream.guessed_rate
        return StreamInfo(
            width=int(ctx.width),
            height=int(ctx.height),
            fps=float(rate) if rate else None,
            codec=str(ctx.name),
            extradata=bytes(ctx.extradata) if ctx.extradata else None,
            time_base=Fraction(self._stream.time_base) if self._stream.time_base else None,
        )

    def read(self) -> Frame | None:
        """The next frame with the packets demuxed since the last one; None at a file's end."""
        if self._demux is None:
            raise SourceError(f"{self.description}: not open")
        while not self._decoded:
            if self._ended:
                return None
            self._pump()
        av_frame = self._decoded.popleft()
        packets, self._packets = tuple(self._packets), []
        pts_s = None
        if av_frame.pts is not None and av_frame.time_base is not None:
            pts_s = float(av_frame.pts * av_frame.time_base)
            self._last_pts = int(av_frame.pts)
        if self._pacer is not None:
            self._pacer.wait(pts_s)
        image = av_frame.to_ndarray(format="bgr24")
        return self._clock.stamp(image, pts_s, packets)

    def _pump(self) -> None:
        """Demux one packet and decode it (the decoder may hold frames back while threading)."""
        assert self._demux is not None
        try:
            packet = next(self._demux)
        except StopIteration:
            packet = None
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(f"{self.description}: read failed: {exc}") from exc
        frames = self._decode(packet) if packet is not None else []
        if packet is None or (packet.size == 0 and packet.dts is None):
            # End of the stream (PyAV's flush packet, or none): what the decoder holds comes out.
            if not self.is_file:
                raise SourceError(f"{self.description}: the stream ended")
            self._ended = True
        elif self._is_new(packet):
            self._packets.append(
                EncodedPacket(
                    data=bytes(packet),
                    pts=packet.pts,
                    dts=packet.dts,
                    time_base=Fraction(packet.time_base),
                    keyframe=bool(packet.is_keyframe),
                )
            )
        for frame in frames:
            if self._last_pts is None or frame.pts is None or frame.pts > self._last_pts:
                self._decoded.append(frame)

    def _decode(self, packet: Any) -> list[Any]:
        try:
            return list(packet.decode())
        except av.error.InvalidDataError as exc:
            # One damaged packet (lost data on the network) costs a frame, not the connection.
            self.decode_errors += 1
            logger.warning("%s: undecodable packet skipped: %s", self.description, exc)
            return []
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(f"{self.description}: decoding failed: {exc}") from exc

    def _is_new(self, packet: Any) -> bool:
        if packet.dts is None:
            return True
        if self._last_dts is not None and packet.dts <= self._last_dts:
            return False  # resumed file: this packet went out before the break
        self._last_dts = int(packet.dts)
        return True

    def close(self) -> None:
        """Close the container; safe to call twice."""
        self._demux = None
        self._stream = None
        self._decoded.clear()
        if self._container is not None:
            try:
                self._container.close()
            except (av.error.FFmpegError, OSError) as exc:
                logger.debug("closing %s: %s", self.description, exc)
            self._container = None
