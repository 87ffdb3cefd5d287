"""Which person rides which motorbike.

A seated rider's box reaches down into the motorbike: the lower half of the person box overlaps
the upper part of the motorbike box, and the rider's centre lies over the bike. Seen from behind a
rider is often wider than the bike, so the overlap is measured against the smaller of the two
regions. Links are smoothed over frames (decaying votes) so that one frame where a pedestrian
brushes past a bike does not make them its rider; one person rides at most one bike, a bike may
carry several riders (three on one motorbike is not rare in Việt Nam).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from edge_agent.tracking.bytetrack import TrackedObject
from edge_agent.tracking.matching import Box

RIDDEN_LABELS = frozenset({"motorbike"})
_PERSON_LOWER = 0.5  # the lower half of the person box: hips and legs
_BIKE_UPPER = 0.6  # the upper 60 % of the motorbike box: seat, tank, handlebars
_CENTRE_SLACK = 0.25  # the rider's centre may lie this share of the bike's width beyond it


def rider_overlap(person: Box, bike: Box) -> float:
    """How strongly `person` sits on `bike`: 0 (not at all) to 1."""
    px1, py1, px2, py2 = person
    bx1, by1, bx2, by2 = bike
    bike_w = bx2 - bx1
    centre = (px1 + px2) / 2
    if not bx1 - _CENTRE_SLACK * bike_w <= centre <= bx2 + _CENTRE_SLACK * bike_w:
        return 0.0
    lower = (px1, py2 - _PERSON_LOWER * (py2 - py1), px2, py2)
    upper = (bx1, by1, bx2, by1 + _BIKE_UPPER * (by2 - by1))
    iw = min(lower[2], upper[2]) - max(lower[0], upper[0])
    ih = min(lower[3], upper[3]) - max(lower[1], upper[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min(_area(lower), _area(upper))
    return min(iw * ih / smaller, 1.0) if smaller > 0 else 0.0


def _area(box: Box) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def link_riders(objects: Iterable[TrackedObject], min_overlap: float = 0.3) -> dict[int, int]:
    """Person track id → motorbike track id, from one frame's geometry alone."""
    objects = list(objects)
    bikes = [o for o in objects if o.label in RIDDEN_LABELS]
    links: dict[int, int] = {}
    for person in (o for o in objects if o.label == "person"):
        scored = [(rider_overlap(person.box, bike.box), bike.track_id) for bike in bikes]
        best = max(scored, default=(0.0, 0))
        if best[0] >= min_overlap:
            links[person.track_id] = best[1]
    return links


class RiderLinker:
    """Rider links smoothed over frames: a person's bike is the one voted for most lately.

    Each frame where the geometry links a person to a bike adds a vote; votes decay by `decay` a
    frame. A link is made once its votes reach `min_votes` (three frames in a row by default) and
    held until they fall below half that, so a frame or two of occlusion does not break it.
    """

    def __init__(self, *, decay: float = 0.8, min_votes: float = 2.0, min_overlap: float = 0.3):
        self.decay = decay
        self.min_votes = min_votes
        self.min_overlap = min_overlap
        self._votes: dict[int, dict[int, float]] = {}
        self._linked: dict[int, int] = {}  # person → bike

    def update(self, objects: Iterable[TrackedObject]) -> dict[int, tuple[int, ...]]:
        """Motorbike track id → its riders' track ids (sorted), for the objects of this frame."""
        objects = list(objects)
        present = {o.track_id for o in objects}
        seen = link_riders(objects, self.min_overlap)
        for person in [p for p in self._votes if p not in present]:
            del self._votes[person]  # the track ended: forget it
        for votes in self._votes.values():
            for bike in votes:
                votes[bike] *= self.decay
        for person, bike in seen.items():
            votes = self._votes.setdefault(person, {})
            votes[bike] = votes.get(bike, 0.0) + 1.0
        linked = {p: self._choose(p, by_bike, present) for p, by_bike in self._votes.items()}
        self._linked = {p: b for p, b in linked.items() if b is not None}
        riders: dict[int, list[int]] = {}
        for person, bike in self._linked.items():
            riders.setdefault(bike, []).append(person)
        return {bike: tuple(sorted(people)) for bike, people in riders.items()}

    def _choose(self, person: int, by_bike: Mapping[int, float], present: set[int]) -> int | None:
        candidates = [(v, bike) for bike, v in by_bike.items() if bike in present]
        if not candidates:
            return None
        votes, bike = max(candidates)
        held = self._linked.get(person) == bike
        return bike if votes >= (self.min_votes / 2 if held else self.min_votes) else None
