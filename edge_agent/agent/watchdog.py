"""The watchdog: restarts a stuck or dead stage, within a budget.

A stage is stuck when one call (a camera read, a detector run) has lasted longer than its stall
limit; dead when its thread ended without finishing. Either way it gets a fresh worker
(`StageThread.restart`). More than `max_restarts` restarts within `window_s` means something a
restart cannot fix: the watchdog gives up and the agent stops with an error, so systemd restarts
the whole process (and a person sees it in the status).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from edge_agent.agent.pipeline import StageThread

logger = logging.getLogger(__name__)


class RestartBudget:
    """At most `max_restarts` within any `window_s` seconds."""

    def __init__(self, max_restarts: int = 3, window_s: float = 600.0) -> None:
        self.max_restarts = max_restarts
        self.window_s = window_s
        self._times: deque[float] = deque()

    def take(self, now: float | None = None) -> bool:
        """Spend one restart; False when the budget is exhausted."""
        now = time.monotonic() if now is None else now
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) >= self.max_restarts:
            return False
        self._times.append(now)
        return True

    def recent(self, now: float | None = None) -> int:
        """Restarts within the window."""
        now = time.monotonic() if now is None else now
        return sum(1 for t in self._times if now - t <= self.window_s)


class Watchdog:
    """Checks the stages every `interval_s` on its own thread (`tw-watchdog`)."""

    def __init__(
        self,
        stages: Sequence[StageThread],
        on_give_up: Callable[[str], None],
        *,
        budget: RestartBudget | None = None,
        interval_s: float = 1.0,
    ) -> None:
        self.stages = list(stages)
        self.budget = budget or RestartBudget()
        self.interval_s = interval_s
        self.gave_up: str | None = None
        self._on_give_up = on_give_up
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching."""
        self._thread = threading.Thread(target=self._run, name="tw-watchdog", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching (before the stages stop, so a stopping stage is not 'restarted')."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._halt.wait(self.interval_s):
            try:
                self.check()
            except Exception:
                logger.exception("watchdog check failed")
            if self.gave_up is not None:
                return

    def check(self, now: float | None = None) -> None:
        """Restart whatever stage is stuck or dead (one pass)."""
        now = time.monotonic() if now is None else now
        for stage in self.stages:
            problem = self._problem(stage, now)
            if problem is None:
                continue
            if not self.budget.take(now):
                self.gave_up = f"{stage.name}: {problem}; restart budget exhausted"
                logger.critical("watchdog gives up: %s", self.gave_up)
                self._on_give_up(self.gave_up)
                return
            logger.error("watchdog: stage %s %s; restarting it", stage.name, problem)
            stage.restart()

    @staticmethod
    def _problem(stage: StageThread, now: float) -> str | None:
        if stage.done.is_set():
            return None
        if not stage.alive():
            return "died"
        busy = stage.busy_for(now)
        if busy > stage.stall_s:
            return f"stuck for {busy:.1f} s (limit {stage.stall_s:.0f} s)"
        return None
