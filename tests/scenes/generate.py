"""Generate a scene: vehicles per signal cycle, each doing one thing the rules must judge.

Per cycle and lane a few slots: a green-phase vehicle, an amber one (some only just past the line
as red begins), a red-phase one (running the red, crossing inside the grace, stopping on the line,
or stopping and then running), right turns on red from the lane that allows them, a right turn or
a straight run on red where that is a violation, a solid-line crossing, a forbidden lane change, a
car in the motorbike lane, a motorbike the wrong way up the exit lane, motorbikes with one or two
riders with and without helmets. Vehicles in one lane are spaced so they never overlap; a quarter
of them are hidden for one second (and half of those come back under a new ground-truth id).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from protocol.enums import BehaviourCode, VehicleClass
from tests.scenes import layout as L
from tests.scenes.paths import Path, PathBuilder
from tests.scenes.vehicles import SIZES, Rider, Vehicle

RED = frozenset({BehaviourCode.red_light})
NONE: frozenset[BehaviourCode] = frozenset()
ENTRY_Y = L.HEIGHT - 5.0


@dataclass(frozen=True)
class NoiseSpec:
    """How imperfect the detections are."""

    box_sigma_px: float = 3.5  # at least 3 px, measured, even after clipping at the frame edge
    drop_rate: float = 0.12
    occluded_share: float = 0.25
    occlusion_s: float = 1.0
    switch_share: float = 0.5  # of the occluded: a new ground-truth id after the occlusion
    score_range: tuple[float, float] = (0.6, 0.95)


@dataclass(frozen=True)
class Scene:
    """A generated scene: its vehicles and its time span."""

    seed: int
    vehicles: tuple[Vehicle, ...]
    start: datetime
    end: datetime
    noise: NoiseSpec
    fps: float = L.FPS

    def frame_times(self) -> list[tuple[int, datetime]]:
        """(sequence number, capture time) of every frame."""
        count = int((self.end - self.start).total_seconds() * self.fps) + 1
        return [(n, self.start + timedelta(seconds=n / self.fps)) for n in range(count)]

    def by_id(self) -> dict[int, Vehicle]:
        """Vehicles by their id."""
        return {v.vid: v for v in self.vehicles}


def _top(cls: VehicleClass) -> float:
    return SIZES[cls][1] + 2.0


class _Planner:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.vehicles: list[Vehicle] = []
        self._ids = 0

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def add(
        self,
        kind: str,
        cls: VehicleClass,
        path: Path,
        at: float,
        expected: frozenset[BehaviourCode],
        ref_y: float = L.STOP_Y,
    ) -> None:
        """A vehicle whose path reaches `ref_y` `at` seconds after the scene's start."""
        self._ids += 1
        start = L.START + timedelta(seconds=at - path.time_at_y(ref_y))
        riders: tuple[Rider, ...] = ()
        if cls is VehicleClass.motorbike:
            count = 1 if self.rng.random() < 0.65 else 2
            helmets = [self.rng.random() < 0.7, self.rng.random() < 0.6]
            riders = tuple(Rider(self._ids * 10 + n, n, bool(helmets[n])) for n in range(count))
        colour = tuple(int(c) for c in self.rng.integers(40, 230, size=3))
        self.vehicles.append(
            Vehicle(
                vid=self._ids,
                kind=kind,
                vehicle_class=cls,
                start=start,
                path=path,
                expected=expected,
                riders=riders,
                plate=self._plate(cls),
                colour=(colour[0], colour[1], colour[2]),
            )
        )

    def _plate(self, cls: VehicleClass) -> str:
        digits = "".join(str(d) for d in self.rng.integers(0, 10, size=5))
        if cls is VehicleClass.motorbike:
            series = "".join(self.rng.choice(list("ABCDEFHKLMNPSTUVXYZ"), size=2))
            return f"73-{series} {digits[:3]}.{digits[3:]}"
        return f"73{self.rng.choice(list('ABCDEFGHKLMNPSTUVXZ'))}-{digits[:3]}.{digits[3:]}"

    # Paths, each starting at the bottom edge (or the exit lane's top).
    def through(self, x: float, cls: VehicleClass, speed: float) -> Path:
        return PathBuilder(x, ENTRY_Y).line_to(x, _top(cls), speed).build()

    def stopper(self, x: float, cls: VehicleClass, speed: float, delta: float, wait: float) -> Path:
        stop = L.STOP_Y + delta
        b = PathBuilder(x, ENTRY_Y).line_to(x, stop + 60, speed).line_to(x, stop, speed / 3)
        return b.wait(wait).line_to(x, stop - 40, speed / 3).line_to(x, _top(cls), speed).build()

    def right_turn(self, x: float, cls: VehicleClass, speed: float) -> Path:
        b = PathBuilder(x, ENTRY_Y).line_to(x, L.STOP_Y - 30, speed).turn_right(110, speed * 0.8)
        _, y = b.point
        return b.line_to(L.WIDTH - SIZES[cls][1] / 2 - 2, y, speed).build()


def _cycle(p: _Planner, c: int, stopper_before: bool) -> bool:
    """Plan one cycle; True when the red slot of l1 holds a stopper (it leaves next cycle)."""
    cycle, red = c * L.CYCLE_S, c * L.CYCLE_S + L.GREEN_S + L.AMBER_S
    special = p.rng.choice(["solid", "change", "none"], p=[0.35, 0.35, 0.3])
    _lane_one(p, cycle, red, special == "solid", stopper_before)
    stopper = _lane_one_red(p, red)
    _lane_two(p, cycle, red, special)
    _lane_three(p, cycle, red, special == "change")
    _exit_lane(p, cycle)
    return stopper


def _car_class(p: _Planner) -> VehicleClass:
    roll = p.rng.random()
    return (
        VehicleClass.car if roll < 0.8 else (VehicleClass.bus if roll < 0.9 else VehicleClass.truck)
    )


def _lane_one(p: _Planner, cycle: float, red: float, solid: bool, stopper_before: bool) -> None:
    x = L.lane_centre("l1")
    if solid:
        speed = p.u(110, 140)
        b = PathBuilder(x, ENTRY_Y).line_to(x, 660, speed).line_to(L.lane_centre("l2"), 540, speed)
        path = b.line_to(L.lane_centre("l2"), _top(VehicleClass.car), speed).build()
        p.add(
            "solid_line",
            VehicleClass.car,
            path,
            cycle + p.u(7, 10),
            frozenset({BehaviourCode.solid_line}),
        )
    else:
        wrong = p.rng.random() < 0.15  # a motorbike in the car lane
        cls = VehicleClass.motorbike if wrong else _car_class(p)
        at = cycle + (p.u(5, 9) if stopper_before else p.u(3, 8))
        expected = frozenset({BehaviourCode.wrong_lane}) if wrong else NONE
        p.add(
            "wrong_lane" if wrong else "green", cls, p.through(x, cls, p.u(130, 170)), at, expected
        )
    cls = _car_class(p)
    p.add("amber", cls, p.through(x, cls, p.u(130, 170)), red - p.u(0.1, 2.6), NONE)


def _lane_one_red(p: _Planner, red: float) -> bool:
    """The red-phase slot of l1, after the amber vehicle with room to spare."""
    x, amber = L.lane_centre("l1"), p.vehicles[-1]
    earliest = (amber.start - L.START).total_seconds() + amber.path.time_at_y(L.STOP_Y) + 1.6
    kind = str(
        p.rng.choice(["runner", "grace", "stopper", "stopper_runs"], p=[0.35, 0.25, 0.25, 0.15])
    )
    cls, speed = VehicleClass.car, p.u(130, 170)
    if kind == "runner":
        p.add("red_runner", cls, p.through(x, cls, speed), max(red + p.u(0.9, 7), earliest), RED)
    elif kind == "grace":
        at = red + p.u(0.05, 0.3)
        if at >= earliest:
            p.add("grace", cls, p.through(x, cls, speed), at, NONE)
    else:
        arrive = max(red + p.u(0.5, 2.5), earliest)
        if kind == "stopper":
            wait = red + L.RED_S + p.u(0.5, 1.5) - arrive  # until the next green, and a moment
        else:
            wait = p.u(2, 4)  # waits, then goes on red
        delta = p.u(-4, 6)
        path = p.stopper(x, cls, speed, delta, wait)
        p.add(kind, cls, path, arrive, NONE if kind == "stopper" else RED, L.STOP_Y + delta)
        return kind == "stopper"
    return False


def _lane_two(p: _Planner, cycle: float, red: float, special: str) -> None:
    x = L.lane_centre("l2")
    if special == "change":
        speed = p.u(88, 96)
        b = PathBuilder(x, ENTRY_Y).line_to(x, 600, speed).line_to(L.lane_centre("l3"), 500, speed)
        path = b.line_to(L.lane_centre("l3"), _top(VehicleClass.motorbike), speed).build()
        p.add(
            "lane_change",
            VehicleClass.motorbike,
            path,
            cycle + p.u(9, 12),
            frozenset({BehaviourCode.illegal_lane_change}),
        )
    elif special == "none":
        cls = VehicleClass.motorbike if p.rng.random() < 0.6 else VehicleClass.car
        p.add("green", cls, p.through(x, cls, p.u(120, 170)), cycle + p.u(3, 8), NONE)
    cls = VehicleClass.motorbike if p.rng.random() < 0.6 else VehicleClass.car
    amber_at = red - p.u(0.1, 2.6)
    p.add("amber", cls, p.through(x, cls, p.u(120, 170)), amber_at, NONE)
    kind = p.rng.choice(["runner", "turn", "grace"], p=[0.45, 0.3, 0.25])
    if kind == "turn":  # a right turn on red where it is not allowed
        path = p.right_turn(x, VehicleClass.car, p.u(110, 140))
        p.add("turn_not_allowed", VehicleClass.car, path, max(red + p.u(1, 5), amber_at + 1.6), RED)
        return
    cls = VehicleClass.motorbike if p.rng.random() < 0.6 else VehicleClass.car
    at = red + (p.u(0.9, 6) if kind == "runner" else p.u(0.05, 0.3))
    if at >= amber_at + 1.6:
        p.add(
            f"red_{kind}" if kind == "runner" else "grace",
            cls,
            p.through(x, cls, p.u(120, 170)),
            at,
            RED if kind == "runner" else NONE,
        )


def _lane_three(p: _Planner, cycle: float, red: float, change: bool) -> None:
    x = L.lane_centre("l3")
    if not change:
        wrong = p.rng.random() < 0.4  # a car in the motorbike lane
        cls = VehicleClass.car if wrong else VehicleClass.motorbike
        expected = frozenset({BehaviourCode.wrong_lane}) if wrong else NONE
        p.add(
            "wrong_lane" if wrong else "green",
            cls,
            p.through(x, cls, p.u(130, 170)),
            cycle + p.u(2, 8),
            expected,
        )
    bike = VehicleClass.motorbike
    if p.rng.random() < 0.7:
        p.add("turn_allowed", bike, p.right_turn(x, bike, p.u(110, 140)), red + p.u(1, 5), NONE)
    else:
        p.add("straight_on_red", bike, p.through(x, bike, p.u(120, 160)), red + p.u(1, 5), RED)
    p.add("turn_allowed", bike, p.right_turn(x, bike, p.u(110, 140)), red + p.u(10, 14), NONE)


def _exit_lane(p: _Planner, cycle: float) -> None:
    x = L.lane_centre("exit")
    bike = VehicleClass.motorbike
    if p.rng.random() < 0.4:
        path = PathBuilder(x, ENTRY_Y).line_to(x, _top(bike), p.u(110, 150)).build()
        p.add("wrong_way", bike, path, cycle + p.u(2, 8), frozenset({BehaviourCode.wrong_way}))
    cls = VehicleClass.car if p.rng.random() < 0.5 else bike
    path = PathBuilder(x, L.STOP_Y - 80).line_to(x, ENTRY_Y, p.u(110, 150)).build()
    p.add("exit", cls, path, cycle + p.u(24, 32), NONE, ref_y=L.STOP_Y + 5)


def _occlude(p: _Planner, noise: NoiseSpec) -> list[Vehicle]:
    vehicles = list(p.vehicles)
    count = math.ceil(noise.occluded_share * len(vehicles))
    chosen = p.rng.choice(len(vehicles), size=count, replace=False)
    for index in sorted(int(i) for i in chosen):
        v = vehicles[index]
        lead = p.u(0.5, max(v.path.duration - noise.occlusion_s - 0.5, 0.6))
        begin = v.start + timedelta(seconds=lead)
        hidden = (begin, begin + timedelta(seconds=noise.occlusion_s))
        switch = 100_000 + v.vid if p.rng.random() < noise.switch_share else None
        vehicles[index] = replace(v, occlusion=hidden, switch_id=switch)
    return vehicles


def generate(seed: int, cycles: int = 3, noise: NoiseSpec | None = None) -> Scene:
    """A scene of `cycles` signal cycles, reproducible from `seed`."""
    noise = noise or NoiseSpec()
    planner = _Planner(seed)
    stopper = False
    for c in range(cycles):
        stopper = _cycle(planner, c, stopper)
    vehicles = _occlude(planner, noise)
    start = L.START
    end = max(v.end for v in vehicles) + timedelta(seconds=1)
    vehicles = [v for v in vehicles if v.start >= start]
    return Scene(seed, tuple(vehicles), start, end, noise)
