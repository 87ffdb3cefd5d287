"""A scene as the detector would report it: noisy boxes, dropped detections, occlusions.

Every box gets Gaussian noise on each coordinate (`box_sigma_px`), every detection is dropped
with `drop_rate`, and a hidden vehicle (with its riders) yields nothing for its occlusion.
Riders carry P(helmet) from a head classifier run on a drawn crop of their head, as the box
would classify the real frame. Ground-truth tracks (for the rules without the tracker) use the
vehicle's id, or its new id after an occlusion that switches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from edge_agent.rules.heads import BaselineHeadClassifier, HeadClassifier
from tests.scenes import layout as L
from tests.scenes.generate import Scene
from tests.scenes.render import render_head
from tests.scenes.vehicles import Box, Vehicle

RIDER_ID_SWITCH = 1_000_000


@dataclass(frozen=True)
class Det:
    """One detection, with the ground truth behind it (which the tracker must not read)."""

    box: Box
    score: float
    label: str
    vid: int
    rider_id: int | None = None
    helmet_score: float | None = None


@dataclass(frozen=True)
class FrameDets:
    """A frame's detections."""

    seq: int
    t: datetime
    dets: tuple[Det, ...]


@dataclass(frozen=True)
class GtObject:
    """A ground-truth track's object in one frame (fits the rule stage's `TrackedLike`)."""

    track_id: int
    label: str
    box: Box
    score: float
    detected: bool = True


def _noisy(box: Box, rng: np.random.Generator, sigma: float) -> Box:
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box) + rng.normal(0, sigma, 4))
    x1, x2 = max(min(x1, x2), 0.0), min(max(x1, x2), float(L.WIDTH))
    y1, y2 = max(min(y1, y2), 0.0), min(max(y1, y2), float(L.HEIGHT))
    return (x1, y1, x2, y2)


def detections(scene: Scene, heads: HeadClassifier | None = None) -> list[FrameDets]:
    """Every frame's detections, reproducible from the scene's seed."""
    heads = heads or BaselineHeadClassifier()
    rng = np.random.default_rng(scene.seed + 1000)
    noise = scene.noise
    frames = []
    for seq, t in scene.frame_times():
        dets: list[Det] = []
        for v in scene.vehicles:
            if not v.active(t) or v.hidden(t):
                continue
            lo, hi = noise.score_range
            if rng.random() >= noise.drop_rate:
                box = _noisy(v.box(t), rng, noise.box_sigma_px)
                dets.append(Det(box, float(rng.uniform(lo, hi)), v.label(), v.vid))
            for rider, clean in v.rider_boxes(t):
                if rng.random() < noise.drop_rate:
                    continue
                crop = render_head(rider.helmet, rider.rider_id, clean[3] - clean[1], rng)
                score = heads.helmet_probability(crop)
                box = _noisy(clean, rng, noise.box_sigma_px)
                dets.append(
                    Det(box, float(rng.uniform(lo, hi)), "person", v.vid, rider.rider_id, score)
                )
        frames.append(FrameDets(seq, t, tuple(dets)))
    return frames


def gt_track_id(vehicle: Vehicle, t: datetime) -> int:
    """The ground-truth track id of a vehicle at `t` (a new one after a switching occlusion)."""
    if (
        vehicle.switch_id is not None
        and vehicle.occlusion is not None
        and t >= vehicle.occlusion[1]
    ):
        return vehicle.switch_id
    return vehicle.vid


def gt_objects(
    scene: Scene, frame: FrameDets
) -> tuple[list[GtObject], dict[int, tuple[int, ...]], dict[int, float]]:
    """The frame's detections as ground-truth tracks: objects, bike → riders, P(helmet)."""
    vehicles = scene.by_id()
    objects: list[GtObject] = []
    riders: dict[int, tuple[int, ...]] = {}
    helmet: dict[int, float] = {}
    for det in frame.dets:
        vehicle = vehicles[det.vid]
        track = gt_track_id(vehicle, frame.t)
        if det.rider_id is None:
            objects.append(GtObject(track, det.label, det.box, det.score))
            continue
        rider_track = det.rider_id + (RIDER_ID_SWITCH if track != vehicle.vid else 0)
        objects.append(GtObject(rider_track, "person", det.box, det.score))
        riders[track] = (*riders.get(track, ()), rider_track)
        if det.helmet_score is not None:
            helmet[rider_track] = det.helmet_score
    return objects, {bike: tuple(sorted(ids)) for bike, ids in riders.items()}, helmet


def drop_share(frames: Sequence[FrameDets], scene: Scene) -> float:
    """Share of visible (not occluded) objects that have no detection."""
    expected = seen = 0
    for frame in frames:
        for v in scene.vehicles:
            if v.active(frame.t) and not v.hidden(frame.t):
                expected += 1 + len(v.riders)
        seen += len(frame.dets)
    return 1.0 - seen / expected if expected else 0.0
