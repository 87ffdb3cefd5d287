"""The evidence header's rules: UTC times, UUIDv7 ids, parts that fit their roles."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from protocol.enums import MediaRole
from protocol.evidence import EvidenceHeader, make_part
from protocol.keys import key_id
from tests.factories import fixed_device_key, header_dict, make_header, make_parts


def header_with(**changes: Any) -> EvidenceHeader:
    data = header_dict(make_parts(), fixed_device_key())
    data.update(changes)
    return EvidenceHeader.model_validate(data)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        header_with(created_at=datetime(2025, 3, 1, 8, 0))


def test_other_timezones_are_normalised_to_utc() -> None:
    hanoi = timezone(timedelta(hours=7))
    header = header_with(created_at=datetime(2025, 3, 1, 8, 0, tzinfo=hanoi))
    assert header.created_at == datetime(2025, 3, 1, 1, 0, tzinfo=timezone.utc)
    assert header.model_dump(mode="json")["created_at"] == "2025-03-01T01:00:00Z"


def test_packet_id_must_be_uuid7() -> None:
    with pytest.raises(ValueError, match="UUIDv7"):
        header_with(packet_id=uuid.uuid4())


def test_unique_roles_and_at_most_six_parts() -> None:
    part = make_part(MediaRole.scene_at, "image/jpeg", b"\xff\xd8\xff\xd9")
    with pytest.raises(ValueError, match="once"):
        header_with(parts=[part, part])
    all_roles = make_parts(list(MediaRole))
    assert len(make_header(all_roles).parts) == 6


@pytest.mark.parametrize(
    ("role", "mime", "extra", "message"),
    [
        (MediaRole.clip, "image/jpeg", {}, "video/mp4"),
        (MediaRole.scene_at, "video/mp4", {}, "image/jpeg"),
        (MediaRole.plate_crop, "image/png", {}, "mime"),
        (MediaRole.scene_at, "image/jpeg", {"start_at": datetime.now(timezone.utc)}, "clip only"),
        (MediaRole.clip, "video/mp4", {"captured_at": datetime.now(timezone.utc)}, "stills only"),
    ],
)
def test_parts_fit_their_roles(
    role: MediaRole, mime: str, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_part(role, mime, b"data", **extra)


def test_clip_times_in_order() -> None:
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="before"):
        make_part(MediaRole.clip, "video/mp4", b"x", start_at=start, end_at=start - timedelta(1))


def test_make_part_hashes_and_measures() -> None:
    part = make_part(MediaRole.plate_crop, "image/jpeg", b"abc", width=120, height=40)
    assert part.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert (part.size, part.width, part.height) == (3, 120, 40)
    with pytest.raises(ValueError):
        make_part(MediaRole.plate_crop, "image/jpeg", b"")


def test_header_part_lookup_and_key_id() -> None:
    header = make_header()
    assert header.part(MediaRole.clip) is not None
    assert header.part(MediaRole.rider_crop) is None
    assert header.key_id == key_id(fixed_device_key())


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="extra"):
        header_with(colour="red")


def test_models_are_immutable() -> None:
    header = make_header()
    with pytest.raises(ValueError):
        header.seq = 8  # type: ignore[misc]
