"""CPU time by stage: a stage's threads, its decoder's and its inference pool's all count."""

from __future__ import annotations

import threading
import time

import pytest

from edge_agent.agent.cpu import ThreadCpu


def burn(cpu_s: float) -> None:
    start = time.thread_time()
    while time.thread_time() - start < cpu_s:
        pass


def test_a_stage_thread_s_cpu_is_counted_under_its_stage() -> None:
    cpu = ThreadCpu(["capture", "detect", "track", "rules"])
    if not cpu.available:
        pytest.skip("no /proc/self/task: per-thread CPU is Linux-only")
    done = threading.Event()

    def work() -> None:
        burn(0.3)
        cpu.sample()  # while the thread lives: a thread's figures leave with it
        done.set()

    worker = threading.Thread(target=work, name="tw-track")
    worker.start()
    assert done.wait(30)
    worker.join()
    totals = cpu.sample()
    assert totals is not None
    assert totals["track"] >= 0.2  # kernel ticks are 10 ms: well clear of the 0.3 s burnt


def test_threads_are_attributed_by_name() -> None:
    cpu = ThreadCpu(["capture", "detect", "track", "rules"])
    assert cpu._stage_of("tw-capture", False) == "capture"
    assert cpu._stage_of("av:h264:df0", False) == "capture"  # FFmpeg's decoder threads
    assert cpu._stage_of("python", False) == "detect"  # an unnamed native pool: inference
    assert cpu._stage_of("tw-publisher", False) == "other"
    assert cpu._stage_of("python", True) == "other"  # the main thread
