"""Bounded queues that never block capture, and stage threads that hand on the end."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from edge_agent.agent.pipeline import END, StageQueue, StageThread


class Doubler:
    def __init__(self) -> None:
        self.closed = False

    def handle(self, item: int) -> Sequence[int]:
        if item == 13:
            raise ValueError("unlucky frame")
        return (item * 2,)

    def close(self) -> None:
        self.closed = True


class Collector:
    def __init__(self, into: list[int]) -> None:
        self.into = into

    def handle(self, item: int) -> Sequence[int]:
        self.into.append(item)
        return ()

    def close(self) -> None:
        pass


def drain(q: StageQueue) -> list[object]:
    items = []
    while q.depth():
        items.append(q.get())
    return items


def test_offer_never_waits_and_counts_every_dropped_item() -> None:
    q = StageQueue("frames", 3)
    for i in range(10):
        q.offer(i)
    assert q.dropped == 7
    assert drain(q) == [7, 8, 9]  # the newest frames are kept


def test_items_flow_through_stages_and_the_end_finishes_each() -> None:
    stop = threading.Event()
    inbox, middle = StageQueue("in", 4), StageQueue("mid", 2)
    got: list[int] = []
    doubler = Doubler()
    double = StageThread("double", lambda: doubler, stop, inbox=inbox, outbox=middle)
    collect = StageThread("collect", lambda: Collector(got), stop, inbox=middle, upstream=double)
    collect.start()
    double.start()
    for i in range(20):
        inbox.put(i, give_up=lambda: False)
    inbox.put(END, give_up=lambda: False)

    assert double.join(10) and collect.join(10)
    assert double.done.is_set() and collect.done.is_set()
    # Item 13 failed: logged and counted, never fatal for the stage.
    assert got == [i * 2 for i in range(20) if i != 13]
    assert double.stats.snapshot().errors == 1
    assert double.stats.snapshot().items == 19
    assert doubler.closed


def test_a_stopped_pipeline_ends_even_without_an_end_marker() -> None:
    stop = threading.Event()
    inbox = StageQueue("in", 4)
    stage = StageThread("idle", Doubler, stop, inbox=inbox)
    stage.start()
    stop.set()
    assert stage.join(10)
    assert stage.done.is_set()
