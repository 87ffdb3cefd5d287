"""The rule stage of the agent: tracked frames in, violation events out.

It keeps each track's history (`TrackHistory`), feeds the signal source the frame (the
classifier reads its light region), classifies riders' heads when a helmet rule is on, and asks
the `RuleEngine`. Events go to a sink (the evidence builder); the stage itself does no I/O.
It reads the tracker's output through small protocols, so it depends on no tracker internals.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge_agent.rules.engine import RuleEngine
from edge_agent.rules.heads import HeadClassifier, crop
from edge_agent.rules.helmet import head_box
from edge_agent.rules.types import RiderObs, RiderView, TrackObs, TrackView, ViolationEvent
from edge_agent.signal import SignalInput, create_signal
from protocol.config import DeviceConfig
from protocol.enums import BehaviourCode, VehicleClass

logger = logging.getLogger(__name__)

VEHICLE_LABELS = {
    "car": VehicleClass.car,
    "motorbike": VehicleClass.motorbike,
    "bus": VehicleClass.bus,
    "truck": VehicleClass.truck,
    "bicycle": VehicleClass.bicycle,
}
HELMET_RULES = frozenset({BehaviourCode.no_helmet, BehaviourCode.passenger_no_helmet})


class FrameLike(Protocol):
    """What the stage reads of a frame (`edge_agent.capture.base.Frame` fits)."""

    @property
    def image(self) -> npt.NDArray[np.uint8]: ...
    @property
    def seq(self) -> int: ...
    @property
    def captured_at(self) -> datetime: ...


class TrackedLike(Protocol):
    """One tracked object (`edge_agent.tracking.TrackedObject` fits)."""

    @property
    def track_id(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def box(self) -> tuple[float, float, float, float]: ...
    @property
    def score(self) -> float: ...
    @property
    def detected(self) -> bool: ...


class TrackedFrameLike(Protocol):
    """A frame with its tracks and riders (`edge_agent.agent.messages.TrackedFrame` fits)."""

    @property
    def frame(self) -> FrameLike: ...
    @property
    def objects(self) -> Sequence[TrackedLike]: ...
    @property
    def riders(self) -> Mapping[int, tuple[int, ...]]: ...


@dataclass
class _History:
    obs: deque[TrackObs]
    votes: dict[VehicleClass, float] = field(default_factory=dict)
    riders: set[int] = field(default_factory=set)


class TrackHistory:
    """Each track's detections so far, as `TrackView`s for the rules."""

    def __init__(
        self, *, max_points: int = 1000, end_after_s: float = 2.0, linger_s: float = 2.0
    ) -> None:
        self.max_points = max_points
        self.end_after = timedelta(seconds=end_after_s)
        self.linger = timedelta(seconds=linger_s)
        self._vehicles: dict[int, _History] = {}
        self._people: dict[int, deque[RiderObs]] = {}

    def add(
        self,
        seq: int,
        t: datetime,
        objects: Iterable[TrackedLike],
        riders: Mapping[int, tuple[int, ...]] | None = None,
        helmet: Mapping[int, float] | None = None,
    ) -> list[TrackView]:
        """Record one frame's detected objects; the views of every recently seen vehicle."""
        helmet = helmet or {}
        for o in objects:
            if not o.detected:
                continue  # a predicted box is the tracker's guess, not evidence
            if o.label == "person":
                people = self._people.setdefault(o.track_id, deque(maxlen=self.max_points))
                people.append(RiderObs(t, seq, o.box, o.score, helmet.get(o.track_id)))
            elif o.label in VEHICLE_LABELS:
                self._vehicle(o, seq, t)
        for bike, people_ids in (riders or {}).items():
            if bike in self._vehicles:
                self._vehicles[bike].riders.update(people_ids)
        return self._views(t)

    def _vehicle(self, o: TrackedLike, seq: int, t: datetime) -> None:
        history = self._vehicles.get(o.track_id)
        if history is None:
            history = self._vehicles[o.track_id] = _History(deque(maxlen=self.max_points))
        history.obs.append(TrackObs(t, seq, o.box, o.score))
        cls = VEHICLE_LABELS[o.label]
        history.votes[cls] = history.votes.get(cls, 0.0) + o.score

    def _views(self, now: datetime) -> list[TrackView]:
        views = []
        for track_id, history in list(self._vehicles.items()):
            last = history.obs[-1].t
            if last < now - self.end_after - self.linger:
                del self._vehicles[track_id]
                continue
            riders = [
                RiderView(pid, tuple(self._people[pid]))
                for pid in sorted(history.riders)
                if pid in self._people
            ]
            views.append(
                TrackView(
                    track_id=track_id,
                    vehicle_class=max(history.votes.items(), key=lambda kv: kv[1])[0],
                    observations=tuple(history.obs),
                    riders=tuple(riders),
                    ended=last < now - self.end_after,
                )
            )
        self._forget_people(now)
        return views

    def _forget_people(self, now: datetime) -> None:
        horizon = now - self.end_after - self.linger
        riding = {pid for history in self._vehicles.values() for pid in history.riders}
        # A rider lives as long as the bike's history does: the helmet verdict rests on both.
        gone = [p for p, obs in self._people.items() if obs[-1].t < horizon and p not in riding]
        for pid in gone:
            del self._people[pid]


EventSink = Callable[[ViolationEvent], None]


class RuleStage:
    """The agent's rule consumer: judges every tracked frame and hands events to `sink`."""

    name = "rules"

    def __init__(
        self,
        engine: RuleEngine,
        signal: SignalInput | None,
        *,
        sink: EventSink | None = None,
        heads: HeadClassifier | None = None,
        history: TrackHistory | None = None,
    ) -> None:
        self.engine = engine
        self.signal = signal
        self.sink = sink
        self.heads = heads if HELMET_RULES & set(engine.enabled) else None
        self.history = history or TrackHistory()
        self.frames = 0
        self.events: list[ViolationEvent] = []  # the latest, for status and tests (bounded)

    def consume(self, tracked: TrackedFrameLike) -> None:
        """Judge one frame's tracks."""
        frame = tracked.frame
        self.frames += 1
        if self.signal is not None:
            self.signal.observe_frame(frame.image, frame.captured_at)
        helmet = self._helmet_scores(tracked) if self.heads is not None else {}
        views = self.history.add(
            frame.seq, frame.captured_at, tracked.objects, tracked.riders, helmet
        )
        timeline = self.signal.timeline if self.signal is not None else None
        for event in self.engine.update(views, timeline, frame.captured_at):
            self.events = [*self.events[-99:], event]
            if self.sink is not None:
                self.sink(event)

    def _helmet_scores(self, tracked: TrackedFrameLike) -> dict[int, float]:
        assert self.heads is not None
        riding = {pid for people in tracked.riders.values() for pid in people}
        scores = {}
        for o in tracked.objects:
            if o.track_id in riding and o.detected:
                head = crop(tracked.frame.image, head_box(o.box))
                scores[o.track_id] = self.heads.helmet_probability(head)
        return scores

    def close(self) -> None:
        """Stop the signal source."""
        if self.signal is not None:
            self.signal.close()
        logger.info("rule stage: %d frames judged", self.frames)


def rule_stage_factory(
    config: DeviceConfig,
    *,
    sink: EventSink | None = None,
    heads: HeadClassifier | None = None,
) -> Callable[[], RuleStage]:
    """A factory of rule stages for the agent; the first is made now, so that a signal input
    that cannot be opened (a missing serial port) stops the agent at start-up."""
    if HELMET_RULES & set(config.rules.enabled) and heads is None:
        logger.error(
            "luật mũ bảo hiểm bật nhưng không có mô hình phân loại đầu / helmet rules enabled "
            "without a head classifier model: they will report nothing"
        )

    def make() -> RuleStage:
        signal = create_signal(config.signal, config.calibration)
        return RuleStage(RuleEngine.from_config(config), signal, sink=sink, heads=heads)

    first = [make()]

    def factory() -> RuleStage:
        return first.pop() if first else make()

    return factory
