"""The debounced phase timeline: which colour the light showed when, with red onset and amber.

Every signal source (classifier, controller, fixed plan) ends up here or behaves like it. Raw
readings are noisy: a classifier misreads one frame in a hundred, a bus hides the light for a
second, a relay contact bounces. A new phase is therefore committed only once it has been read
`min_readings` times over at least `hold_s` with nothing else in between, and then back-dated to
its first reading, so that the red onset is as exact as the frame rate allows. Short gaps of
unreadable frames keep the current phase; a long one commits `unknown`.

Times are UTC datetimes (frame capture times); the timeline never reads a clock itself.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from protocol.enums import SignalPhase, SignalSource


@dataclass(frozen=True)
class PhaseInterval:
    """One stretch of a single phase; `end` is None while it lasts."""

    phase: SignalPhase
    start: datetime
    end: datetime | None = None
    # False when the phase was already showing as observation began: its start is a bound only.
    start_known: bool = True
    confidence: float = 1.0

    @property
    def duration_s(self) -> float | None:
        """Length in seconds, once the interval has ended."""
        return None if self.end is None else (self.end - self.start).total_seconds()

    def contains(self, t: datetime) -> bool:
        """Whether `t` falls in [start, end)."""
        return self.start <= t and (self.end is None or t < self.end)


class PhaseTimelineView(Protocol):
    """What the rules ask of a timeline; `PhaseTimeline` and `FixedPlanTimeline` provide it."""

    @property
    def source(self) -> SignalSource:
        """How the phase is known."""
        ...

    def settled_until(self) -> datetime | None:
        """Up to when the timeline is final (a later reading cannot change it)."""
        ...

    def interval_at(self, t: datetime) -> PhaseInterval | None:
        """The interval holding `t`, or None when `t` is outside what is known."""
        ...

    def interval_before(self, interval: PhaseInterval) -> PhaseInterval | None:
        """The interval that ended when `interval` began, if known."""
        ...


@dataclass
class _Candidate:
    phase: SignalPhase
    first: datetime
    last: datetime
    count: int
    confidence_sum: float


class PhaseTimeline:
    """A debounced timeline fed with timestamped readings; safe to read from another thread."""

    def __init__(
        self,
        source: SignalSource,
        *,
        hold_s: float = 0.2,
        min_readings: int = 3,
        unknown_after_s: float = 1.5,
        history_s: float = 900.0,
    ) -> None:
        self._source = source
        self.hold = timedelta(seconds=hold_s)
        self.min_readings = min_readings
        self.unknown_after = timedelta(seconds=unknown_after_s)
        self.history = timedelta(seconds=history_s)
        self._intervals: deque[PhaseInterval] = deque()
        self._candidate: _Candidate | None = None
        self._last_reading: datetime | None = None
        self._lock = threading.Lock()

    @property
    def source(self) -> SignalSource:
        """How the phase is known."""
        return self._source

    def observe(self, t: datetime, phase: SignalPhase, confidence: float = 1.0) -> None:
        """Add one reading taken at `t` (readings older than the last one are ignored)."""
        with self._lock:
            if self._last_reading is not None and t < self._last_reading:
                return
            self._last_reading = t
            self._observe(t, phase, confidence)
            self._forget_before(t - self.history)

    def _observe(self, t: datetime, phase: SignalPhase, confidence: float) -> None:
        current = self._intervals[-1] if self._intervals else None
        if current is not None and phase is current.phase:
            self._candidate = None  # the current phase holds: whatever was pending was noise
            return
        cand = self._candidate
        if cand is not None and phase is SignalPhase.unknown and cand.phase is not phase:
            return  # a blurred frame inside a real change must not push its onset later
        if cand is None or cand.phase is not phase:
            cand = self._candidate = _Candidate(phase, t, t, 0, 0.0)
        cand.last, cand.count = t, cand.count + 1
        cand.confidence_sum += confidence
        if self._ready(cand, current):
            self._commit(cand)

    def _ready(self, cand: _Candidate, current: PhaseInterval | None) -> bool:
        held = cand.last - cand.first
        if cand.phase is SignalPhase.unknown:
            # A bus hiding the light must not end a red: only a long blackout becomes unknown.
            return current is None or held >= self.unknown_after
        return cand.count >= self.min_readings and held >= self.hold

    def _commit(self, cand: _Candidate) -> None:
        known = bool(self._intervals)
        if self._intervals:
            self._intervals[-1] = replace(self._intervals[-1], end=cand.first)
        confidence = cand.confidence_sum / cand.count
        self._intervals.append(PhaseInterval(cand.phase, cand.first, None, known, confidence))
        self._candidate = None

    def _forget_before(self, horizon: datetime) -> None:
        while len(self._intervals) > 1 and (self._intervals[0].end or horizon) < horizon:
            self._intervals.popleft()

    def settled_until(self) -> datetime | None:
        """Up to when the timeline is final: the last reading, or a pending change's start."""
        with self._lock:
            if self._candidate is not None:
                return self._candidate.first
            return self._last_reading

    def current(self) -> PhaseInterval | None:
        """The committed phase now."""
        with self._lock:
            return self._intervals[-1] if self._intervals else None

    def intervals(self) -> list[PhaseInterval]:
        """Every interval still remembered, oldest first."""
        with self._lock:
            return list(self._intervals)

    def interval_at(self, t: datetime) -> PhaseInterval | None:
        """The interval holding `t`, or None before the first or after the last reading."""
        with self._lock:
            if self._last_reading is None or t > self._last_reading:
                return None
            for interval in reversed(self._intervals):
                if interval.contains(t):
                    return interval
            return None

    def interval_before(self, interval: PhaseInterval) -> PhaseInterval | None:
        """The interval that ended when `interval` began, if still remembered."""
        with self._lock:
            for earlier in reversed(self._intervals):
                if earlier.end == interval.start:
                    return earlier
            return None

    def phase_at(self, t: datetime) -> SignalPhase:
        """The committed phase at `t` (`unknown` outside what was read)."""
        interval = self.interval_at(t)
        return SignalPhase.unknown if interval is None else interval.phase
