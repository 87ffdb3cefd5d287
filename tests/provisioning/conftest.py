"""Fixtures for the technician's CLI: the real API served over HTTP, a local SNTP responder, a
camera (a video file), a model store, and a helper that runs `trafficwatch provision ...`."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from fastapi import FastAPI

from tests.central_server.api.harness import ApiEnv
from tests.central_server.devices.enrolment_helpers import enrolment_env, new_token
from tests.edge_agent.capture.media import moving_square, write_video
from tests.fixtures.brokers import free_port
from tests.fixtures.db import Database
from trafficwatch.cli import main

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)


@dataclass
class Result:
    """What a `trafficwatch` run printed and returned."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """stdout as JSON (commands given --json)."""
        return json.loads(self.out)


Provision = Callable[..., Result]


@pytest.fixture
def provision(capsys: pytest.CaptureFixture[str]) -> Provision:
    """Run `trafficwatch provision <args>` in this process; its exit code and output."""

    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        code = main(["provision", *map(str, args)])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app on uvicorn in a thread, on a free port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Live:
    """The server as the box sees it: its URL, and the test's view of its database."""

    url: str
    env: ApiEnv

    def token(self, **kw: Any) -> str:
        """A fresh enrolment token for the test site."""
        return new_token(self.env, **kw)


@pytest.fixture
def live(db: Database, tmp_path: Path) -> Iterator[Live]:
    """The real API over HTTP on the test database."""
    envs = enrolment_env(db, tmp_path / "server", device_mqtt_host="127.0.0.1")
    env = next(envs)
    try:
        with serve(env.app) as url:
            yield Live(url, env)
    finally:
        envs.close()


def _sntp_reply(request: bytes, shift_s: float) -> bytes:
    now = time.time() + shift_s + NTP_EPOCH_OFFSET
    seconds, fraction = int(now), int((now % 1) * 2**32)
    stamp = struct.pack("!II", seconds, fraction)
    header = struct.pack("!BBbbII4s", 0x1C, 1, 6, -20, 0, 0, b"GPS\0")  # v3, server, stratum 1
    originate = request[40:48]  # the client's transmit time, echoed
    return header + stamp + originate + stamp + stamp


@pytest.fixture
def sntp() -> Iterator[Callable[[float], str]]:
    """Factory: a local SNTP responder whose clock is `shift_s` seconds off; returns host:port."""
    sockets: list[socket.socket] = []

    def start(shift_s: float) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)

        def answer() -> None:
            while True:
                try:
                    request, client = sock.recvfrom(512)
                except OSError:
                    return  # closed at teardown
                if len(request) >= 48:
                    sock.sendto(_sntp_reply(request, shift_s), client)

        threading.Thread(target=answer, name="test-sntp", daemon=True).start()
        return f"127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for sock in sockets:
        sock.close()


@pytest.fixture
def camera_clip(tmp_path: Path) -> Path:
    """A 4 s, 25 fps, 320×240 H.264 clip: the box's camera in these tests."""
    return write_video(tmp_path / "camera.mp4", moving_square(100))


@dataclass(frozen=True)
class ModelStore:
    """A manifest with one small model and the folder it is installed in."""

    manifest: Path
    models_dir: Path
    model_file: Path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def model_store(tmp_path: Path) -> ModelStore:
    """A one-model manifest (weights are stand-in bytes: only their hash is checked)."""
    weights, labels = b"TFL3" + bytes(range(256)) * 8, b"car\nmotorbike\n"
    entry = {
        "name": "tiny_test",
        "version": "1",
        "default": True,
        "file": "tiny.tflite",
        "size": len(weights),
        "sha256": _sha(weights),
        "url": "file:///nonexistent/tiny.tflite",
        "source": "tests",
        "licence": "Apache-2.0",
        "input": {
            "width": 32,
            "height": 32,
            "layout": "NHWC",
            "dtype": "uint8",
            "colour": "RGB",
            "resize": "stretch",
        },
        "output_format": "ssd_postprocess",
        "labels": {
            "file": "labels.txt",
            "size": len(labels),
            "sha256": _sha(labels),
            "names": ["car", "motorbike"],
        },
        "score_thresholds": {"car": 0.3},
    }
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"manifest_version": 1, "models": [entry]}))
    folder = tmp_path / "models" / "tiny_test"
    folder.mkdir(parents=True)
    (folder / "tiny.tflite").write_bytes(weights)
    (folder / "labels.txt").write_bytes(labels)
    return ModelStore(manifest, tmp_path / "models", folder / "tiny.tflite")
