"""The tracker on real footage: the shared car-park clip through the default detector.

Detection runs on every second frame, as a box configured with `every_nth_frame: 2` does: the
tracker fills the frames between.
"""

from __future__ import annotations

from pathlib import Path

from edge_agent.capture.av_source import AvSource
from edge_agent.tracking.bytetrack import CLASS_GROUPS, ByteTracker, TrackedObject
from tests.edge_agent.capture.media import sample_video
from tests.edge_agent.tracking.scenes import iou


def track_clip(models_dir: Path) -> list[list[TrackedObject]]:
    from edge_agent.detect.factory import create_detector

    detector = create_detector("", models_dir=models_dir, threads=2)
    source = AvSource(str(sample_video()), live=False)
    source.open()
    tracker = ByteTracker()
    history = []
    try:
        while (frame := source.read()) is not None:
            detections = detector.detect(frame.image) if frame.seq % 2 == 0 else None
            history.append(tracker.step(frame.seq, detections))
    finally:
        source.close()
        detector.close()
    return history


def longest_detected_run(history: list[list[TrackedObject]]) -> list[TrackedObject]:
    """The longest run of consecutive detection frames where a detection backs a vehicle."""
    best: list[TrackedObject] = []
    run: list[TrackedObject] = []
    for objects in history[::2]:
        seen = [o for o in objects if o.detected and CLASS_GROUPS[o.label] == "vehicle"]
        run = [*run, seen[0]] if seen else []
        best = run if len(run) > len(best) else best
    return best


def test_one_vehicle_is_one_track_on_real_footage(models_dir: Path) -> None:
    history = track_clip(models_dir)

    run = longest_detected_run(history)
    assert len(run) >= 4, "the detector should see the reversing car for several frames"
    assert len({o.track_id for o in run}) == 1
    for objects in history:  # never two tracks on one vehicle
        for i, a in enumerate(objects):
            for b in objects[i + 1 :]:
                same_group = CLASS_GROUPS[a.label] == CLASS_GROUPS[b.label]
                assert not (same_group and iou(a.box, b.box) > 0.7)
    for before, after in zip(history, history[1:], strict=False):  # no identity switches
        for a in before:
            for b in after:
                if CLASS_GROUPS[a.label] == CLASS_GROUPS[b.label] and iou(a.box, b.box) > 0.6:
                    assert a.track_id == b.track_id
