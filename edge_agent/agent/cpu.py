"""CPU time by stage, from the kernel's per-thread accounting (Linux `/proc/self/task`).

A stage's own thread is only part of its cost: FFmpeg decodes in threads of its own (named
`av:h264:df0` …) and the TFLite runtime infers on a thread pool it creates unnamed. So the kernel's
figures are summed per stage: decoder threads count for capture, the unnamed native threads (the
inference pool) for detect. Python threads get their names written to the kernel (`comm`) so they
can be told apart. Elsewhere than Linux, `sample()` returns None and the stages' own thread times
stand in.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

_TASKS = Path("/proc/self/task")
_DECODER_PREFIX = "av:"  # FFmpeg ≥ 6 names its decoding threads av:<codec>:…


class ThreadCpu:
    """Cumulative CPU seconds per stage name, summed over the threads that do its work."""

    def __init__(self, stages: Iterable[str], pool_stage: str = "detect") -> None:
        self.stages = {f"tw-{s}"[:15]: s for s in stages}
        self.pool_stage = pool_stage
        self._ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._named: set[int] = set()
        self._seen: dict[int, tuple[str, float]] = {}  # tid → (stage, seconds): exited threads
        self._lock = threading.Lock()  # the heartbeat and the publisher both ask
        self.available = _TASKS.is_dir()

    def sample(self) -> dict[str, float] | None:
        """CPU seconds per stage since the process began; None where the kernel cannot say."""
        if not self.available:
            return None
        with self._lock:
            return self._sample()

    def _sample(self) -> dict[str, float]:
        self._name_python_threads()
        main = os.getpid()
        for task in _TASKS.iterdir():
            tid = int(task.name)
            figures = _read_task(task)
            if figures is None:
                continue
            comm, seconds = figures[0], figures[1] / self._ticks
            self._seen[tid] = (self._stage_of(comm, tid == main), seconds)
        totals: dict[str, float] = {}
        for stage, seconds in self._seen.values():
            totals[stage] = totals.get(stage, 0.0) + seconds
        return totals

    def _stage_of(self, comm: str, is_main: bool) -> str:
        if comm in self.stages:
            return self.stages[comm]
        if comm.startswith(_DECODER_PREFIX):
            return "capture"
        if is_main or comm.startswith("tw-"):
            return "other"
        return self.pool_stage  # a native thread nobody named: the inference runtime's pool

    def _name_python_threads(self) -> None:
        # The kernel knows Python threads by the process name; give it theirs (15 bytes max).
        for thread in threading.enumerate():
            tid = thread.native_id
            if tid is None or tid in self._named or thread is threading.main_thread():
                continue
            self._named.add(tid)
            try:
                (_TASKS / str(tid) / "comm").write_text(thread.name[:15])
            except OSError as exc:
                logger.debug("cannot name thread %s: %s", thread.name, exc)


def _read_task(task: Path) -> tuple[str, int] | None:
    """(name, user + system clock ticks) of one thread; None if it has just exited."""
    try:
        stat = (task / "stat").read_text()
    except OSError:
        return None
    # The name is in parentheses and may itself hold spaces or parentheses.
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    return name, int(fields[11]) + int(fields[12])  # utime, stime
