"""Which packets make a clip: from the keyframe at or before `start` to the frame at `end`.

Pure logic over the buffer's segments (no locking, no I/O). Times are the frames' capture times
(UTC); a packet's capture time is known once its frame has come through capture (the decoder
holds a frame or two back), so a clip is complete when every packet in it has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from edge_agent.capture.base import EncodedPacket


@dataclass(frozen=True)
class Chain:
    """One opening of the source: the stream parameters every segment in it shares."""

    id: int
    width: int
    height: int
    extradata: bytes | None  # the camera's (avcC or Annex B); None when headers are in-band
    remuxed: bool  # the camera's own packets (True) or the box's encoding (False)


@dataclass(eq=False)
class Segment:
    """A GOP: packets in decode order from a keyframe to the next, with their capture times."""

    chain: Chain
    packets: list[EncodedPacket] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)  # each packet's display time, µs of stream
    times: dict[int, datetime] = field(default_factory=dict)  # key → capture time
    nbytes: int = 0

    def append(self, packet: EncodedPacket, key: int) -> None:
        """Add a packet (decode order)."""
        self.packets.append(packet)
        self.keys.append(key)
        self.nbytes += len(packet.data)

    @property
    def start(self) -> datetime | None:
        """Capture time of the keyframe, once its frame has come through."""
        return self.times.get(self.keys[0]) if self.keys else None

    def span(self) -> tuple[datetime, datetime] | None:
        """Earliest and latest capture time known in this segment."""
        if not self.times:
            return None
        return min(self.times.values()), max(self.times.values())


@dataclass(frozen=True)
class Selection:
    """The packets of one clip, in decode order, with the capture time of each (if known)."""

    chain: Chain
    packets: tuple[EncodedPacket, ...]
    keys: tuple[int, ...]
    times: tuple[datetime | None, ...]
    reaches_end: bool  # a frame captured at or after the requested end is in it
    truncated_start: bool  # the buffer did not reach back to the requested start
    ended: bool  # the chain will get no more video (the source reopened since)

    @property
    def complete(self) -> bool:
        """Nothing more will come for this clip: it reaches the end or its chain has ended."""
        timed = all(t is not None for t in self.times)
        return timed and (self.reaches_end or self.ended)

    def resolved_times(self) -> list[datetime] | None:
        """Each packet's capture time; a missing one follows from the nearest known by pts."""
        known = [(k, t) for k, t in zip(self.keys, self.times, strict=True) if t is not None]
        if not known:
            return None
        return [
            time if time is not None else estimate_time(key, known)
            for key, time in zip(self.keys, self.times, strict=True)
        ]


def estimate_time(key: int, known: Sequence[tuple[int, datetime]]) -> datetime:
    """The capture time of the frame at stream time `key`, from the nearest frame known."""
    near_key, near_time = min(known, key=lambda kt: abs(kt[0] - key))
    return near_time + timedelta(microseconds=key - near_key)


def packet_key(packet: EncodedPacket) -> int | None:
    """The packet's display time in µs of stream time (as the source computes a frame's pts_s)."""
    ts = packet.pts if packet.pts is not None else packet.dts
    return None if ts is None else round(float(ts * packet.time_base) * 1e6)


def _overlap(segments: Sequence[Segment], start: datetime, end: datetime) -> float | None:
    spans = [s for s in (seg.span() for seg in segments) if s is not None]
    if not spans:
        return None
    low, high = min(s[0] for s in spans), max(s[1] for s in spans)
    if high < start or low > end:
        return None
    return (min(high, end) - max(low, start)).total_seconds()


def best_chain(segments: Sequence[Segment], start: datetime, end: datetime) -> Chain | None:
    """The chain that holds most of [start, end] (the later one on a tie); None if none does.

    Chains are never joined: after a reconnect the stream's parameters and clock may differ.
    """
    best: tuple[float, Chain] | None = None
    chains = list(dict.fromkeys(seg.chain for seg in segments))
    for chain in chains:
        overlap = _overlap([s for s in segments if s.chain is chain], start, end)
        if overlap is not None and (best is None or overlap >= best[0]):
            best = (overlap, chain)
    return None if best is None else best[1]


def select(
    segments: Sequence[Segment], start: datetime, end: datetime, live_chain: int | None
) -> Selection | None:
    """The packets that show [start, end], from the keyframe at or before `start`.

    `live_chain` is the chain still recording: only for it is waiting for more worthwhile.
    """
    chain = best_chain(segments, start, end)
    if chain is None:
        return None
    own = [seg for seg in segments if seg.chain is chain]
    first = 0
    for index, seg in enumerate(own):
        seg_start = seg.start
        if seg_start is not None and seg_start <= start:
            first = index
    first_start = own[first].start
    truncated = first_start is None or first_start > start
    packets: list[EncodedPacket] = []
    keys: list[int] = []
    times: list[datetime | None] = []
    for seg in own[first:]:
        for packet, key in zip(seg.packets, seg.keys, strict=True):
            if keys and key < keys[0]:
                continue  # a leading picture of an open GOP: it refers to the GOP before
            packets.append(packet)
            keys.append(key)
            times.append(seg.times.get(key))
    at_end = [k for k, t in zip(keys, times, strict=True) if t is not None and t >= end]
    cut = len(keys)
    if at_end:
        end_key = min(at_end)
        # Decode order: keep everything up to the last packet shown no later than the end frame,
        # so every frame kept has the frames it refers to.
        cut = max(i for i, k in enumerate(keys) if k <= end_key) + 1
    return Selection(
        chain=chain,
        packets=tuple(packets[:cut]),
        keys=tuple(keys[:cut]),
        times=tuple(times[:cut]),
        reaches_end=bool(at_end),
        truncated_start=truncated,
        ended=chain.id != live_chain,
    )
