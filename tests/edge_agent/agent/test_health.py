"""Heartbeats: rates over the last period, camera and outbox alarms, temperature and clock."""

from __future__ import annotations

from pathlib import Path

from edge_agent.agent.health import (
    Health,
    Outside,
    PipelineSnapshot,
    clock_state,
    read_temperature,
)
from protocol.enums import CameraProblem, DeviceState
from protocol.status import decode_status, encode_status


def snapshot(
    at: float, frames: int, cpu_s: float, problems: list[CameraProblem]
) -> PipelineSnapshot:
    return PipelineSnapshot(
        at=at,
        frames_in=frames,
        frames_processed=frames // 2,
        dropped_frames=2,
        stage_items={"capture": frames, "detect": frames // 2},
        stage_cpu_s={"capture": cpu_s, "detect": 4 * cpu_s},
        queue_depths={"frames": 1},
        detection_latency_ms=21.5,
        camera_problems=problems,
    )


def test_a_heartbeat_reports_the_last_period_and_round_trips() -> None:
    snapshots = iter([snapshot(100.0, 0, 0.0, []), snapshot(110.0, 250, 0.5, [])])
    health = Health(
        device_id="cam-001",
        snapshot=lambda: next(snapshots),
        publish=None,
        period_s=10,
        outside=Outside(disk_path=Path("/")),
        software_version="trafficwatch/test",
    )
    health.start()
    health.stop()  # the baseline snapshot was taken at start
    beat = health.heartbeat()

    assert beat.state is DeviceState.online
    assert beat.metrics is not None
    pipeline = beat.metrics.pipeline
    assert pipeline.fps_in == 25.0
    assert pipeline.fps_processed == 12.5
    assert pipeline.cpu_ms_per_frame == {"capture": 2.0, "detect": 16.0}
    assert pipeline.dropped_frames == 2 and pipeline.queue_depths == {"frames": 1}
    assert pipeline.detection_latency_ms == 21.5
    assert beat.metrics.disk.total_bytes > 0
    assert decode_status(encode_status(beat)) == beat


def test_camera_problems_make_the_box_degraded_with_a_vietnamese_alarm() -> None:
    health = Health(
        device_id="cam-001",
        snapshot=lambda: snapshot(5.0, 10, 0.1, [CameraProblem.disconnected]),
        publish=None,
        period_s=10,
        outside=Outside(disk_path=Path("/"), outbox_alarm=lambda: True),
    )
    beat = health.heartbeat()
    assert beat.state is DeviceState.degraded
    assert beat.metrics is not None
    assert beat.metrics.camera_problems == [CameraProblem.disconnected]
    alarms = {a.code: a.message for a in beat.metrics.alarms}
    assert alarms["camera_disconnected"].startswith("Mất kết nối camera")
    assert "evidence_dropped" in alarms
    first_since = beat.metrics.alarms[0].since
    again = health.heartbeat()
    assert again.metrics is not None and again.metrics.alarms[0].since == first_since


def test_temperature_comes_from_the_first_thermal_zone(tmp_path: Path) -> None:
    zone = tmp_path / "thermal_zone0"
    zone.mkdir()
    (zone / "temp").write_text("48312\n")
    assert read_temperature(tmp_path) == 48.312
    assert read_temperature(tmp_path / "none") is None


def test_clock_state_is_reported_either_way() -> None:
    state = clock_state()
    assert state.synced in (True, False)
    assert (state.source.value == "ntp") == state.synced
