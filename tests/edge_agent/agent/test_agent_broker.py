"""The whole agent on the sample video against a real broker: start, heartbeat, clean stop."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import time
from pathlib import Path

from edge_agent.agent.assemble import build_agent
from edge_agent.agent.config_loader import load_config
from protocol.config import config_sha256
from protocol.enums import DeviceState
from protocol.status import StatusHeartbeat, decode_status
from protocol.topics import Topics
from tests.edge_agent.agent.conftest import ConfigWriter
from tests.edge_agent.capture.media import ROOT, sample_video
from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient

WAIT_S = 60.0
START_ORDER = [
    "outbox",
    "publisher",
    "rules",
    "track",
    "detect",
    "capture",
    "health",
    "watchdog",
]


def site_config(write_config: ConfigWriter, broker: BrokerEndpoint) -> Path:
    return write_config(
        sample_video(),
        device={"id": broker.client_id("agent")},
        mqtt={"host": broker.host, "port": broker.port, "topic_prefix": broker.topic_prefix},
        detector={"model": "yolox_nano", "every_nth_frame": 2},
        health={"heartbeat_s": 1},
    )


def next_status(watcher: MqttTestClient, wanted: object) -> StatusHeartbeat:
    """The first status message for which `wanted(status)` holds."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            message = watcher.next_message(timeout=1.0)
        except queue.Empty:
            continue
        status = decode_status(bytes(message.payload))
        if wanted(status):  # type: ignore[operator]
            return status
    raise AssertionError("no such status message in time")


def working(status: StatusHeartbeat) -> bool:
    m = status.metrics
    return m is not None and m.pipeline.fps_in > 0 and m.pipeline.fps_processed > 0


def offline(status: StatusHeartbeat) -> bool:
    return status.state is DeviceState.offline


def retained_status(broker: BrokerEndpoint, topic: str) -> StatusHeartbeat:
    with MqttTestClient(broker.host, broker.port, broker.client_id("late")) as late:
        late.connect()
        late.subscribe(topic)
        return decode_status(bytes(late.next_message(timeout=10).payload))


def test_the_agent_runs_reports_its_health_and_stops_in_reverse_order(
    broker: BrokerEndpoint, write_config: ConfigWriter, models_dir: Path
) -> None:
    config = load_config(site_config(write_config, broker))
    topic = Topics(broker.topic_prefix).status(config.device.id)
    agent = build_agent(config, models_dir=models_dir)
    with MqttTestClient(broker.host, broker.port, broker.client_id("watcher")) as watcher:
        watcher.connect()
        watcher.subscribe(topic)
        agent.start()
        try:
            beat = next_status(watcher, working)
        finally:
            code = agent.stop()
        next_status(watcher, offline)

    assert code == 0
    assert agent.start_order == START_ORDER
    assert agent.stop_order == list(reversed(START_ORDER))
    assert beat.state is DeviceState.online and beat.metrics is not None
    assert beat.metrics.config_sha256 == config_sha256(config)
    assert beat.metrics.pipeline.detection_latency_ms is not None
    cpu = beat.metrics.pipeline.cpu_ms_per_frame
    assert set(cpu) == {"capture", "detect", "track", "rules", "other"}
    assert beat.metrics.camera_problems == []
    assert retained_status(broker, topic).state is DeviceState.offline


def test_trafficwatch_agent_run_stops_cleanly_on_sigterm(
    broker: BrokerEndpoint, write_config: ConfigWriter, models_dir: Path
) -> None:
    path = site_config(write_config, broker)
    topic = Topics(broker.topic_prefix).status(broker.client_id("agent"))
    command = [sys.executable, "-m", "trafficwatch.cli", "agent", "run", "--config", str(path)]
    with MqttTestClient(broker.host, broker.port, broker.client_id("watcher")) as watcher:
        watcher.connect()
        watcher.subscribe(topic)
        process = subprocess.Popen(
            [*command, "--models-dir", str(models_dir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            next_status(watcher, working)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=WAIT_S)
        next_status(watcher, offline)

    assert process.returncode == 0, output
    stops = [line.split("stopping ")[1] for line in output.splitlines() if "stopping " in line]
    assert stops == list(reversed(START_ORDER))
    assert "no violation rules are implemented yet" in output
