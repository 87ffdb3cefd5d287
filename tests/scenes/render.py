"""Draw a generated scene as video frames (BGR, OpenCV drawing): for the evidence tests.

Road, lane markings, the signal head showing the plan's phase, vehicles as boxes with a rear
window and a plate, riders with a bare head (dark hair) or a painted helmet. The real detector
does not see drawn vehicles as vehicles: these frames test the rules, the tracker's consumers and
the evidence builder, never the detector.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from edge_agent.rules.helmet import head_box
from edge_agent.signal.fixed_plan import FixedPlanTimeline
from protocol.enums import SignalPhase, VehicleClass
from tests.scenes import layout as L
from tests.scenes.generate import Scene
from tests.scenes.vehicles import Box, Rider, Vehicle

Image = npt.NDArray[np.uint8]
LAMP_COLOURS = {
    SignalPhase.red: (90, 60, 255),
    SignalPhase.amber: (0, 170, 255),
    SignalPhase.green: (210, 255, 40),
}
UNLIT = (45, 45, 45)
SKIN, HAIR = (120, 160, 205), (25, 25, 30)
HELMETS = [(30, 30, 220), (220, 90, 20), (240, 240, 240), (20, 200, 240), (40, 170, 40)]


@lru_cache(maxsize=1)
def background() -> Image:
    """The empty road with its markings (computed once)."""
    rng = np.random.default_rng(7)
    img = np.clip(rng.normal(78, 6, (L.HEIGHT, L.WIDTH, 3)), 0, 255).astype(np.uint8)
    img[:, : int(L.STOP_X[0]) - 40] = (150, 155, 160)  # pavement
    white, yellow = (235, 235, 235), (40, 200, 230)
    stop_y = int(L.STOP_Y)
    cv2.line(img, (int(L.STOP_X[0]), stop_y), (int(L.STOP_X[1]), stop_y), white, 6)
    for x in (L.LANE_X["l2"][1],):  # dashed l2 | l3
        for y in range(stop_y + 20, L.HEIGHT, 50):
            cv2.line(img, (int(x), y), (int(x), y + 25), white, 3)
    cv2.line(
        img, (int(L.SOLID_X), int(L.SOLID_Y[0])), (int(L.SOLID_X), int(L.SOLID_Y[1])), white, 3
    )
    for x in (L.STOP_X[0], L.STOP_X[1] + 10):
        cv2.line(img, (int(x), stop_y), (int(x), L.HEIGHT), yellow if x > 800 else white, 3)
    return img


def draw_light(img: Image, phase: SignalPhase) -> None:
    """The signal head in the calibrated light region, one lamp lit."""
    x1, y1, x2, y2 = (int(v) for v in L.LIGHT_BOX)
    cv2.rectangle(img, (x1, y1), (x2, y2), (30, 30, 30), -1)
    radius = int(0.38 * (x2 - x1))
    for n, lamp in enumerate((SignalPhase.red, SignalPhase.amber, SignalPhase.green)):
        centre = ((x1 + x2) // 2, int(y1 + (2 * n + 1) * (y2 - y1) / 6))
        lit = lamp is phase
        cv2.circle(img, centre, radius, LAMP_COLOURS[lamp] if lit else UNLIT, -1)
        if lit:  # the bright core a camera sees
            cv2.circle(img, centre, radius // 3, (235, 235, 235), -1)
    region = img[y1:y2, x1:x2]
    img[y1:y2, x1:x2] = cv2.GaussianBlur(region, (5, 5), 0)


def draw_rider(img: Image, box: Box, rider: Rider, shirt: tuple[int, int, int]) -> None:
    """A rider: torso, and a head with hair or a helmet."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    hx1, hy1, hx2, hy2 = (int(round(v)) for v in head_box(box))
    cv2.rectangle(img, (x1 + 3, hy2), (x2 - 3, y2), shirt, -1)
    centre, axes = (
        ((hx1 + hx2) // 2, (hy1 + hy2) // 2),
        (max((hx2 - hx1) // 2, 1), max((hy2 - hy1) // 2, 1)),
    )
    cv2.ellipse(img, centre, axes, 0, 0, 360, SKIN, -1)
    if rider.helmet:
        colour = HELMETS[rider.rider_id % len(HELMETS)]
        cv2.ellipse(img, centre, (axes[0] + 1, axes[1] + 1), 0, 180, 360, colour, -1)
        cv2.rectangle(
            img,
            (centre[0] - axes[0] - 1, centre[1] - 1),
            (centre[0] + axes[0] + 1, centre[1] + axes[1] // 3),
            colour,
            -1,
        )
    else:
        cv2.ellipse(img, centre, axes, 0, 180, 360, HAIR, -1)


def draw_vehicle(img: Image, vehicle: Vehicle, t: datetime) -> None:
    """A vehicle seen from behind: body, rear window, plate; riders on a motorbike."""
    x1, y1, x2, y2 = (int(round(v)) for v in vehicle.box(t))
    if vehicle.vehicle_class is VehicleClass.motorbike:
        cv2.rectangle(img, (x1 + 6, y1), (x2 - 6, y2), (35, 35, 35), -1)
        for rider, box in vehicle.rider_boxes(t):
            draw_rider(img, box, rider, vehicle.colour)
    else:
        cv2.rectangle(img, (x1, y1), (x2, y2), vehicle.colour, -1)
        h = y2 - y1
        cv2.rectangle(img, (x1 + 6, y1 + h // 8), (x2 - 6, y1 + h // 3), (60, 50, 40), -1)
    _draw_plate(img, (x1, y1, x2, y2), vehicle.plate)


def _draw_plate(img: Image, box: tuple[int, int, int, int], text: str) -> None:
    x1, y1, x2, y2 = box
    w = max(min(int(0.7 * (x2 - x1)), 60), 16)
    h = max(w // 3, 6)
    cx = (x1 + x2) // 2
    top = y2 - h - 4
    cv2.rectangle(img, (cx - w // 2, top), (cx + w // 2, top + h), (245, 245, 245), -1)
    cv2.putText(
        img,
        text,
        (cx - w // 2 + 1, top + h - 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        w / 260,
        (10, 10, 10),
        1,
        cv2.LINE_AA,
    )


def render_frame(scene: Scene, t: datetime, phase: SignalPhase) -> Image:
    """The frame at `t` with the light showing `phase`."""
    img: Image = background().copy()
    draw_light(img, phase)
    active = [v for v in scene.vehicles if v.active(t)]
    for vehicle in sorted(active, key=lambda v: v.box(t)[3]):  # far ones first
        draw_vehicle(img, vehicle, t)
    return img


def frames(scene: Scene) -> Iterator[tuple[int, datetime, Image]]:
    """Every frame of the scene: (sequence number, capture time, image)."""
    plan = FixedPlanTimeline(L.plan())
    for seq, t in scene.frame_times():
        yield seq, t, render_frame(scene, t, plan.interval_at(t).phase)


def render_head(helmet: bool, rider_id: int, height: float, rng: np.random.Generator) -> Image:
    """The head crop the box would classify, for a rider drawn alone (with pixel noise)."""
    canvas = np.full((96, 64, 3), 78, dtype=np.uint8)
    scale = height / 54.0
    box = (32 - 15 * scale, 80 - 54 * scale, 32 + 15 * scale, 80.0)
    draw_rider(canvas, box, Rider(rider_id, 0, helmet), (90, 90, 90))
    noisy = canvas.astype(np.float32) + rng.normal(0, 6, canvas.shape)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    x1, y1, x2, y2 = (int(v) for v in head_box(box))
    return image[max(y1, 0) : y2 + 1, max(x1, 0) : x2 + 1]
