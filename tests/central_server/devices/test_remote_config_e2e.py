"""End to end over a real broker: the staff API, the server's control client and a supervised
box. A config push applies (the box runs the new hash and says so) and one rolls back (a camera
that delivers no frames); every command is answered."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from central_server.devices.control import ControlService
from central_server.roles import Role
from central_server.settings import Settings
from edge_agent.agent.config_loader import load_config
from edge_agent.remote.logs import RecentLog
from protocol.config import config_sha256
from protocol.keys import public_key_to_pem
from tests.central_server.api.harness import ApiEnv, api_env_for
from tests.edge_agent.remote.box import BoxFiles, make_box, supervised
from tests.factories import fixed_device_key
from tests.factories_db import make_device, make_device_key
from tests.fixtures.brokers import BrokerEndpoint, free_port
from tests.fixtures.db import Database

# End to end through real processes and brokers: in the slow suite (.ci/run runs it).
pytestmark = pytest.mark.slow

WAIT_S = 60.0


@pytest.fixture
def box(tmp_path: Path, broker: BrokerEndpoint) -> BoxFiles:
    return make_box(tmp_path / "box", broker)


@pytest.fixture
def api_env(db: Database, tmp_path: Path, box: BoxFiles) -> Iterator[ApiEnv]:
    """The staff API; the box is enrolled and trusts this server's key."""
    for env in api_env_for(db, tmp_path / "server"):
        with db.session() as session:
            make_device(session, id=box.device_id)
            make_device_key(session, private_key=fixed_device_key(), device_id=box.device_id)
        env.clock.now = datetime.now(timezone.utc)  # the box checks expiries by its own clock
        server_public = public_key_to_pem(env.server_key.public_key())
        (box.root / "server_public_key.pem").write_bytes(server_public)
        yield env


@pytest.fixture
def control(
    api_env: ApiEnv, broker: BrokerEndpoint, tmp_path: Path, box: BoxFiles
) -> Iterator[ControlService]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "server",
        database_url=api_env.db.url,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        topic_prefix=broker.topic_prefix,
    )
    service = ControlService(
        settings,
        api_env.db.engine,
        api_env.store,
        client_id=broker.client_id("control"),
        poll_s=0.2,
    )
    service.start()
    assert service.wait_ready(10)
    yield service
    topic = f"{broker.topic_prefix}/{box.device_id}/config"
    service.client.publish(topic, b"", retain=True)  # leave a shared broker clean
    service.stop()


def until(fetch: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(0.2)
    raise AssertionError(f"not reached in time: {value}")


def test_a_push_applies_and_a_broken_one_rolls_back(
    api_env: ApiEnv, control: ControlService, box: BoxFiles
) -> None:
    client = api_env.as_token(api_env.user(Role.admin))
    url = f"/api/v1/devices/{box.device_id}/config"
    good = box.config(tracker={"buffer_frames": 20})
    dead_camera = {"source": f"rtsp://127.0.0.1:{free_port()}/none", "kind": "rtsp"}
    broken = box.config(camera=dead_camera)

    def state_of(version: int) -> Callable[[dict[str, Any]], bool]:
        return lambda view: (
            view["desired"]["version"] == version
            and view["desired"]["state"] not in ("pending", "published")
        )

    with supervised(box, trial_s=3):
        assert client.post(url, json={"config": good.model_dump(mode="json")}).status_code == 201
        applied = until(lambda: client.get(url).json(), state_of(1))
        assert client.post(url, json={"config": broken.model_dump(mode="json")}).status_code == 201
        rolled = until(lambda: client.get(url).json(), state_of(2))

    assert applied["desired"]["state"] == "applied"
    assert applied["desired"]["running_sha256"] == config_sha256(good)
    assert applied["desired"]["published_at"] is not None
    assert rolled["desired"]["state"] == "rolled_back"
    assert "no frames for 3 s" in rolled["desired"]["message"]
    assert rolled["applied"]["version"] == 1
    assert rolled["desired"]["running_sha256"] == config_sha256(good)  # still on version 1
    assert config_sha256(load_config(box.config_path)) == config_sha256(good)


def test_every_command_is_answered(
    api_env: ApiEnv, control: ControlService, box: BoxFiles, caplog: pytest.LogCaptureFixture
) -> None:
    client = api_env.as_token(api_env.user(Role.admin))
    url = f"/api/v1/devices/{box.device_id}/commands"

    def run(args: dict[str, Any]) -> dict[str, Any]:
        sent = client.post(url, json={"args": args})
        assert sent.status_code == 202, sent.text
        cid = uuid.UUID(sent.json()["id"])
        answered = until(lambda: client.get(f"{url}/{cid}").json(), lambda c: c["answered_at"])
        return dict(answered)

    caplog.set_level(logging.INFO)
    log = RecentLog()
    logging.getLogger().addHandler(log)
    try:
        with supervised(box, log=log) as supervisor:
            until(lambda: {"frame": supervisor.frames.get()}, lambda v: v["frame"] is not None)
            answers = {
                args["name"]: run(args)
                for args in (
                    {"name": "snapshot", "max_width": 160},
                    {"name": "log_upload"},
                    {"name": "dead_letter_resend", "packet_ids": [str(uuid.uuid4())]},
                    {"name": "restart", "reason": "kiểm tra / check"},
                )
            }
    finally:
        logging.getLogger().removeHandler(log)

    assert {name: a["result"] for name, a in answers.items()} == dict.fromkeys(answers, "ok")
    snapshot = client.get(f"{url}/{answers['snapshot']['id']}/snapshot")
    image = cv2.imdecode(np.frombuffer(snapshot.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (120, 160, 3)
    log_file = client.get(f"{url}/{answers['log_upload']['id']}/log")
    assert log_file.status_code == 200 and b"running command" in log_file.content
    assert "not found" in answers["dead_letter_resend"]["message"]
    assert "restarting" in answers["restart"]["message"]
