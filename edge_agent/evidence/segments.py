"""The segment buffer: the last seconds of video, kept encoded, cut into GOP-aligned segments.

An H.264 source (`AvSource`) delivers the camera's own packets with its frames: they are kept as
they are, a segment starting at each keyframe, and a clip is a remux (no decode, no encode; the
camera's bitrate). A raw source is encoded continuously in a separate thread into ~1-second
segments (`encoder.ChainEncoder`). Either way the capture thread only appends references.

Only what a clip can need is held (`store.SegmentStore`): segments that start within pre-roll +
margin of the newest frame, the one before them (it holds the keyframe), and whatever a waiting
`clip()` asked for; a byte cap bounds the rest. Each (re)opening of the source starts a new
chain; a clip never spans two chains (the stream's parameters and clock may have changed).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from edge_agent.capture.base import EncodedPacket, Frame, StreamInfo
from edge_agent.evidence.clip import Clip, clip_of
from edge_agent.evidence.encoder import ChainEncoder, EncoderSettings
from edge_agent.evidence.selection import Chain, Selection, packet_key, select
from edge_agent.evidence.store import MIB, SegmentStore

logger = logging.getLogger(__name__)

REMUX = "remux"
REENCODE = "reencode"


class SegmentBuffer:
    """The encoded ring of recent video and the clips cut from it; `add` is the frame tap.

    `bitrate_kbps` is for encoding a raw source (a remux keeps the camera's bitrate);
    `hw_encoder` names the encoder to try first (None: a hardware one where the box has one,
    "libx264": software only); `margin_s` is how far behind capture a clip may be asked for;
    `scale_width` downscales a raw source before encoding (None: full resolution).
    """

    def __init__(
        self,
        *,
        pre_roll_s: float,
        post_roll_s: float,
        bitrate_kbps: int,
        stream: StreamInfo | None = None,
        hw_encoder: str | None = None,
        margin_s: float = 3.0,
        max_bytes: int = 64 * MIB,
        segment_s: float = 1.0,
        scale_width: int | None = None,
        preset: str | None = None,
        encoder_threads: int = 0,
        queue_frames: int = 4,
    ) -> None:
        self.pre_roll_s = pre_roll_s
        self.post_roll_s = post_roll_s
        self.hw_encoder = hw_encoder  # None: a hardware encoder where the box has one
        settings = EncoderSettings(
            bitrate_kbps=bitrate_kbps,
            segment_s=segment_s,
            width=scale_width,
            threads=encoder_threads,
            queue_frames=queue_frames,
        )
        self._settings = dataclasses.replace(settings, preset=preset) if preset else settings
        # margin: how far the rules may lag capture when they ask for a clip.
        self._store = SegmentStore(keep_s=pre_roll_s + margin_s, max_bytes=max_bytes)
        self._cond = threading.Condition()
        self._chain_ids = itertools.count(1)
        self._chain: Chain | None = None  # the current remux chain
        self._raw_chains: dict[int, Chain] = {}
        self._live_chain: int | None = None  # the chain still recording
        self._mode: str | None = None
        self._encoder: ChainEncoder | None = None
        self._codec: str | None = None
        self._waiting = 0
        self._closed = False
        self._frames = 0
        self._retired = {"dropped": 0, "failed": 0, "encoded": 0}
        if stream is not None:
            self.on_open(stream)

    # --- input (the capture thread, and the encoder's) ---

    def on_open(self, info: StreamInfo) -> None:
        """The source (re)opened: start a new chain, remuxed if it gives H.264 packets."""
        with self._cond:
            retired, self._encoder = self._encoder, None
            chain_id = next(self._chain_ids)
            self._live_chain = chain_id
            self._store.settle_all()
            if info.codec == "h264":
                self._mode = REMUX
                self._chain = Chain(chain_id, info.width, info.height, info.extradata, True)
            else:
                self._mode, self._chain = REENCODE, None
                settings = self._settings
                if info.fps:  # the nominal rate helps rate control; timestamps stay the frames'
                    settings = dataclasses.replace(settings, fps=info.fps)
                self._encoder = ChainEncoder(chain_id, settings, self._encoded, self.hw_encoder)
        logger.info(
            "evidence buffer: chain %d, %dx%d %s: %s",
            chain_id,
            info.width,
            info.height,
            info.codec or "raw",
            "the camera's packets, remuxed" if self._mode == REMUX else "encoded on the box",
        )
        if retired is not None:
            self._retire(retired)

    def add(self, frame: Frame) -> None:
        """The frame tap: keep the frame's packets, or queue it for the encoder; never blocks."""
        if self._closed:
            return
        if self._mode is None:
            logger.warning("evidence buffer: frames before the stream opened; encoding them")
            self.on_open(StreamInfo(width=frame.width, height=frame.height, fps=None))
        self._frames += 1
        encoder = self._encoder
        if encoder is not None:
            encoder.offer(frame)
            return
        with self._cond:
            if self._chain is not None:
                for packet in frame.packets:
                    self._store.keep_camera_packet(self._chain, packet)
            self._store.frame_came(frame)
            if self._waiting:
                self._cond.notify_all()

    def _encoded(self, encoder: ChainEncoder, packet: EncodedPacket, captured_at: datetime) -> None:
        """A packet from the encoder's thread, with its frame's capture time."""
        key = packet_key(packet)
        assert key is not None and encoder.size is not None
        with self._cond:
            self._codec = encoder.codec
            chain = self._raw_chains.get(encoder.chain)
            if chain is None:
                chain = Chain(encoder.chain, *encoder.size, extradata=None, remuxed=False)
                self._raw_chains = {c: k for c, k in self._raw_chains.items() if c >= chain.id - 1}
                self._raw_chains[chain.id] = chain
            segment = self._store.append(chain, packet, key)
            if segment is not None:
                self._store.timed(segment, key, captured_at)
            if self._waiting:
                self._cond.notify_all()

    # --- output (the evidence builder's thread) ---

    def clip(self, start: datetime, end: datetime, *, timeout_s: float) -> Clip | None:
        """The MP4 covering [start, end] (capture times, UTC), once it is recorded.

        Waits up to `timeout_s` for the video up to `end`; then returns what exists (logged), or
        None when the buffer holds nothing of that interval.
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._store.pins.append(start)  # what the clip needs stays while it waits
            self._waiting += 1
            try:
                selection = self._wait_for(start, end, deadline)
            finally:
                self._store.pins.remove(start)
                self._waiting -= 1
            held = self._store.span()
        times = selection.resolved_times() if selection is not None else None
        if selection is None or times is None or not selection.packets:
            held_text = f"{held[0]}–{held[1]}" if held else "nothing"
            logger.warning(
                "evidence buffer: no video of %s–%s (it holds %s)", start, end, held_text
            )
            return None
        if selection.truncated_start or not selection.reaches_end:
            logger.warning(
                "evidence buffer: the clip of %s–%s is cut to %s–%s (all it holds)",
                start,
                end,
                min(times),
                max(times),
            )
        return clip_of(selection, times)

    def clip_around(self, at: datetime, *, timeout_s: float) -> Clip | None:
        """The clip of [at − pre-roll, at + post-roll]."""
        start = at - timedelta(seconds=self.pre_roll_s)
        return self.clip(start, at + timedelta(seconds=self.post_roll_s), timeout_s=timeout_s)

    def _wait_for(self, start: datetime, end: datetime, deadline: float) -> Selection | None:
        while True:
            selection = select(self._store.segments, start, end, self._live_chain)
            remaining = deadline - time.monotonic()
            if (selection is not None and selection.complete) or self._closed or remaining <= 0:
                return selection
            self._cond.wait(remaining)

    # --- life cycle and figures ---

    def _retire(self, encoder: ChainEncoder) -> None:
        encoder.stop()
        with self._cond:
            for name, value in (
                ("dropped", encoder.dropped),
                ("failed", encoder.failed),
                ("encoded", encoder.encoded),
            ):
                self._retired[name] += value

    def close(self) -> None:
        """Stop taking frames and finish the encoder; clips of what is held can still be cut."""
        with self._cond:
            self._closed = True
            self._live_chain = None
            encoder, self._encoder = self._encoder, None
            self._cond.notify_all()
        if encoder is not None:
            self._retire(encoder)

    @property
    def stats(self) -> dict[str, Any]:
        """Segments and bytes held, frames the encoder dropped, the mode and the encoder."""
        with self._cond:
            store, encoder = self._store, self._encoder
            span = store.span()

            def total(name: str) -> int:
                return self._retired[name] + (getattr(encoder, name) if encoder else 0)

            return {
                "mode": self._mode,  # "remux" (camera's packets) or "reencode"
                "encoder": self._codec,
                "chains": len({seg.chain.id for seg in store.segments}),
                "segments": len(store.segments),
                "bytes": store.bytes,
                "held_s": round((span[1] - span[0]).total_seconds(), 3) if span else 0.0,
                "frames": self._frames,
                "frames_dropped": total("dropped"),  # the encoder was behind
                "frames_failed": total("failed"),
                "frames_encoded": total("encoded"),
                "packets_skipped": store.skipped,
                "packets_untimed": store.untimed,
                "segments_evicted": store.evicted,
                "clips_waiting": self._waiting,
            }
