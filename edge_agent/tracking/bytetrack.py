"""ByteTrack: multi-object tracking by two-stage association, after Zhang et al. (ECCV 2022).

Written here instead of taken from `supervision`: its wheel pulls matplotlib, scipy, PyAV,
Pillow, requests and more (over 200 MB installed), which a Raspberry Pi should not carry for
~250 lines of logic; see `matching.py` for why the assignment is greedy.

Per frame: every track is predicted one frame ahead (Kalman). On a frame with detections, the
confident ones are matched to tracked and recently lost tracks by overlap; the leftover tracks then
take the low-score detections (occluded or blurred vehicles that a plain tracker would lose); new
tracks start from the confident detections nobody claimed and are confirmed by a second match.
A frame without detection (every Nth frame detection, or a still scene) only predicts: the
tracker fills the gap. Matching never crosses class groups, so a rider's box never takes over
the motorbike's track.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import numpy as np

from edge_agent.tracking.kalman import KalmanBoxFilter, Matrix, Vector, box_to_xyah, xyah_to_box
from edge_agent.tracking.matching import Box, Boxes, as_boxes, greedy_assign, iou_matrix

logger = logging.getLogger(__name__)

# Labels the detector may confuse with each other share a group; matching stays inside a group.
CLASS_GROUPS = {
    "car": "vehicle",
    "bus": "vehicle",
    "truck": "vehicle",
    "motorbike": "two_wheeler",
    "bicycle": "two_wheeler",
    "person": "person",
}
_MAX_PREDICT_STEPS = 25  # frames predicted at most across a gap (dropped frames)


class DetectionLike(Protocol):
    """What the tracker needs of a detection (`edge_agent.detect.base.Detection` fits)."""

    @property
    def box(self) -> tuple[float, float, float, float]: ...
    @property
    def score(self) -> float: ...
    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class TrackedObject:
    """One object in one frame: its track id, class, box and whether a detection backs it."""

    track_id: int
    label: str
    box: Box
    score: float  # score of the last detection matched
    detected: bool  # matched a detection in this frame (else the box is predicted)
    hits: int  # detections matched so far
    first_seq: int  # frame the track started
    velocity: tuple[float, float]  # centre motion, pixels per frame


class _State(Enum):
    new = "new"
    tracked = "tracked"
    lost = "lost"


@dataclass
class _Track:
    track_id: int
    mean: Vector
    covariance: Matrix
    score: float
    group: str
    first_seq: int
    last_seq: int
    state: _State = _State.new
    hits: int = 1
    votes: dict[str, float] = field(default_factory=dict)

    @property
    def box(self) -> Box:
        return xyah_to_box(self.mean)

    @property
    def label(self) -> str:
        return max(self.votes.items(), key=lambda kv: kv[1])[0]


@dataclass(frozen=True)
class _Dets:
    boxes: Boxes
    scores: np.ndarray
    labels: list[str]
    groups: list[str]

    @classmethod
    def of(cls, detections: Sequence[DetectionLike]) -> _Dets:
        return cls(
            as_boxes([d.box for d in detections]),
            np.asarray([d.score for d in detections], dtype=np.float64),
            [d.label for d in detections],
            [CLASS_GROUPS[d.label] for d in detections],
        )

    def take(self, index: Sequence[int]) -> _Dets:
        idx = list(index)
        return _Dets(
            self.boxes[idx].reshape(-1, 4),
            self.scores[idx],
            [self.labels[i] for i in idx],
            [self.groups[i] for i in idx],
        )


class ByteTracker:
    """Tracks vehicles, two-wheelers and people across frames; one object, one track id."""

    def __init__(
        self,
        *,
        track_thresh: float = 0.5,
        match_thresh: float = 0.8,
        buffer_frames: int = 30,
        low_thresh: float = 0.0,
        new_track_margin: float = 0.1,
    ) -> None:
        self.track_thresh = track_thresh
        self.match_thresh = match_thresh  # ByteTrack's: the largest accepted cost, 1 - similarity
        self.buffer_frames = buffer_frames
        self.low_thresh = low_thresh
        self.new_track_thresh = track_thresh + new_track_margin
        self._kf = KalmanBoxFilter()
        self._ids = itertools.count(1)
        self._tracks: list[_Track] = []
        self._seq: int | None = None
        self._detection_frames = 0

    @property
    def active_count(self) -> int:
        """Tracks currently followed (tracked or briefly lost)."""
        return len(self._tracks)

    def step(
        self, frame_seq: int, detections: Sequence[DetectionLike] | None
    ) -> list[TrackedObject]:
        """Advance to `frame_seq`; match `detections` if this frame had any (None: predict only)."""
        steps = 1 if self._seq is None else min(max(frame_seq - self._seq, 1), _MAX_PREDICT_STEPS)
        self._seq = frame_seq
        for track in self._tracks:
            for _ in range(steps):
                track.mean, track.covariance = self._kf.predict(track.mean, track.covariance)
        matched: set[int] = set()
        if detections is not None:
            self._detection_frames += 1
            usable = [
                d for d in detections if d.label in CLASS_GROUPS and d.score > self.low_thresh
            ]
            matched = self._associate(frame_seq, _Dets.of(usable))
        self._drop_expired(frame_seq)
        return [self._snapshot(t, t.track_id in matched) for t in self._tracks if self._shown(t)]

    def _associate(self, seq: int, dets: _Dets) -> set[int]:
        high = [i for i, s in enumerate(dets.scores) if s >= self.track_thresh]
        low = [i for i, s in enumerate(dets.scores) if s < self.track_thresh]
        confirmed = [t for t in self._tracks if t.state is not _State.new]
        unconfirmed = [t for t in self._tracks if t.state is _State.new]
        matched: set[int] = set()

        # 1. Confident detections against tracked and lost tracks (IoU weighted by score).
        high_dets = dets.take(high)
        rest, rest_high = self._match(
            confirmed, high_dets, 1 - self.match_thresh, seq, matched, fuse=True
        )
        # 2. Low-score detections keep the still-tracked leftovers alive (occlusion, blur).
        tracked_rest = [t for t in rest if t.state is _State.tracked]
        unmatched, _ = self._match(tracked_rest, dets.take(low), 0.5, seq, matched, fuse=False)
        for track in unmatched:
            track.state = _State.lost
        # 3. Tracks seen once take their second detection, or are dropped as noise.
        leftover = high_dets.take(rest_high)
        noise, new_idx = self._match(unconfirmed, leftover, 0.3, seq, matched, fuse=True)
        self._tracks = [t for t in self._tracks if t not in noise]
        # 4. What nobody claimed and is confident enough starts a track.
        for i in new_idx:
            if leftover.scores[i] >= self.new_track_thresh:
                track = self._start(seq, leftover, i, confirmed_now=self._detection_frames == 1)
                matched.add(track.track_id)
        return matched

    def _match(
        self,
        tracks: list[_Track],
        dets: _Dets,
        min_similarity: float,
        seq: int,
        matched: set[int],
        *,
        fuse: bool,
    ) -> tuple[list[_Track], list[int]]:
        """Match tracks to detections; update the matched; return the unmatched of each."""
        similarity = iou_matrix(as_boxes([t.box for t in tracks]), dets.boxes)
        if fuse and similarity.size:
            similarity = similarity * dets.scores[None, :]
        if similarity.size:
            same_group = np.asarray([t.group for t in tracks])[:, None] == np.asarray(dets.groups)
            similarity = np.where(same_group, similarity, 0.0)
        pairs, rows, cols = greedy_assign(similarity, max(min_similarity, 1e-6))
        for r, c in pairs:
            self._update(tracks[r], dets, c, seq)
            matched.add(tracks[r].track_id)
        return [tracks[r] for r in rows], cols

    def _update(self, track: _Track, dets: _Dets, i: int, seq: int) -> None:
        measurement = box_to_xyah(tuple(dets.boxes[i]))
        track.mean, track.covariance = self._kf.update(track.mean, track.covariance, measurement)
        track.score = float(dets.scores[i])
        track.votes[dets.labels[i]] = track.votes.get(dets.labels[i], 0.0) + track.score
        track.hits += 1
        track.last_seq = seq
        track.state = _State.tracked

    def _start(self, seq: int, dets: _Dets, i: int, *, confirmed_now: bool) -> _Track:
        mean, covariance = self._kf.initiate(box_to_xyah(tuple(dets.boxes[i])))
        score = float(dets.scores[i])
        track = _Track(
            track_id=next(self._ids),
            mean=mean,
            covariance=covariance,
            score=score,
            group=dets.groups[i],
            first_seq=seq,
            last_seq=seq,
            votes={dets.labels[i]: score},
        )
        if confirmed_now:  # as ByteTrack: tracks born on the very first frame count at once
            track.state = _State.tracked
        self._tracks.append(track)
        return track

    def _drop_expired(self, seq: int) -> None:
        self._tracks = [
            t
            for t in self._tracks
            if t.state is not _State.lost or seq - t.last_seq <= self.buffer_frames
        ]

    @staticmethod
    def _shown(track: _Track) -> bool:
        return track.state is _State.tracked

    @staticmethod
    def _snapshot(track: _Track, detected: bool) -> TrackedObject:
        return TrackedObject(
            track_id=track.track_id,
            label=track.label,
            box=track.box,
            score=track.score,
            detected=detected,
            hits=track.hits,
            first_seq=track.first_seq,
            velocity=(float(track.mean[4]), float(track.mean[5])),
        )
