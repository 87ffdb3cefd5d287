"""Violation facts: track order, boxes, confidences, helmet riders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from protocol.enums import BehaviourCode, RiderPosition
from protocol.violation import Violation
from tests.factories import FIXED_TIME, violation_dict


def violation(**changes: Any) -> Violation:
    return Violation.model_validate({**violation_dict(), **changes})


def test_red_light_facts() -> None:
    v = violation()
    assert v.behaviour is BehaviourCode.red_light
    assert v.signal is not None and v.signal.time_into_red_s == 2.0


def test_track_must_be_in_time_order_and_not_empty() -> None:
    track = violation_dict()["track"]
    with pytest.raises(ValueError, match="time order"):
        violation(track=list(reversed(track)))
    with pytest.raises(ValueError, match="track"):
        violation(track=[])


@pytest.mark.parametrize(
    "box", [[10, 10, 5, 20], [10, 10, 20, 5], [0, 0, 1], [0, 0, 1, float("inf")]]
)
def test_bad_boxes_are_refused(box: list[float]) -> None:
    point = {"t": FIXED_TIME, "frame_seq": 1, "box": box, "score": 0.5}
    with pytest.raises(ValueError, match="box"):
        violation(track=[point])


def test_confidence_is_a_probability() -> None:
    with pytest.raises(ValueError, match="confidence"):
        violation(confidence=1.5)


def test_helmet_facts() -> None:
    riders = [
        {"position": "driver", "head_box": [10, 10, 30, 30], "helmet_score": 0.1},
        {
            "position": "passenger",
            "head_box": [12, 0, 30, 12],
            "helmet_score": 0.9,
            "person_box": [5, 0, 40, 80],
        },
    ]
    v = violation(
        behaviour="no_helmet",
        experimental=True,
        signal=None,
        helmet={"riders": riders},
        occurred_at=FIXED_TIME + timedelta(seconds=1),
    )
    assert v.helmet is not None
    assert [r.position for r in v.helmet.riders] == [RiderPosition.driver, RiderPosition.passenger]
    with pytest.raises(ValueError, match="riders"):
        violation(helmet={"riders": []})
