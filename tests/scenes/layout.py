"""The generated intersection: one approach watched from behind, its calibration and signal plan.

Frame 1280×720. Traffic approaches up the image (270°) in three lanes and stops at the stop line
(y = 400, x 300..900): `l1` (cars, buses, trucks), `l2` (everything), `l3` (motorbikes and
bicycles; right turn on red allowed; no lane changes into or out of it). A solid line separates
`l1` from `l2` before the stop line. To the right, `exit` carries traffic out of the junction,
down the image, one way. The signal head is drawn at the top right. Cycle 40 s: green 18,
amber 3, red 19; cycle zero at 08:00:00 UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from protocol.config import Calibration, FixedPlan, RulesSection
from protocol.enums import BehaviourCode

WIDTH, HEIGHT = 1280, 720
FPS = 10.0
STOP_Y = 400.0
STOP_X = (300.0, 900.0)
LANE_X = {"l1": (300.0, 500.0), "l2": (500.0, 700.0), "l3": (700.0, 900.0)}
EXIT_X = (920.0, 1120.0)
SOLID_X = 500.0
SOLID_Y = (420.0, 700.0)
LIGHT_BOX = (1180.0, 30.0, 1220.0, 130.0)
START = datetime(2026, 3, 18, 8, 0, tzinfo=timezone.utc)
GREEN_S, AMBER_S, RED_S = 18.0, 3.0, 19.0
CYCLE_S = GREEN_S + AMBER_S + RED_S
GRACE_S = 0.5
AMBER_GUARD_S = 2.0
ALL_RULES = tuple(BehaviourCode)


def lane_centre(lane: str) -> float:
    """The x of a lane's middle."""
    if lane == "exit":
        return sum(EXIT_X) / 2
    lo, hi = LANE_X[lane]
    return (lo + hi) / 2


def red_onset(cycle: int) -> datetime:
    """When red begins in a cycle."""
    return START + timedelta(seconds=cycle * CYCLE_S + GREEN_S + AMBER_S)


def calibration_dict() -> dict[str, Any]:
    """The calibration as YAML-shaped data (for configs)."""

    def rect(x1: float, x2: float, y1: float = STOP_Y, y2: float = HEIGHT) -> list[list[float]]:
        return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]

    return {
        "stop_line": [[STOP_X[0], STOP_Y], [STOP_X[1], STOP_Y]],
        "lanes": [
            {
                "id": "l1",
                "polygon": rect(*LANE_X["l1"]),
                "allowed_classes": ["car", "bus", "truck"],
                "direction_deg": 270,
                "one_way": True,
            },
            {"id": "l2", "polygon": rect(*LANE_X["l2"]), "direction_deg": 270, "one_way": True},
            {
                "id": "l3",
                "polygon": rect(*LANE_X["l3"]),
                "allowed_classes": ["motorbike", "bicycle"],
                "direction_deg": 270,
                "one_way": True,
                "right_turn_on_red": True,
                "lane_change_allowed": False,
            },
            {"id": "exit", "polygon": rect(*EXIT_X), "direction_deg": 90, "one_way": True},
        ],
        "solid_lines": [{"id": "s1", "points": [[SOLID_X, SOLID_Y[0]], [SOLID_X, SOLID_Y[1]]]}],
        "light_region": {"box": list(LIGHT_BOX)},
        "grace_s": GRACE_S,
        "amber_guard_s": AMBER_GUARD_S,
        "metres_per_pixel": 0.04,
    }


def calibration() -> Calibration:
    """The scene's calibration."""
    return Calibration.model_validate(calibration_dict())


def plan_dict() -> dict[str, Any]:
    """The fixed signal plan as YAML-shaped data."""
    return {
        "cycle_s": CYCLE_S,
        "phases": [
            {"colour": "green", "duration_s": GREEN_S},
            {"colour": "amber", "duration_s": AMBER_S},
            {"colour": "red", "duration_s": RED_S},
        ],
        "offset_s": 0.0,
    }


def plan() -> FixedPlan:
    """The scene's signal plan (cycle zero at 08:00:00 UTC, which a 40 s cycle divides)."""
    return FixedPlan.model_validate(plan_dict())


def rules(enabled: tuple[BehaviourCode, ...] = ALL_RULES, cooldown_s: float = 30.0) -> RulesSection:
    """A rules section enabling `enabled`."""
    return RulesSection(enabled=list(enabled), cooldown_s=cooldown_s)
