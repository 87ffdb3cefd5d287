"""Hypothesis strategies for protocol messages (random but always valid)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from protocol.enums import (
    BehaviourCode,
    CameraProblem,
    ClockSource,
    DeviceState,
    MediaRole,
    PlateColour,
    RiderPosition,
    SignalPhase,
    SignalSource,
    VehicleClass,
)
from protocol.evidence import make_part
from protocol.fields import DEVICE_ID_PATTERN, IDENTIFIER_PATTERN
from protocol.ids import uuid7_from_parts

# No per-example deadline: validation time varies on a loaded CI machine, and timing is not
# what these tests check.
PROPERTY = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])

utc_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.just(timezone.utc),
)
device_ids = st.from_regex(DEVICE_ID_PATTERN, fullmatch=True)
identifiers = st.from_regex(IDENTIFIER_PATTERN, fullmatch=True)
short_text = st.text(max_size=40)
sha256s = st.binary(min_size=32, max_size=32).map(bytes.hex)
unit = st.floats(min_value=0, max_value=1)
coords = st.floats(min_value=-1e4, max_value=1e4)
angles = st.floats(min_value=0, max_value=359.999)
finite = st.floats(allow_nan=False, allow_infinity=False)
packet_ids = st.builds(
    uuid7_from_parts,
    st.integers(0, 2**48 - 1),
    st.integers(0, 2**12 - 1),
    st.integers(0, 2**62 - 1),
)


@st.composite
def boxes(draw: st.DrawFn) -> list[float]:
    x1, x2 = sorted((draw(coords), draw(coords)))
    y1, y2 = sorted((draw(coords), draw(coords)))
    return [x1, y1, x2, y2]


@st.composite
def tracks(draw: st.DrawFn) -> list[dict[str, Any]]:
    times = sorted(draw(st.lists(utc_times, min_size=1, max_size=8)))
    return [
        {
            "t": t,
            "frame_seq": draw(st.integers(0, 2**40)),
            "box": draw(boxes()),
            "score": draw(unit),
        }
        for t in times
    ]


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


signal_facts = st.fixed_dictionaries(
    {
        "phase": st.sampled_from(SignalPhase),
        "source": st.sampled_from(SignalSource),
        "grace_s": st.floats(min_value=0, max_value=5),
    },
    optional={
        "red_onset_at": _optional(utc_times),
        "amber_duration_s": _optional(st.floats(min_value=0, max_value=10)),
        "time_into_red_s": _optional(st.floats(min_value=-5, max_value=60)),
    },
)
lane_facts = st.fixed_dictionaries(
    {},
    optional={
        "lane_id": _optional(identifiers),
        "line_id": _optional(identifiers),
        "lane_direction_deg": _optional(angles),
        "travel_direction_deg": _optional(angles),
        "allowed_classes": st.lists(st.sampled_from(VehicleClass), max_size=6),
    },
)
riders = st.fixed_dictionaries(
    {"position": st.sampled_from(RiderPosition), "head_box": boxes(), "helmet_score": unit},
    optional={"person_box": _optional(boxes())},
)
violations = st.fixed_dictionaries(
    {
        "behaviour": st.sampled_from(BehaviourCode),
        "experimental": st.booleans(),
        "rule_version": short_text,
        "occurred_at": utc_times,
        "vehicle_class": st.sampled_from(VehicleClass),
        "track_id": st.integers(0, 2**31),
        "confidence": unit,
        "track": tracks(),
    },
    optional={
        "signal": _optional(signal_facts),
        "lane": _optional(lane_facts),
        "helmet": _optional(
            st.fixed_dictionaries({"riders": st.lists(riders, min_size=1, max_size=3)})
        ),
        "speed_kmh": _optional(st.floats(min_value=0, max_value=300)),
    },
)
plate_candidates = st.fixed_dictionaries(
    {
        "text": st.from_regex(r"[0-9A-ZĐ]{4,12}", fullmatch=True),
        "printed": short_text,
        "lines": st.sampled_from([1, 2]),
        "colour": _optional(st.sampled_from(PlateColour)),
        "confidence": unit,
        "box": boxes(),
        "reader_name": short_text,
        "reader_version": short_text,
    }
)
clocks = st.fixed_dictionaries(
    {"synced": st.booleans(), "source": st.sampled_from(ClockSource), "offset_ms": finite},
    optional={"last_sync_at": _optional(utc_times)},
)


@st.composite
def media_parts(draw: st.DrawFn, max_size: int = 512) -> dict[MediaRole, bytes]:
    """Up to six parts with unique roles in random order, random tiny contents."""
    roles = draw(st.lists(st.sampled_from(MediaRole), unique=True, max_size=6))
    return {role: draw(st.binary(min_size=1, max_size=max_size)) for role in roles}


@st.composite
def headers_for(draw: st.DrawFn, parts: dict[MediaRole, bytes], key_id: str) -> dict[str, Any]:
    """A random valid header (as plain data) that describes `parts`."""
    descriptors = []
    for role, data in parts.items():
        extra: dict[str, Any] = {}
        if role.is_still:
            extra["captured_at"] = draw(_optional(utc_times))
        else:
            start = draw(utc_times)
            extra["start_at"] = start
            extra["end_at"] = start + timedelta(seconds=draw(st.integers(0, 10)))
        descriptors.append(make_part(role, role.mime, data, **extra))
    return {
        "packet_id": draw(packet_ids),
        "schema_minor": draw(st.integers(0, 255)),
        "seq": draw(st.integers(0, 2**63 - 1)),
        "device_id": draw(device_ids),
        "site_id": draw(identifiers),
        "camera_id": draw(identifiers),
        "key_id": key_id,
        "software_version": draw(short_text),
        "created_at": draw(utc_times),
        "location": {"lat": draw(st.floats(-90, 90)), "lon": draw(st.floats(-180, 180))},
        "clock": draw(clocks),
        "model": {"name": draw(short_text), "version": draw(short_text), "sha256": draw(sha256s)},
        "config_sha256": draw(sha256s),
        "calibration_sha256": draw(sha256s),
        "frame": {
            "width": draw(st.integers(1, 8192)),
            "height": draw(st.integers(1, 8192)),
            "fps": draw(st.floats(min_value=0.1, max_value=240)),
        },
        "violation": draw(violations),
        "plate_candidates": draw(st.lists(plate_candidates, max_size=3)),
        "parts": descriptors,
    }


status_metrics = st.fixed_dictionaries(
    {
        "uptime_s": st.floats(min_value=0, max_value=1e9),
        "pipeline": st.fixed_dictionaries(
            {
                "fps_in": st.floats(min_value=0, max_value=240),
                "fps_processed": st.floats(min_value=0, max_value=240),
                "cpu_ms_per_frame": st.dictionaries(identifiers, st.floats(0, 1e4), max_size=4),
                "queue_depths": st.dictionaries(identifiers, st.integers(0, 10**6), max_size=4),
                "dropped_frames": st.integers(0, 2**40),
            }
        ),
        "outbox": st.fixed_dictionaries(
            {
                "depth": st.integers(0, 10**6),
                "bytes": st.integers(0, 2**40),
                "dead_letters": st.integers(0, 10**6),
                "dropped": st.fixed_dictionaries(
                    {
                        "clip": st.integers(0, 99),
                        "still": st.integers(0, 99),
                        "metadata": st.integers(0, 99),
                    }
                ),
            }
        ),
        "disk": st.fixed_dictionaries(
            {"free_bytes": st.integers(0, 2**44), "total_bytes": st.integers(0, 2**44)}
        ),
        "temperature_c": _optional(st.floats(-40, 120)),
        "clock": clocks,
        "camera_problems": st.lists(st.sampled_from(CameraProblem), unique=True),
        "alarms": st.lists(
            st.fixed_dictionaries(
                {
                    "code": st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
                    "message": st.text(max_size=80),
                    "since": utc_times,
                }
            ),
            max_size=3,
        ),
    }
)


@st.composite
def statuses(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid heartbeat as plain data (offline ones carry no metrics)."""
    state = draw(st.sampled_from(DeviceState))
    metrics = None if state is DeviceState.offline else draw(status_metrics)
    return {
        "device_id": draw(device_ids),
        "state": state,
        "sent_at": draw(utc_times),
        "software_version": draw(_optional(short_text)),
        "metrics": metrics,
    }
