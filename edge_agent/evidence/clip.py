"""The clip: H.264 packets muxed into a fast-start MP4, and the checks that read one back.

Muxing never decodes or encodes: the packets (the camera's own, or the box encoder's) go into the
MP4 as they are, with their timestamps rebased to zero. The MP4 muxer's fast-start pass re-reads
its output by name, so the file is written to RAM (`/dev/shm`) or the temp folder, then read back.
"""

from __future__ import annotations

import io
import logging
import os
import statistics
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import av.error

from edge_agent.capture.base import EncodedPacket
from edge_agent.evidence.selection import Selection

logger = logging.getLogger(__name__)

MIME = "video/mp4"


@dataclass(frozen=True)
class Clip:
    """An MP4 (H.264, yuv420p, fast-start) and the capture times it covers."""

    data: bytes
    start: datetime  # UTC capture time of the first frame shown
    end: datetime  # UTC capture time of the last frame shown
    frames: int
    width: int
    height: int
    remuxed: bool  # the camera's own packets, never re-encoded

    @property
    def duration_s(self) -> float:
        """Capture time from the first to the last frame, in seconds."""
        return (self.end - self.start).total_seconds()


def clip_of(selection: Selection, times: Sequence[datetime]) -> Clip:
    """The clip of the selected packets; `times` are their capture times (decode order)."""
    chain = selection.chain
    order = sorted(range(len(times)), key=lambda i: selection.keys[i])  # display order
    data = mux_mp4(
        selection.packets, width=chain.width, height=chain.height, extradata=chain.extradata
    )
    return Clip(
        data=data,
        start=times[order[0]],
        end=times[order[-1]],
        frames=len(selection.packets),
        width=chain.width,
        height=chain.height,
        remuxed=chain.remuxed,
    )


def _scratch_dir() -> str:
    """RAM when the box has it (no SD-card wear for a file that lives a millisecond)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()


def _durations(packets: Sequence[EncodedPacket]) -> list[int]:
    """Each packet's display duration: the gap to the next frame in display order."""
    order = sorted(range(len(packets)), key=lambda i: _pts(packets[i]))
    gaps = [_pts(packets[b]) - _pts(packets[a]) for a, b in zip(order, order[1:], strict=False)]
    typical = int(statistics.median(gaps)) if gaps else 0
    durations = [typical] * len(packets)
    for index, gap in zip(order, gaps, strict=False):
        durations[index] = gap
    return durations


def _pts(packet: EncodedPacket) -> int:
    pts = packet.pts if packet.pts is not None else packet.dts
    if pts is None:
        raise ValueError("packet without a timestamp")
    return pts


def mux_mp4(
    packets: Sequence[EncodedPacket], *, width: int, height: int, extradata: bytes | None
) -> bytes:
    """A fast-start MP4 of H.264 `packets` (decode order, first a keyframe), times from zero."""
    if not packets or not packets[0].keyframe:
        raise ValueError("a clip starts with a keyframe")
    offset = min(p.dts if p.dts is not None else _pts(p) for p in packets)
    durations = _durations(packets)
    handle, path = tempfile.mkstemp(prefix="tw-clip-", suffix=".mp4", dir=_scratch_dir())
    os.close(handle)
    try:
        with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = _h264_stream(out, width, height, extradata)
            stream.time_base = packets[0].time_base
            for source, duration in zip(packets, durations, strict=True):
                packet = av.Packet(source.data)
                packet.pts = _pts(source) - offset
                packet.dts = (source.dts if source.dts is not None else _pts(source)) - offset
                packet.duration = duration
                packet.time_base = source.time_base
                packet.is_keyframe = source.keyframe
                packet.stream = stream
                out.mux(packet)
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def _h264_stream(out: Any, width: int, height: int, extradata: bytes | None) -> Any:
    """An H.264 stream that muxes packets as they are: no encoder is ever opened.

    A stream made from a template is marked initialised, so the container does not open an
    encoder for it; the template itself comes from a scratch container that is never written.
    """
    scratch = av.open(io.BytesIO(), "w", format="mp4")
    try:
        template = scratch.add_stream("h264")
        template.width, template.height, template.pix_fmt = width, height, "yuv420p"
        stream = out.add_stream_from_template(template)
    finally:
        scratch.close()
    stream.codec_context.extradata = extradata
    return stream


def moov_before_mdat(data: bytes) -> bool:
    """True when the MP4's index (moov) precedes its media (mdat): playable while loading."""
    offset, seen = 0, list[bytes]()
    while offset + 8 <= len(data) and len(seen) < 16:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1 and offset + 16 <= len(data):
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        seen.append(kind)
        if size < 8:
            break
        offset += size
    return b"moov" in seen and b"mdat" in seen and seen.index(b"moov") < seen.index(b"mdat")


@dataclass(frozen=True)
class ClipProbe:
    """What a clip holds, read back by demuxing and decoding it."""

    codec: str
    profile: str | None
    pix_fmt: str | None
    width: int
    height: int
    frames: int  # frames decoded
    duration_s: float  # from the first to the last frame's presentation time
    bitrate_kbps: float  # media bytes over the clip's whole duration
    fast_start: bool
    packets: tuple[bytes, ...]  # the stored packets, in decode order


def probe_clip(data: bytes) -> ClipProbe:
    """Demux and decode a clip completely (raises `av.error.FFmpegError` if it is broken)."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        packets = tuple(bytes(p) for p in container.demux(stream) if p.size)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        times = [f.time for f in container.decode(stream) if f.time is not None]
        codec, profile, pix_fmt = ctx.name, ctx.profile, ctx.pix_fmt
        width, height = ctx.width, ctx.height
    span = (max(times) - min(times)) if times else 0.0
    step = span / (len(times) - 1) if len(times) > 1 else 0.0
    whole = span + step  # the last frame is shown for one frame's time too
    media = sum(len(p) for p in packets)
    return ClipProbe(
        codec=str(codec),
        profile=profile,
        pix_fmt=pix_fmt,
        width=int(width),
        height=int(height),
        frames=len(times),
        duration_s=span,
        bitrate_kbps=media * 8 / whole / 1000 if whole > 0 else 0.0,
        fast_start=moov_before_mdat(data),
        packets=packets,
    )


def remux_check(clip: Clip, source_path: str | Path) -> bool:
    """True if `clip` is a remux of the H.264 file: its packets, byte for byte, in a run.

    Also decodes the clip whole and checks its frame count, so a True clip plays. For the
    benchmark's `remux_ok` on an H.264 file source.
    """
    if not clip.remuxed:
        return False
    try:
        probe = probe_clip(clip.data)
        with av.open(str(source_path)) as container:
            stream = container.streams.video[0]
            source = [bytes(p) for p in container.demux(stream) if p.size]
    except (av.error.FFmpegError, OSError) as exc:
        logger.warning("remux check: cannot read the clip or %s: %s", source_path, exc)
        return False
    if not probe.packets or probe.frames != clip.frames or not probe.fast_start:
        return False
    try:
        first = source.index(probe.packets[0])
    except ValueError:
        return False
    return tuple(source[first : first + len(probe.packets)]) == probe.packets
