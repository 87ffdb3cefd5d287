"""The rules' tuning: tolerances for noisy boxes, dwell times, turn and helmet thresholds.

These are engineering margins, not legal parameters (the grace period, amber guard, cool-down and
the calibrated geometry are in the device config). Each default errs towards *not* reporting:
a missed violation costs a fine; a false one costs a citizen's trust in the whole system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge_agent.rules.geometry import Band


@dataclass(frozen=True)
class RuleSettings:
    """Tolerances shared by the rules."""

    margin_px: float = 6.0  # hysteresis band either side of a line, at least this many pixels
    margin_frac: float = 0.08  # ... or this share of the box height, whichever is larger
    commit_frac: float = 0.5  # past the stop line by half the box height: in the junction
    stop_dwell_s: float = 1.0  # this long in the band around a line: stopped on it
    slack_px: float = 10.0  # a crossing this far beyond a segment's end still counts
    right_turn_deg: float = 35.0  # turned at least this much clockwise: a right turn
    turn_decide_px: float = 80.0  # travel past the line needed to tell a turn from straight on
    dwell_s: float = 1.0  # time in a lane before a lane rule judges it
    flicker_s: float = 0.3  # lane membership shorter than this is box noise at a boundary
    wrong_way_deg: float = 120.0  # travel this far from the lane's direction: against it
    min_travel_px: float = 30.0  # ... over at least this distance (a parked car's jitter is not)
    speed_window_s: float = 0.5  # speed measured over this long either side of the line
    helmet_threshold: float = 0.35  # mean P(helmet) below this: no helmet
    helmet_min_frames: int = 5  # head classified on at least this many frames
    # ... and this share of them agreeing: a seat whose verdicts split is two people mixed up
    helmet_agreement: float = 0.8
    helmet_steady: float = 0.6  # one rider track must hold this share of a seat's judged frames
    helmet_seat_spread: float = 0.12  # a seat's spread along the bike, in bike lengths (std)
    link_gap_s: float = 2.5  # a track starting this soon where another ended: the same vehicle
    link_distance_frac: float = 1.0  # ... within this share of the box's larger side

    def margins(self, heights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The hysteresis band for boxes of these heights."""
        return np.maximum(self.margin_px, self.margin_frac * heights)

    def commits(self, heights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """How far past the stop line a vehicle must get to have entered the junction."""
        return np.maximum(self.margins(heights), self.commit_frac * heights)

    def band(self, heights: npt.NDArray[np.float64], *, commit: bool) -> Band:
        """The band around a line; `commit` widens its far side to the stop line's commit."""
        margins = self.margins(heights)
        return Band(margins, self.commits(heights) if commit else margins, self.stop_dwell_s)
