"""The evidence builder: a violation event becomes one signed packet in the outbox.

Real footage (`../shared/data/video/car-detection.mp4`) through the real segment buffer, outbox
and signature; the violation is the red car of the sample, with the boxes YOLOX-nano gives it
(a car driving up the lane, frames 214-226). Capture times are the footage's stream times from
a fixed morning, as a live camera would stamp them, except where the test is about waiting.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_agent.capture.av_source import AvSource
from edge_agent.capture.base import Frame, StreamInfo
from edge_agent.evidence.builder import CaptureSources, EvidenceBuilder, EvidenceSettings
from edge_agent.evidence.clip import probe_clip
from edge_agent.evidence.frames import FrameRing
from edge_agent.evidence.packet import BoxFacts, SequenceCounter
from edge_agent.evidence.segments import SegmentBuffer
from edge_agent.outbox import Outbox
from edge_agent.rules.types import ViolationEvent
from protocol.enums import ClockSource, MediaRole
from protocol.envelope import EvidencePacket, open_packet, verify_packet
from protocol.evidence import ClockState, Location, ModelInfo
from protocol.violation import Violation
from tests.edge_agent.capture.media import sample_video
from tests.factories import fixed_device_key

T0 = datetime(2025, 6, 2, 1, 30, tzinfo=timezone.utc)  # 08:30 in Hà Nội
FPS = 12.5
KEY_SEQ = 218  # the frame at the line
# The red car as YOLOX-nano boxes it (it calls it a bus): frame → box.
RED_CAR = {
    214: (307.0, 53.0, 467.0, 304.0),
    215: (308.0, 37.0, 465.0, 296.0),
    216: (308.0, 31.0, 464.0, 272.0),
    217: (307.0, 27.0, 460.0, 264.0),
    218: (310.0, 13.0, 458.0, 242.0),
    219: (307.0, 7.0, 456.0, 235.0),
    220: (307.0, 4.0, 455.0, 223.0),
}
MODEL = ModelInfo(name="yolox_nano", version="3d4f111-float16", sha256="65" * 32)


def read_footage(
    last: int, *, size: tuple[int, int] | None = None, now: bool = False
) -> Iterator[tuple[StreamInfo, Frame]]:
    """Frames 0..`last` of the sample through `AvSource`, stamped at T0 + stream time (or at
    the wall clock when fed, with `now`); `size` makes them a raw camera's frames of that size."""
    source = AvSource(str(sample_video()), live=False)
    info = source.open()
    if size is not None:
        info = StreamInfo(width=size[0], height=size[1], fps=info.fps)
    try:
        while (frame := source.read()) is not None and frame.seq <= last:
            assert frame.pts_s is not None
            stamp = datetime.now(timezone.utc) if now else T0 + timedelta(seconds=frame.pts_s)
            changes: dict[str, object] = {"captured_at": stamp}
            if size is not None:
                changes["image"] = np.asarray(cv2.resize(frame.image, size), dtype=np.uint8)
                changes["packets"] = ()
            yield info, dataclasses.replace(frame, **changes)  # type: ignore[arg-type]
    finally:
        source.close()


def red_light(times: dict[int, datetime], scale: float = 1.0) -> ViolationEvent:
    """The red car's violation: its track up to the key frame, crossing at it."""
    track = [
        {"t": times[seq], "frame_seq": seq, "box": [v * scale for v in box], "score": 0.8}
        for seq, box in RED_CAR.items()
        if seq in times
    ]
    violation = Violation.model_validate(
        {
            "behaviour": "red_light",
            "experimental": False,
            "rule_version": "red_light/1",
            "occurred_at": times[KEY_SEQ],
            "vehicle_class": "bus",
            "track_id": 2,
            "confidence": 0.74,
            "track": track,
            "signal": {
                "phase": "red",
                "source": "fixed_plan",
                "red_onset_at": times[KEY_SEQ] - timedelta(seconds=5),
                "amber_duration_s": 3.0,
                "time_into_red_s": 5.0,
                "grace_s": 0.5,
            },
        }
    )
    return ViolationEvent(violation, KEY_SEQ, 2)


def make_builder(
    outbox: Outbox, buffer: SegmentBuffer | None, ring: FrameRing, **settings: object
) -> EvidenceBuilder:
    facts = BoxFacts(
        device_id="dh-cam-001",
        site_id="dh-ltk-thd",
        camera_id="north",
        location=Location(lat=17.4683, lon=106.6229),
        key=fixed_device_key(),
        software_version="trafficwatch/test",
        config_sha256="c" * 64,
        calibration_sha256="d" * 64,
    )
    sources = CaptureSources(
        model=lambda: MODEL,
        clock=lambda: ClockState(synced=True, source=ClockSource.ntp, offset_ms=1.5),
        fps=lambda: FPS,
    )
    return EvidenceBuilder(
        facts=facts,
        outbox=outbox,
        ring=ring,
        clips=buffer,
        sources=sources,
        settings=EvidenceSettings(**settings),  # type: ignore[arg-type]
    )


def packets(outbox: Outbox) -> list[EvidencePacket]:
    """Every packet in the outbox, verified with the box's public key, oldest first."""
    items = outbox.due(100)
    return [open_packet(item.data, fixed_device_key().public_key()) for item in items]


def decode(data: memoryview | None) -> np.ndarray:
    assert data is not None
    return np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))


def run(
    builder: EvidenceBuilder,
    buffer: SegmentBuffer,
    ring: FrameRing,
    footage: Iterator[tuple[StreamInfo, Frame]],
    *,
    report_at: int,
    paced: bool = False,
    scale: float = 1.0,
) -> dict[int, Frame]:
    """Feed the footage as capture and the rules do; report the violation at `report_at`."""
    kept: dict[int, Frame] = {}
    opened = False
    for info, frame in footage:
        if not opened:
            buffer.on_open(info)
            opened = True
        buffer.add(frame)
        if paced:  # an encoder that keeps up, as on a box with the CPU it needs
            deadline = time.monotonic() + 30
            while buffer.stats["frames_encoded"] < buffer.stats["frames"] - 1:
                assert time.monotonic() < deadline
                time.sleep(0.002)
        ring.add(frame, full=frame.seq in RED_CAR)
        if frame.seq in RED_CAR:
            kept[frame.seq] = frame
        if frame.seq == report_at:
            builder.submit(red_light({s: f.captured_at for s, f in kept.items()}, scale))
    return kept


def test_a_violation_becomes_a_signed_packet_with_its_clip_and_stills(outbox: Outbox) -> None:
    ring = FrameRing()
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900)
    builder = make_builder(outbox, buffer, ring)
    builder.start()
    kept = run(builder, buffer, ring, read_footage(290), report_at=KEY_SEQ + 2)
    builder.stop()
    buffer.close()

    (packet,) = packets(outbox)  # the signature and every part's hash verified
    header = packet.header
    roles = [part.role for part in header.parts]
    assert roles == [
        MediaRole.scene_before,
        MediaRole.scene_at,
        MediaRole.scene_after,
        MediaRole.plate_crop,
        MediaRole.clip,
    ]
    report = verify_packet(packet, fixed_device_key().public_key())
    assert report.present == tuple(roles) and not report.dropped
    assert (header.seq, header.device_id, header.site_id, header.model) == (
        0,
        "dh-cam-001",
        "dh-ltk-thd",
        MODEL,
    )
    assert (header.frame.width, header.frame.height, header.frame.fps) == (768, 432, FPS)
    assert header.violation.occurred_at == kept[KEY_SEQ].captured_at

    scene_at = header.part(MediaRole.scene_at)
    assert scene_at is not None and scene_at.captured_at == kept[KEY_SEQ].captured_at
    picture = decode(packet.part(MediaRole.scene_at))
    assert picture.shape == kept[KEY_SEQ].image.shape
    assert np.mean(np.abs(picture.astype(int) - kept[KEY_SEQ].image.astype(int))) < 4

    clip = header.part(MediaRole.clip)
    assert clip is not None and clip.start_at is not None and clip.end_at is not None
    occurred = header.violation.occurred_at
    assert clip.start_at <= occurred - timedelta(seconds=2)
    assert clip.end_at >= occurred + timedelta(seconds=3) - timedelta(seconds=1 / FPS)
    data = packet.part(MediaRole.clip)
    assert data is not None
    probe = probe_clip(bytes(data))  # decodes whole: it plays
    assert (probe.codec, probe.pix_fmt, probe.fast_start) == ("h264", "yuv420p", True)
    covered = (clip.end_at - clip.start_at).total_seconds()
    assert abs(probe.duration_s - covered) < 1 / FPS
    figures = builder.figures()
    assert (figures.built, figures.dropped, figures.key_frame_missed) == (1, 0, 0)


def test_a_raw_1080p_camera_gives_full_size_scene_at_and_reduced_before_and_after(
    outbox: Outbox,
) -> None:
    ring = FrameRing(small_width=1280)
    buffer = SegmentBuffer(pre_roll_s=1, post_roll_s=1.5, bitrate_kbps=900)
    builder = make_builder(outbox, buffer, ring, pre_roll_s=1, post_roll_s=1.5)
    builder.start()
    scale = 1920 / 768
    footage = (
        (info, f) for info, f in read_footage(240, size=(1920, 1080)) if f.seq >= KEY_SEQ - 20
    )
    original = run(builder, buffer, ring, footage, report_at=KEY_SEQ + 1, paced=True, scale=scale)
    builder.stop()
    buffer.close()

    (packet,) = packets(outbox)
    header = packet.header
    sizes = {p.role: (p.width, p.height) for p in header.parts}
    assert sizes[MediaRole.scene_at] == (1920, 1080)
    assert sizes[MediaRole.scene_before] == sizes[MediaRole.scene_after] == (1280, 720)
    assert sizes[MediaRole.clip] == (1920, 1080)
    for role in (MediaRole.scene_before, MediaRole.scene_at, MediaRole.scene_after):
        assert decode(packet.part(role)).shape[1::-1] == sizes[role]
    # The plate crop: the key frame's own pixels within the car's box, one for one.
    crop = decode(packet.part(MediaRole.plate_crop))
    frame = original[KEY_SEQ].image
    match = cv2.matchTemplate(frame, crop, cv2.TM_SQDIFF)
    left, top = cv2.minMaxLoc(match)[2]
    region = frame[top : top + crop.shape[0], left : left + crop.shape[1]]
    assert np.mean(np.abs(region.astype(int) - crop.astype(int))) < 4  # never rescaled
    x1, y1, x2, y2 = (v * scale for v in RED_CAR[KEY_SEQ])
    assert x1 - 1 <= left and left + crop.shape[1] <= x2 + 1
    assert y1 - 1 <= top and top + crop.shape[0] <= y2 + 1
    probe = probe_clip(bytes(packet.part(MediaRole.clip) or b""))
    assert (probe.width, probe.height) == (1920, 1080)


def test_stopping_during_the_post_roll_still_puts_the_packet_in_the_outbox(
    outbox: Outbox,
) -> None:
    ring = FrameRing()
    buffer = SegmentBuffer(pre_roll_s=2, post_roll_s=3, bitrate_kbps=900)
    builder = make_builder(outbox, buffer, ring)
    builder.start()
    kept = run(builder, buffer, ring, read_footage(KEY_SEQ + 6, now=True), report_at=KEY_SEQ + 2)
    stopped_at = datetime.now(timezone.utc)
    occurred = kept[KEY_SEQ].captured_at
    assert stopped_at < occurred + timedelta(seconds=3)  # the post-roll is still running
    buffer.close()  # the agent's stop order: capture, ..., rules, segment buffer, builder
    builder.stop()

    (packet,) = packets(outbox)
    clip = packet.header.part(MediaRole.clip)
    assert clip is not None and clip.end_at is not None
    assert clip.end_at < occurred + timedelta(seconds=3)  # cut short to what was recorded
    probe_clip(bytes(packet.part(MediaRole.clip) or b""))  # and it plays
    assert packet.header.part(MediaRole.scene_at) is not None
    assert builder.figures().built == 1


def test_a_full_queue_drops_an_event_and_counts_it_and_the_rest_are_built(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    ring = FrameRing()
    builder = make_builder(outbox, None, ring, queue_size=1, post_roll_s=3)
    now = datetime.now(timezone.utc)
    frames = {
        seq: Frame(
            np.zeros((432, 768, 3), np.uint8), seq, now + timedelta(seconds=(seq - 214) / FPS), 0.0
        )
        for seq in RED_CAR
    }
    for frame in frames.values():
        ring.add(frame, full=True)
    times = {seq: f.captured_at for seq, f in frames.items()}
    builder.submit(red_light(times))  # not started: refused, counted
    builder.start()
    builder.submit(red_light(times))
    deadline = time.monotonic() + 30
    while builder.figures().pending:  # the builder takes it and waits for its post-roll
        assert time.monotonic() < deadline
        time.sleep(0.01)
    builder.submit(red_light(times))  # waits in the queue
    builder.submit(red_light(times))  # no room: dropped, counted
    builder.stop()
    figures = builder.figures()
    assert (figures.submitted, figures.built, figures.dropped) == (4, 2, 2)
    assert "dropped" in caplog.text
    assert [p.header.seq for p in packets(outbox)] == [0, 1]


def test_sequence_numbers_are_reserved_durably_and_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path, min_free_bytes=None)
    counter = SequenceCounter(first)
    assert [counter.reserve(), counter.reserve()] == [0, 1]
    first.close()
    second = Outbox(path, min_free_bytes=None)
    assert SequenceCounter(second).reserve() == 2  # survives a restart
    SequenceCounter(second).ensure_above(40)  # the server already holds up to 40
    assert SequenceCounter(second).reserve() == 41
    second.close()


def test_submit_returns_before_the_post_roll_is_over(outbox: Outbox) -> None:
    ring = FrameRing()
    builder = make_builder(outbox, None, ring, post_roll_s=3)
    builder.start()
    frame = Frame(np.zeros((432, 768, 3), np.uint8), KEY_SEQ, datetime.now(timezone.utc), 0.0)
    ring.add(frame, full=True)
    builder.submit(red_light({KEY_SEQ: frame.captured_at}))
    assert builder.figures().built == 0  # the packet waits for the post-roll, the rules do not
    builder.stop()
    assert builder.figures().built == 1
