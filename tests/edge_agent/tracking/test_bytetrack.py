"""ByteTrack on scenes with known ground truth: one object, one track id."""

from __future__ import annotations

from collections.abc import Sequence

from edge_agent.tracking.bytetrack import ByteTracker, TrackedObject
from tests.edge_agent.tracking.scenes import Box, Det, iou, path

CAR_A = (100.0, 300.0, 260.0, 400.0)
CAR_B = (900.0, 500.0, 1060.0, 600.0)


def run(tracker: ByteTracker, frames: Sequence[Sequence[Det] | None]) -> list[list[TrackedObject]]:
    return [tracker.step(seq, dets) for seq, dets in enumerate(frames)]


def ids_following(history: list[list[TrackedObject]], truth: Sequence[Box]) -> set[int]:
    """Track ids of the objects that overlap the ground-truth box, frame by frame."""
    found = set()
    for objects, box in zip(history, truth, strict=True):
        found |= {o.track_id for o in objects if iou(o.box, box) > 0.5}
    return found


def test_two_cars_in_two_lanes_are_two_stable_tracks() -> None:
    a, b = path(CAR_A, (12, 0), 60), path(CAR_B, (-10, -2), 60)
    frames = [[Det(pa, 0.9, "car"), Det(pb, 0.8, "car")] for pa, pb in zip(a, b, strict=True)]
    history = run(ByteTracker(), frames)

    assert ids_following(history, a) != ids_following(history, b)
    assert len(ids_following(history, a)) == 1 and len(ids_following(history, b)) == 1
    assert all(len(objects) == 2 for objects in history)
    assert all(o.detected and o.label == "car" for objects in history for o in objects)


def test_cars_passing_each_other_keep_their_ids() -> None:
    a = path((0.0, 300.0, 160.0, 400.0), (15, 0), 80)
    b = path((1200.0, 340.0, 1360.0, 440.0), (-15, 0), 80)
    frames = [[Det(pa, 0.9, "car"), Det(pb, 0.9, "car")] for pa, pb in zip(a, b, strict=True)]
    history = run(ByteTracker(), frames)
    assert len(ids_following(history, a)) == 1
    assert len(ids_following(history, b)) == 1


def test_an_occluded_car_with_low_scores_keeps_its_track() -> None:
    boxes = path(CAR_A, (8, 0), 50)
    # Frames 20-34: half hidden behind a bus, the detector is unsure (ByteTrack's low band).
    frames = [[Det(box, 0.3 if 20 <= i < 35 else 0.9, "car")] for i, box in enumerate(boxes)]
    history = run(ByteTracker(), frames)
    assert len(ids_following(history, boxes)) == 1
    assert all(len(objects) == 1 and objects[0].detected for objects in history)


def test_a_car_missed_briefly_is_found_again_but_not_after_the_buffer() -> None:
    boxes = path(CAR_A, (6, 0), 100)
    gap = set(range(20, 30))  # 10 frames unseen: within a 30-frame buffer
    long_gap = set(range(50, 90))  # 40 frames unseen: beyond it
    frames = [[] if i in gap | long_gap else [Det(b, 0.9, "car")] for i, b in enumerate(boxes)]
    history = run(ByteTracker(buffer_frames=30), frames)

    first = ids_following(history[:50], boxes[:50])
    later = ids_following(history[90:], boxes[90:])
    assert len(first) == 1 and len(later) == 1
    assert first != later
    assert all(history[i] == [] for i in gap)  # a lost track is not reported as seen


def test_detection_on_every_second_frame_is_filled_by_prediction() -> None:
    boxes = path(CAR_A, (10, 4), 40)
    frames: list[list[Det] | None] = [
        [Det(b, 0.9, "car")] if i % 2 == 0 else None for i, b in enumerate(boxes)
    ]
    history = run(ByteTracker(), frames)

    assert len(ids_following(history, boxes)) == 1
    for i in range(11, 40, 2):  # once the velocity is learnt, predicted boxes follow the car
        (predicted,) = history[i]
        assert not predicted.detected
        assert iou(predicted.box, boxes[i]) > 0.8


def test_a_rider_never_takes_over_the_motorbike_track() -> None:
    bike = path((500.0, 420.0, 580.0, 560.0), (0, -6), 40)
    rider = path((490.0, 330.0, 590.0, 500.0), (0, -6), 40)
    frames = [
        [Det(b, 0.8, "motorbike"), Det(r, 0.85, "person")] for b, r in zip(bike, rider, strict=True)
    ]
    history = run(ByteTracker(), frames)
    labels = {o.track_id: o.label for objects in history for o in objects}
    assert sorted(labels.values()) == ["motorbike", "person"]


def test_a_flickering_class_stays_one_track_with_the_majority_label() -> None:
    boxes = path(CAR_A, (5, 0), 30)
    frames = [[Det(b, 0.8, "truck" if i % 4 == 0 else "car")] for i, b in enumerate(boxes)]
    history = run(ByteTracker(), frames)
    assert len(ids_following(history, boxes)) == 1
    assert history[-1][0].label == "car"


def test_a_one_frame_false_alarm_never_becomes_a_track() -> None:
    boxes = path(CAR_A, (5, 0), 20)
    frames = [[Det(b, 0.9, "car")] for b in boxes]
    frames[10] = [*frames[10], Det((1500.0, 100.0, 1600.0, 180.0), 0.9, "car")]
    history = run(ByteTracker(), frames)
    assert {o.track_id for objects in history for o in objects} == {1}


def test_traffic_lights_are_not_tracked() -> None:
    frames = [[Det((10.0, 10.0, 30.0, 60.0), 0.9, "traffic_light")] for _ in range(5)]
    assert run(ByteTracker(), frames) == [[], [], [], [], []]
