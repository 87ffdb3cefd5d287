"""The watchdog restarts a stuck stage, discards what the stuck call returns, within a budget."""

from __future__ import annotations

import threading
import time

from edge_agent.agent.pipeline import StageQueue, StageThread
from edge_agent.agent.watchdog import RestartBudget, Watchdog
from tests.edge_agent.agent.fakes import HangingWorker

WAIT_S = 20.0


def wait_until(condition: object) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)
    assert condition(), "condition not reached in time"  # type: ignore[operator]


def test_budget_allows_so_many_restarts_per_window() -> None:
    budget = RestartBudget(max_restarts=3, window_s=600)
    assert [budget.take(now=t) for t in (0, 10, 20, 30)] == [True, True, True, False]
    assert budget.recent(now=30) == 3
    assert budget.take(now=700)  # the first ones left the window


def test_a_stuck_stage_is_restarted_and_its_late_result_discarded() -> None:
    stop, release = threading.Event(), threading.Event()
    inbox, outbox = StageQueue("in", 8), StageQueue("out", 8)
    workers: list[HangingWorker] = []

    def make() -> HangingWorker:
        workers.append(HangingWorker(release, hang=not workers))
        return workers[-1]

    stage = StageThread("detect", make, stop, inbox=inbox, outbox=outbox, stall_s=0.05)
    gave_up: list[str] = []
    watchdog = Watchdog([stage], gave_up.append, budget=RestartBudget(max_restarts=2))
    stage.start()
    inbox.put("stuck frame", give_up=lambda: False)
    wait_until(lambda: stage.busy_for() > 0.1)

    watchdog.check()
    inbox.put("next frame", give_up=lambda: False)
    assert outbox.get(timeout=WAIT_S) == "next frame"  # the fresh worker took over
    release.set()
    wait_until(lambda: workers[0].closed)  # the stuck call returned: its worker closed itself

    assert stage.restarts == 1 and gave_up == []
    assert outbox.depth() == 0  # "stuck frame" came back late and was discarded
    stop.set()
    stage.join(5)


def test_the_watchdog_gives_up_when_restarts_do_not_help() -> None:
    stop, release = threading.Event(), threading.Event()
    inbox = StageQueue("in", 8)
    stage = StageThread(
        "capture", lambda: HangingWorker(release, hang=True), stop, inbox=inbox, stall_s=0.05
    )
    gave_up: list[str] = []
    watchdog = Watchdog([stage], gave_up.append, budget=RestartBudget(max_restarts=1))
    stage.start()
    try:
        for _ in range(2):
            inbox.put("frame", give_up=lambda: False)
            wait_until(lambda: stage.busy_for() > 0.1)
            watchdog.check()
    finally:
        release.set()
        stop.set()
    assert stage.restarts == 1
    assert gave_up and "capture" in gave_up[0] and watchdog.gave_up == gave_up[0]
