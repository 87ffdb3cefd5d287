"""Shared field types and the base model every wire message derives from."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    StringConstraints,
    WithJsonSchema,
)

DEVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,62}$"
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
KEY_ID_PATTERN = r"^[0-9a-f]{16}$"


class WireModel(BaseModel):
    """Base of every message: immutable, unknown fields refused, no NaN or infinity.

    Forbidding unknown fields is what makes a minor version bump safe only when servers upgrade
    first: an old reader refuses a newer writer's extra field instead of silently dropping it.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        validate_default=True,
    )


def _require_utc(value: datetime) -> datetime:
    # A naive time is ambiguous on a box whose timezone nobody set; refuse it rather than guess.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("thời điểm phải kèm múi giờ (naive datetime refused; use UTC)")
    return value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)


def _ordered_box(value: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = value
    if x2 < x1 or y2 < y1:
        raise ValueError("box must be [x1, y1, x2, y2] with x1 <= x2 and y1 <= y2")
    return value


def _blob_from_text(value: object) -> object:
    # JSON and the CBOR bodies carry bytes as base64 text; Python callers may pass bytes directly.
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("not valid base64") from exc
    return value


def _blob_to_text(value: bytes, info: SerializationInfo) -> bytes | str:
    return base64.b64encode(value).decode("ascii") if info.mode_is_json() else value


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
"""An aware datetime, normalised to UTC; serialised as ISO 8601 with a `Z` suffix."""

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
Sha256Hex = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]
KeyId = Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
Point = tuple[float, float]
Box = Annotated[tuple[float, float, float, float], AfterValidator(_ordered_box)]
Blob = Annotated[
    bytes,
    BeforeValidator(_blob_from_text),
    PlainSerializer(_blob_to_text),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
"""Binary data; base64 text in JSON and in sealed bodies (which are CBOR of the JSON dump)."""
