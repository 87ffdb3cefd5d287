"""A constant-velocity Kalman filter over boxes, as ByteTrack (and DeepSORT before it) uses.

State: centre x, centre y, aspect ratio w/h, height, and their velocities per frame. Noise scales
with the box height, so near (large) and far (small) vehicles are treated alike.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]

_POSITION_WEIGHT = 1.0 / 20
_VELOCITY_WEIGHT = 1.0 / 160
_DIM = 4


def box_to_xyah(box: tuple[float, float, float, float]) -> Vector:
    """(x1, y1, x2, y2) → (centre x, centre y, w/h, h)."""
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1, 1e-3), max(y2 - y1, 1e-3)
    return np.array([x1 + w / 2, y1 + h / 2, w / h, h], dtype=np.float64)


def xyah_to_box(xyah: Vector) -> tuple[float, float, float, float]:
    """(centre x, centre y, w/h, h) → (x1, y1, x2, y2)."""
    cx, cy, a, h = (float(v) for v in xyah[:_DIM])
    h = max(h, 1e-3)
    w = max(a, 1e-6) * h
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class KalmanBoxFilter:
    """Predict and correct one box's state; the matrices are shared by every track."""

    def __init__(self) -> None:
        self._motion = np.eye(2 * _DIM)
        for i in range(_DIM):
            self._motion[i, _DIM + i] = 1.0  # one frame per step
        self._observe = np.eye(_DIM, 2 * _DIM)

    def initiate(self, measurement: Vector) -> tuple[Vector, Matrix]:
        """State and covariance for a new track from its first box."""
        mean = np.concatenate([measurement, np.zeros(_DIM)])
        h = measurement[3]
        std = [
            2 * _POSITION_WEIGHT * h,
            2 * _POSITION_WEIGHT * h,
            1e-2,
            2 * _POSITION_WEIGHT * h,
            10 * _VELOCITY_WEIGHT * h,
            10 * _VELOCITY_WEIGHT * h,
            1e-5,
            10 * _VELOCITY_WEIGHT * h,
        ]
        return mean, np.diag(np.square(std))

    def predict(self, mean: Vector, covariance: Matrix) -> tuple[Vector, Matrix]:
        """Advance one frame."""
        h = mean[3]
        pos, vel = _POSITION_WEIGHT * h, _VELOCITY_WEIGHT * h
        noise = np.diag(np.square([pos, pos, 1e-2, pos, vel, vel, 1e-5, vel]))
        mean = self._motion @ mean
        covariance = self._motion @ covariance @ self._motion.T + noise
        return mean, covariance

    def update(
        self, mean: Vector, covariance: Matrix, measurement: Vector
    ) -> tuple[Vector, Matrix]:
        """Correct the state with a measured box."""
        h = mean[3]
        std = [_POSITION_WEIGHT * h, _POSITION_WEIGHT * h, 1e-1, _POSITION_WEIGHT * h]
        projected_mean = self._observe @ mean
        projected_cov = self._observe @ covariance @ self._observe.T + np.diag(np.square(std))
        # Solve rather than invert: better conditioned, and cheaper for a 4×4 system.
        gain = np.linalg.solve(projected_cov, (covariance @ self._observe.T).T).T
        innovation = measurement - projected_mean
        mean = mean + gain @ innovation
        covariance = covariance - gain @ projected_cov @ gain.T
        return mean, covariance
