"""Topics: built and parsed strictly; wildcards, empty levels and bad ids refused."""

from __future__ import annotations

import pytest
from hypothesis import given

from protocol.errors import TopicError
from protocol.topics import TopicKind, Topics, validate_device_id, validate_prefix
from tests.protocol.strategies import PROPERTY, device_ids


def test_default_topics() -> None:
    topics = Topics()
    assert topics.evidence("dh-cam-001") == "tw/v1/dh-cam-001/evidence"
    assert topics.ack("dh-cam-001") == "tw/v1/dh-cam-001/ack"
    assert topics.status("dh-cam-001") == "tw/v1/dh-cam-001/status"
    assert topics.config("dh-cam-001") == "tw/v1/dh-cam-001/config"
    assert topics.cmd("dh-cam-001") == "tw/v1/dh-cam-001/cmd"
    assert topics.reply("dh-cam-001") == "tw/v1/dh-cam-001/reply"


def test_subscriptions() -> None:
    topics = Topics("city/tw/v1")
    assert topics.subscription(TopicKind.status) == "city/tw/v1/+/status"
    assert (
        topics.subscription(TopicKind.evidence, "ingest") == "$share/ingest/city/tw/v1/+/evidence"
    )
    with pytest.raises(TopicError):
        topics.subscription(TopicKind.evidence, "in/gest")


@PROPERTY
@given(device_ids)
def test_round_trip(device_id: str) -> None:
    topics = Topics("site-7/tw")
    for kind in TopicKind:
        assert topics.parse(topics.topic(kind, device_id)) == (device_id, kind)


@pytest.mark.parametrize(
    "topic",
    [
        "tw/v1/+/evidence",
        "tw/v1/#",
        "tw/v1/dh-cam-001/evidence/extra",
        "tw/v1//evidence",
        "tw/v1/dh-cam-001/",
        "tw/v1/dh-cam-001/selfie",
        "tw/v2/dh-cam-001/evidence",
        "tw/v1/DH-CAM-001/evidence",
        "other/dh-cam-001/evidence",
    ],
)
def test_parse_refuses(topic: str) -> None:
    with pytest.raises(TopicError):
        Topics().parse(topic)


@pytest.mark.parametrize(
    "device_id", ["", "a", "-cam", "Cam-1", "cam 1", "cam/1", "cam+", "cam#", "x" * 64, "cam.1"]
)
def test_malformed_device_ids(device_id: str) -> None:
    with pytest.raises(TopicError, match="mã thiết bị"):
        validate_device_id(device_id)
    with pytest.raises(TopicError):
        Topics().evidence(device_id)


@pytest.mark.parametrize("prefix", ["", "/tw", "tw/", "tw//v1", "tw/+", "tw/#", "$SYS", "t w"])
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(TopicError):
        validate_prefix(prefix)
