"""What the evidence builder is told and what it reports: settings, its inputs, its figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from edge_agent.evidence.clip import Clip
from protocol.config import EvidenceSection
from protocol.evidence import ClockState, ModelInfo


class ClipSource(Protocol):
    """What the builder asks of the segment buffer."""

    def clip(self, start: datetime, end: datetime, *, timeout_s: float) -> Clip | None:
        """The clip covering [start, end], or None; waits up to `timeout_s` for the end."""
        ...


@dataclass(frozen=True)
class EvidenceSettings:
    """How much video, how the stills look, how many events may wait."""

    pre_roll_s: float = 2.0
    post_roll_s: float = 3.0
    jpeg_quality: int = 80
    still_max_width: int = 1280
    queue_size: int = 8
    clip_timeout_s: float = 5.0  # after the post-roll, for the buffer to hold the clip's end
    locate_plates: bool = True

    @classmethod
    def from_config(cls, section: EvidenceSection, **overrides: object) -> EvidenceSettings:
        """The settings of the config's `evidence` section."""
        values: dict[str, object] = {
            "pre_roll_s": section.pre_roll_s,
            "post_roll_s": section.post_roll_s,
            "jpeg_quality": section.jpeg_quality,
            "still_max_width": section.still_max_width,
            **overrides,
        }
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CaptureSources:
    """Where the builder reads the model, the clock and the frame rate when it makes a packet."""

    model: Callable[[], ModelInfo]
    clock: Callable[[], ClockState]
    fps: Callable[[], float]


@dataclass(frozen=True)
class EvidenceFigures:
    """What the builder did since start."""

    submitted: int
    built: int
    dropped: int
    key_frame_missed: int
    without_clip: int
    pending: int
    last_seq: int | None
    build_ms: float | None  # median, violation → packet in the outbox (includes the post-roll)
    work_ms: float | None  # median, clip in hand → packet in the outbox (stills, signature, put)
