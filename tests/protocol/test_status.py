"""Status heartbeat: human-readable JSON, the offline last will, versions, bad input."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given

from protocol.enums import DeviceState
from protocol.errors import MalformedError, SizeError, VersionError
from protocol.status import (
    MAX_STATUS_BYTES,
    StatusHeartbeat,
    decode_status,
    encode_status,
    offline_status,
)
from tests.factories import make_status
from tests.protocol.strategies import PROPERTY, statuses


@PROPERTY
@given(statuses())
def test_random_heartbeats_round_trip(data: dict[str, Any]) -> None:
    status = StatusHeartbeat.model_validate(data)
    assert decode_status(encode_status(status)) == status


def test_heartbeat_is_readable_json() -> None:
    text = encode_status(make_status()).decode("utf-8")
    value = json.loads(text)
    assert value["state"] == "online"
    assert value["metrics"]["outbox"]["dropped"] == {"clip": 1, "still": 0, "metadata": 0}
    assert "hết dung lượng" in value["metrics"]["alarms"][0]["message"]


def test_offline_last_will() -> None:
    at = datetime(2025, 3, 1, tzinfo=timezone.utc)
    status = decode_status(offline_status("dh-cam-001", at))
    assert (status.device_id, status.state, status.sent_at) == (
        "dh-cam-001",
        DeviceState.offline,
        at,
    )
    assert status.metrics is None
    assert decode_status(offline_status("dh-cam-001")).state is DeviceState.offline


def test_online_needs_metrics() -> None:
    with pytest.raises(ValueError, match="metrics"):
        make_status(metrics=None)


def test_versions_and_fields() -> None:
    value = json.loads(encode_status(make_status()))
    with pytest.raises(VersionError):
        decode_status(json.dumps({**value, "schema_major": 2}))
    assert decode_status(json.dumps({**value, "schema_minor": 7})).schema_minor == 7
    with pytest.raises(MalformedError, match="uptime"):
        decode_status(json.dumps({**value, "metrics": {**value["metrics"], "uptime": 1}}))
    del value["device_id"]
    with pytest.raises(MalformedError, match="device_id"):
        decode_status(json.dumps(value))


@pytest.mark.parametrize("garbage", [b"", b"{", b"[]", b"null", b'{"state": NaN}', b"\xff\xfe"])
def test_garbage_is_malformed(garbage: bytes) -> None:
    with pytest.raises(MalformedError):
        decode_status(garbage)


def test_oversize_is_refused() -> None:
    with pytest.raises(SizeError):
        decode_status(b" " * (MAX_STATUS_BYTES + 1))
