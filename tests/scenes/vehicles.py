"""Vehicles of a generated scene: class, path, riders, and the violations they commit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from protocol.enums import BehaviourCode, VehicleClass
from tests.scenes.paths import Path

Box = tuple[float, float, float, float]

# Box size (width, length) of a vehicle travelling up the image; turned, the two swap.
SIZES = {
    VehicleClass.car: (64.0, 96.0),
    VehicleClass.bus: (86.0, 150.0),
    VehicleClass.truck: (80.0, 130.0),
    VehicleClass.motorbike: (30.0, 56.0),
    VehicleClass.bicycle: (24.0, 50.0),
}
RIDER_SIZE = (30.0, 54.0)
RIDER_SPACING = 22.0  # driver and passenger this far apart along the bike


@dataclass(frozen=True)
class Rider:
    """A person on a motorbike; `order` 0 is the driver (front)."""

    rider_id: int
    order: int
    helmet: bool


@dataclass(frozen=True)
class Vehicle:
    """One vehicle: where it is when, and the ground truth of what it does."""

    vid: int
    kind: str
    vehicle_class: VehicleClass
    start: datetime
    path: Path
    expected: frozenset[BehaviourCode]
    riders: tuple[Rider, ...] = ()
    plate: str = ""
    colour: tuple[int, int, int] = (60, 60, 200)
    occlusion: tuple[datetime, datetime] | None = None  # hidden from the detector
    switch_id: int | None = None  # ground-truth tracks change to this id after the occlusion
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        """When the vehicle leaves the frame."""
        return self.start + timedelta(seconds=self.path.duration)

    def seconds(self, t: datetime) -> float:
        """Seconds since the vehicle appeared."""
        return (t - self.start).total_seconds()

    def active(self, t: datetime) -> bool:
        """Whether the vehicle is in the frame at `t`."""
        return self.start <= t <= self.end

    def hidden(self, t: datetime) -> bool:
        """Whether something hides it from the detector at `t`."""
        return self.occlusion is not None and self.occlusion[0] <= t < self.occlusion[1]

    def box(self, t: datetime) -> Box:
        """The clean box at `t`, its size turned with the vehicle."""
        s = self.seconds(t)
        x, y = self.path.at(s)
        width, length = SIZES[self.vehicle_class]
        heading = math.radians(self.path.heading(s))
        c, n = abs(math.cos(heading)), abs(math.sin(heading))
        bw, bh = length * c + width * n, length * n + width * c
        return (x - bw / 2, y - bh, x + bw / 2, y)

    def rider_boxes(self, t: datetime) -> list[tuple[Rider, Box]]:
        """Each rider's clean person box at `t`, the driver furthest along the travel."""
        x1, y1, x2, y2 = self.box(t)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        heading = math.radians(self.path.heading(self.seconds(t)))
        ux, uy = math.cos(heading), math.sin(heading)
        count = len(self.riders)
        out = []
        for rider in self.riders:
            along = RIDER_SPACING * ((count - 1) / 2 - rider.order)
            px, py = cx + ux * along, cy + uy * along - 0.42 * (y2 - y1)
            w, h = RIDER_SIZE
            out.append((rider, (px - w / 2, py - h / 2, px + w / 2, py + h / 2)))
        return out

    def truth(self, enabled: frozenset[BehaviourCode]) -> set[BehaviourCode]:
        """The violations this vehicle commits among the enabled rules."""
        codes = set(self.expected)
        if any(r.order == 0 and not r.helmet for r in self.riders):
            codes.add(BehaviourCode.no_helmet)
        if any(r.order > 0 and not r.helmet for r in self.riders):
            codes.add(BehaviourCode.passenger_no_helmet)
        return codes & enabled

    def label(self) -> str:
        """The detector's label for the vehicle."""
        return self.vehicle_class.value
