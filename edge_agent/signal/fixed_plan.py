"""A fixed-time signal plan as a timeline: for controllers without an output, and for the demo.

The plan repeats its steps every `cycle_s` seconds, the first cycle of each UTC day starting
`offset_s` after midnight (as the config describes it). A cycle length that does not divide a day
leaves the day's last cycle cut short at the next day's first start, as a controller that
re-synchronises daily would. Consecutive steps of one colour (e.g. two red steps around an
all-red clearance) form one interval, so the red onset is where red really began.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from edge_agent.signal.timeline import PhaseInterval
from protocol.config import FixedPlan
from protocol.enums import SignalPhase, SignalSource

_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class _Step:
    colour: SignalPhase
    start_s: float  # from the cycle's start
    duration_s: float


def _merged_steps(plan: FixedPlan) -> list[_Step]:
    steps: list[_Step] = []
    elapsed = 0.0
    for step in plan.phases:
        if steps and steps[-1].colour is step.colour:
            last = steps[-1]
            steps[-1] = _Step(last.colour, last.start_s, last.duration_s + step.duration_s)
        else:
            steps.append(_Step(step.colour, elapsed, step.duration_s))
        elapsed += step.duration_s
    return steps


class FixedPlanTimeline:
    """The phase at any time, computed from the plan; never unsure, never unsettled."""

    def __init__(self, plan: FixedPlan) -> None:
        self.plan = plan
        self._steps = _merged_steps(plan)

    @property
    def source(self) -> SignalSource:
        """How the phase is known."""
        return SignalSource.fixed_plan

    def settled_until(self) -> datetime | None:
        """A plan is known for all time."""
        return datetime.max.replace(tzinfo=timezone.utc)

    def interval_at(self, t: datetime) -> PhaseInterval:
        """The plan interval holding `t` (neighbouring steps of its colour included)."""
        colour, start, end = self._step_at(t)
        # A cycle that ends in the colour it starts with shows one interval across the boundary.
        while (before := self._step_at(start - _TICK))[0] is colour and before[1] < start:
            start = before[1]
        while (after := self._step_at(end))[0] is colour and after[2] > end:
            end = after[2]
        return PhaseInterval(colour, start, end)

    def interval_before(self, interval: PhaseInterval) -> PhaseInterval:
        """The plan interval that ended when `interval` began."""
        return self.interval_at(interval.start - _TICK)

    def _step_at(self, t: datetime) -> tuple[SignalPhase, datetime, datetime]:
        midnight = t.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        anchor = midnight + timedelta(seconds=self.plan.offset_s)
        if anchor > t:
            anchor -= _DAY
        cycle_s = self.plan.cycle_s
        since = (t - anchor).total_seconds()
        cycle = math.floor(since / cycle_s)
        into = since - cycle * cycle_s
        step = max((s for s in self._steps if s.start_s <= into), key=lambda s: s.start_s)
        start = anchor + timedelta(seconds=cycle * cycle_s + step.start_s)
        end = start + timedelta(seconds=step.duration_s)
        # The daily re-synchronisation cuts the day's last cycle short.
        return step.colour, start, min(end, anchor + _DAY)
