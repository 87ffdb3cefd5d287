"""Riders are linked to the motorbike they sit on, and only to it."""

from __future__ import annotations

from edge_agent.tracking.bytetrack import TrackedObject
from edge_agent.tracking.riders import RiderLinker, link_riders, rider_overlap

BIKE = (500.0, 420.0, 580.0, 560.0)  # seen from behind: narrow and tall
DRIVER = (485.0, 300.0, 595.0, 500.0)  # hips over the seat, wider than the bike
PASSENGER = (490.0, 280.0, 590.0, 490.0)
PEDESTRIAN = (640.0, 380.0, 690.0, 560.0)  # standing beside the bike, feet on the ground


def obj(track_id: int, label: str, box: tuple[float, float, float, float]) -> TrackedObject:
    return TrackedObject(track_id, label, box, 0.9, True, 5, 0, (0.0, 0.0))


def test_a_seated_rider_overlaps_a_pedestrian_does_not() -> None:
    assert rider_overlap(DRIVER, BIKE) > 0.5
    assert rider_overlap(PEDESTRIAN, BIKE) == 0.0
    head_above = (500.0, 100.0, 580.0, 300.0)  # a person far above (another vehicle, a sign)
    assert rider_overlap(head_above, BIKE) == 0.0


def test_two_riders_on_one_motorbike() -> None:
    objects = [
        obj(1, "motorbike", BIKE),
        obj(2, "person", DRIVER),
        obj(3, "person", PASSENGER),
        obj(4, "person", PEDESTRIAN),
        obj(5, "car", (100.0, 300.0, 400.0, 560.0)),
    ]
    assert link_riders(objects) == {2: 1, 3: 1}


def test_each_rider_goes_to_the_bike_under_them() -> None:
    other_bike = (800.0, 420.0, 880.0, 560.0)
    other_rider = (785.0, 300.0, 895.0, 500.0)
    objects = [
        obj(1, "motorbike", BIKE),
        obj(2, "motorbike", other_bike),
        obj(3, "person", DRIVER),
        obj(4, "person", other_rider),
    ]
    assert link_riders(objects) == {3: 1, 4: 2}


def test_links_need_a_few_frames_and_survive_a_brief_occlusion() -> None:
    linker = RiderLinker()
    riding = [obj(1, "motorbike", BIKE), obj(2, "person", DRIVER)]
    passing = [obj(1, "motorbike", BIKE), obj(2, "person", PEDESTRIAN)]

    assert linker.update(riding) == {}  # one frame could be someone brushing past
    assert linker.update(riding) == {}
    assert linker.update(riding) == {1: (2,)}
    assert linker.update(passing) == {1: (2,)}  # one odd frame does not undo it
    for _ in range(10):
        linker.update(passing)
    assert linker.update(passing) == {}


def test_a_pedestrian_brushing_past_a_parked_bike_is_no_rider() -> None:
    linker = RiderLinker()
    bike = obj(1, "motorbike", BIKE)
    results = [linker.update([bike, obj(2, "person", DRIVER)]) for _ in range(2)]
    results += [linker.update([bike, obj(2, "person", PEDESTRIAN)]) for _ in range(5)]
    assert all(r == {} for r in results)


def test_an_ended_track_is_forgotten() -> None:
    linker = RiderLinker()
    for _ in range(3):
        linker.update([obj(1, "motorbike", BIKE), obj(2, "person", DRIVER)])
    assert linker.update([obj(1, "motorbike", BIKE)]) == {}
