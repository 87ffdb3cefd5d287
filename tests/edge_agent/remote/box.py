"""A box under remote control for tests: its files, a supervised agent with a stand-in detector,
and a stand-in centre that signs configs and commands with the TEST-ONLY server key."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from edge_agent.agent.assemble import build_agent
from edge_agent.agent.config_loader import load_config
from edge_agent.agent.runtime import Agent
from edge_agent.remote.config_apply import TrialLimits
from edge_agent.remote.logs import RecentLog
from edge_agent.remote.supervisor import RemoteOptions, Supervisor
from protocol.commands import Command, CommandReply, open_reply, seal_command
from protocol.config import DeviceConfig, SignedConfig, seal_config
from protocol.keys import Ed25519PrivateKey, private_key_to_pem, public_key_to_pem
from protocol.status import StatusHeartbeat, decode_status
from protocol.topics import Topics
from tests.edge_agent.agent.fakes import BrightBoxDetector
from tests.edge_agent.capture.media import moving_square, write_video
from tests.factories import fixed_device_key, fixed_server_key
from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient

WAIT_S = 60.0


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra` merged in, nested mappings key by key."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class BoxFiles:
    """A box's folder: keys, a video, its site.yaml."""

    root: Path
    device_id: str
    broker: BrokerEndpoint
    video: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        """The running config file."""
        return self.root / "site.yaml"

    def write(self, **overrides: Any) -> Path:
        """Write site.yaml (the technician's config) with `overrides` merged in."""
        self.data = merge(self.base(), overrides)
        self.config_path.write_text(yaml.safe_dump(self.data), encoding="utf-8")
        return self.config_path

    def base(self) -> dict[str, Any]:
        """A box reading the video in real time, no rules, talking to the test broker."""
        return {
            "device": {
                "id": self.device_id,
                "site_id": "dh-ltk-thd",
                "camera_id": "north",
                "location": {"lat": 17.4683, "lon": 106.6229},
            },
            "camera": {"source": str(self.video), "kind": "file", "width": 320, "height": 240},
            "mqtt": {
                "host": self.broker.host,
                "port": self.broker.port,
                "topic_prefix": self.broker.topic_prefix,
            },
            "rules": {"enabled": []},
            "health": {"heartbeat_s": 1},
            "outbox": {
                "path": str(self.root / "outbox" / "outbox.sqlite3"),
                "max_bytes": 64 * 1024 * 1024,
                "min_free_bytes": 0,
                "dead_letter_path": str(self.root / "dead_letters"),
            },
            "keys": {
                "device_key": str(self.root / "device_key.pem"),
                "server_public_key": str(self.root / "server_public_key.pem"),
            },
        }

    def config(self, **overrides: Any) -> DeviceConfig:
        """The running config with `overrides` (a config to push)."""
        return DeviceConfig.model_validate(merge(self.data, overrides))


def make_box(root: Path, broker: BrokerEndpoint, seconds: int = 30) -> BoxFiles:
    """A box folder with the TEST-ONLY keys and a `seconds`-long synthetic video."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "device_key.pem").write_bytes(private_key_to_pem(fixed_device_key()))
    server_public = public_key_to_pem(fixed_server_key().public_key())
    (root / "server_public_key.pem").write_bytes(server_public)
    video = write_video(root / "square.mp4", moving_square(25 * seconds))
    box = BoxFiles(root, broker.client_id("box"), broker, video)
    box.write()
    return box


def build(config: DeviceConfig) -> Agent:
    """The real agent with the bright-box detector (no model files needed)."""
    return build_agent(config, make_detector=BrightBoxDetector)


@contextmanager
def supervised(
    box: BoxFiles,
    trial_s: float = 20.0,
    builder: Callable[[DeviceConfig], Agent] = build,
    log: RecentLog | None = None,
) -> Iterator[Supervisor]:
    """The box's agent under a supervisor, in a thread; stopped (and joined) at the end."""
    options = RemoteOptions(trial=TrialLimits(no_frames_s=trial_s))
    supervisor = Supervisor(box.config_path, load_config(box.config_path), builder, options, log)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(supervisor.run()), name="test-box")
    thread.start()
    try:
        yield supervisor
    finally:
        supervisor.request_stop()
        thread.join(WAIT_S)
        assert not thread.is_alive(), "the supervisor did not stop"
    assert codes == [0]


class Centre:
    """The server's side of the wire, reduced to signing, publishing and reading replies."""

    def __init__(
        self, box: BoxFiles, key: Ed25519PrivateKey | None = None, role: str = "centre"
    ) -> None:
        self.box = box
        self.key = key or fixed_server_key()
        self.topics = Topics(box.broker.topic_prefix)
        broker = box.broker
        self.client = MqttTestClient(broker.host, broker.port, broker.client_id(role))
        self.client.connect()
        self.client.subscribe(self.topics.reply(box.device_id))
        self.client.subscribe(self.topics.status(box.device_id))
        self.replies: queue.Queue[CommandReply] = queue.Queue()
        self.statuses: queue.Queue[StatusHeartbeat] = queue.Queue()

    def close(self) -> None:
        """Clear the retained config (the broker may be shared) and disconnect."""
        self.client.publish(self.topics.config(self.box.device_id), b"", retain=True)
        self.client.close()

    def push(self, version: int, config: DeviceConfig, device_id: str | None = None) -> None:
        """Publish a signed config, retained, as the control client does."""
        signed = SignedConfig(
            device_id=device_id or self.box.device_id,
            version=version,
            issued_at=datetime.now(timezone.utc),
            config=config,
        )
        topic = self.topics.config(self.box.device_id)
        self.client.publish(topic, seal_config(signed, self.key), retain=True).wait_for_publish(10)

    def command(self, args: dict[str, Any], *, ttl_s: float = 300, **extra: Any) -> uuid.UUID:
        """Publish a signed command; returns its id."""
        now = datetime.now(timezone.utc)
        fields = {
            "command_id": uuid.uuid4(),
            "device_id": self.box.device_id,
            "issued_at": now,
            "expires_at": now + timedelta(seconds=ttl_s),
            "args": args,
        }
        command = Command.model_validate(fields | extra)
        self.send(seal_command(command, self.key))
        return command.command_id

    def send(self, sealed: bytes) -> None:
        """Publish sealed bytes on the box's cmd topic."""
        self.client.publish(self.topics.cmd(self.box.device_id), sealed).wait_for_publish(10)

    def reply(self, command_id: uuid.UUID | None = None, timeout: float = WAIT_S) -> CommandReply:
        """The next reply (for `command_id`, when given), verified with the device key."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._drain(min(1.0, max(deadline - time.monotonic(), 0.01)))
            found = self._take(command_id)
            if found is not None:
                return found
        raise AssertionError(f"no reply {command_id} within {timeout} s")

    def status(self, wanted: Callable[[StatusHeartbeat], bool]) -> StatusHeartbeat:
        """The first heartbeat for which `wanted` holds."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            self._drain(1.0)
            while not self.statuses.empty():
                status = self.statuses.get_nowait()
                if wanted(status):
                    return status
        raise AssertionError("no such status in time")

    def _take(self, command_id: uuid.UUID | None) -> CommandReply | None:
        kept, found = [], None
        while not self.replies.empty():
            reply = self.replies.get_nowait()
            if found is None and command_id in (None, reply.command_id):
                found = reply
            else:
                kept.append(reply)
        for reply in kept:
            self.replies.put(reply)
        return found

    def _drain(self, timeout: float) -> None:
        try:
            message = self.client.next_message(timeout)
        except queue.Empty:
            return
        while True:
            payload = bytes(message.payload)
            if message.topic.endswith("/reply"):
                self.replies.put(open_reply(payload, fixed_device_key().public_key()))
            elif payload:
                self.statuses.put(decode_status(payload))
            try:
                message = self.client.next_message(0.01)
            except queue.Empty:
                return
