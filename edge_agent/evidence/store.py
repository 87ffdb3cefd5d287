"""The segments the buffer holds, how packets get their capture times, and which segments go.

No locking here: `SegmentBuffer` calls every method under its one lock.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from edge_agent.capture.base import EncodedPacket, Frame
from edge_agent.evidence.selection import Chain, Segment, estimate_time, packet_key

logger = logging.getLogger(__name__)

MIB = 1024 * 1024


class SegmentStore:
    """Segments in capture order; old ones go once no clip can need them."""

    def __init__(self, *, keep_s: float, max_bytes: int, max_untimed: int = 256) -> None:
        self.keep_s = keep_s  # held behind the newest frame: pre-roll + margin
        self.max_bytes = max_bytes
        self.max_untimed = max_untimed
        self.segments: deque[Segment] = deque()
        self.bytes = 0
        self.latest: datetime | None = None  # the newest capture time seen
        self.pins: list[datetime] = []  # starts of the clips being waited for
        self.skipped = 0  # packets before a chain's first keyframe (undecodable)
        self.evicted = 0
        self.untimed = 0  # packets whose frame never came through capture
        self._open: dict[int, Segment] = {}  # chain id → its newest segment
        self._awaiting: OrderedDict[int, Segment] = OrderedDict()  # camera packets, frame due

    def append(self, chain: Chain, packet: EncodedPacket, key: int) -> Segment | None:
        """Add a packet to its chain's newest segment; a keyframe starts a new one."""
        segment = self._open.get(chain.id)
        if packet.keyframe and (segment is None or segment.packets):
            segment = Segment(chain)
            self.segments.append(segment)
            self._open = {c: s for c, s in self._open.items() if c >= chain.id - 1}
            self._open[chain.id] = segment
            self.evict()
        if segment is None:
            self.skipped += 1
            return None
        segment.append(packet, key)
        self.bytes += len(packet.data)
        return segment

    def keep_camera_packet(self, chain: Chain, packet: EncodedPacket) -> None:
        """A packet of the camera's stream; its capture time comes with its decoded frame."""
        key = packet_key(packet)
        if key is None:
            self.skipped += 1
            return
        segment = self.append(chain, packet, key)
        if segment is not None:
            self._awaiting[key] = segment
            while len(self._awaiting) > self.max_untimed:  # frames that never came (bad data)
                self._settle(*self._awaiting.popitem(last=False))

    def frame_came(self, frame: Frame) -> None:
        """Give the frame's capture time to the packet that it was decoded from."""
        segment: Segment | None = None
        if frame.pts_s is not None:
            key = round(frame.pts_s * 1e6)  # as `packet_key` computes it
            segment = self._awaiting.pop(key, None)
        elif self._awaiting:  # no timestamps: frames come out in packet order
            key, segment = self._awaiting.popitem(last=False)
        if segment is not None:
            self.timed(segment, key, frame.captured_at)

    def timed(self, segment: Segment, key: int, captured_at: datetime) -> None:
        """The frame at `key` of `segment` was captured at `captured_at`."""
        segment.times[key] = captured_at
        if self.latest is None or captured_at > self.latest:
            self.latest = captured_at

    def settle_all(self) -> None:
        """The source reopened: the frames still due from the old opening will never come.

        They were demuxed but never decoded before the break: capture never saw them, so the
        clip does not show them either (the newest go first; nothing older refers to them).
        """
        while self._awaiting:
            key, segment = self._awaiting.popitem(last=True)
            if segment.keys and segment.keys[-1] == key:
                self._drop_last(segment)
            else:
                self._settle(key, segment)

    def _drop_last(self, segment: Segment) -> None:
        packet = segment.packets.pop()
        segment.keys.pop()
        segment.nbytes -= len(packet.data)
        self.bytes -= len(packet.data)
        self.untimed += 1
        if not segment.packets and self.segments and self.segments[-1] is segment:
            self.segments.pop()

    def _settle(self, key: int, segment: Segment) -> None:
        self.untimed += 1
        if segment.times:  # its time follows from its neighbours'
            segment.times[key] = estimate_time(key, list(segment.times.items()))

    def evict(self) -> None:
        """Drop the oldest segments no clip can need; the byte cap overrides a waiting clip."""
        horizon = None if self.latest is None else self.latest - timedelta(seconds=self.keep_s)
        if horizon is not None and self.pins:
            horizon = min(horizon, min(self.pins))
        while len(self.segments) > 1:
            following = self.segments[1].start  # the oldest goes once the next one will do
            if horizon is not None and following is not None and following <= horizon:
                self._drop_oldest()
            elif self.bytes > self.max_bytes:
                logger.warning(
                    "evidence buffer over %d MiB: its oldest segment goes", self.max_bytes // MIB
                )
                self._drop_oldest()
            else:
                break

    def _drop_oldest(self) -> None:
        segment = self.segments.popleft()
        self.bytes -= segment.nbytes
        self.evicted += 1
        for key in segment.keys:
            if self._awaiting.get(key) is segment:
                del self._awaiting[key]

    def span(self) -> tuple[datetime, datetime] | None:
        """The earliest and latest capture time held."""
        spans = [s for s in (seg.span() for seg in self.segments) if s is not None]
        if not spans:
            return None
        return min(s[0] for s in spans), max(s[1] for s in spans)
