"""Counters the stages keep for the heartbeat and the benchmark (thread-safe, cheap)."""

from __future__ import annotations

import statistics
import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StageFigures:
    """A stage's totals since start."""

    items: int
    errors: int
    cpu_s: float
    wall_s: float

    @property
    def cpu_ms_per_item(self) -> float:
        """Mean CPU milliseconds per item."""
        return 1000 * self.cpu_s / self.items if self.items else 0.0

    @property
    def wall_ms_per_item(self) -> float:
        """Mean wall-clock milliseconds per item."""
        return 1000 * self.wall_s / self.items if self.items else 0.0


@dataclass
class StageStats:
    """Items handled, errors, CPU and wall time of one stage."""

    items: int = 0
    errors: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, wall_s: float, cpu_s: float) -> None:
        """Count one item handled."""
        with self._lock:
            self.items += 1
            self.wall_s += wall_s
            self.cpu_s += cpu_s

    def error(self) -> None:
        """Count one item that failed (it is logged and skipped, never fatal)."""
        with self._lock:
            self.errors += 1

    def snapshot(self) -> StageFigures:
        """The totals now."""
        with self._lock:
            return StageFigures(self.items, self.errors, self.cpu_s, self.wall_s)


@dataclass
class DetectCounters:
    """What the detector did: runs, boxes, recent latencies."""

    runs: int = 0
    skipped: int = 0
    boxes: int = 0
    _latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=256), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ran(self, latency_ms: float, boxes: int) -> None:
        """Count one detector run."""
        with self._lock:
            self.runs += 1
            self.boxes += boxes
            self._latencies_ms.append(latency_ms)

    def skip(self) -> None:
        """Count a frame the tracker filled without detection."""
        with self._lock:
            self.skipped += 1

    def median_latency_ms(self) -> float | None:
        """Median latency of the recent runs; None before the first."""
        with self._lock:
            return statistics.median(self._latencies_ms) if self._latencies_ms else None
