"""`trafficwatch agent run` rolls back a config it died trying before it loads anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from edge_agent.remote.files import ConfigFiles
from edge_agent.remote.state import StateStore, Trial
from tests.edge_agent.capture.media import ROOT
from tests.edge_agent.remote.box import merge


def test_the_agent_rolls_back_an_interrupted_trial_before_it_starts(tmp_path: Path) -> None:
    good = {
        "device": {
            "id": "cam-cli-01",
            "site_id": "dh-ltk-thd",
            "camera_id": "north",
            "location": {"lat": 17.4683, "lon": 106.6229},
        },
        "camera": {"source": str(tmp_path / "none.mp4"), "kind": "file"},
        "rules": {"enabled": []},
        "outbox": {"path": str(tmp_path / "outbox.sqlite3")},
        # No server key on this box: the agent stops at start-up, after the rollback.
        "keys": {"server_public_key": str(tmp_path / "absent.pem")},
    }
    files = ConfigFiles(tmp_path / "site.yaml")
    files.path.write_text(yaml.safe_dump(good), encoding="utf-8")
    files.install(yaml.safe_dump(merge(good, {"tracker": {"buffer_frames": 9}})))
    with StateStore(files.state).update() as state:
        state.seen_version, state.trial = 4, Trial(4, "ab" * 32, 0.0)

    command = [sys.executable, "-m", "trafficwatch.cli", "agent", "run", "--config"]
    done = subprocess.run(
        [*command, str(files.path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 2, done.stderr
    assert "keys.server_public_key" in done.stderr
    assert "rolling back" in done.stderr
    assert yaml.safe_load(files.path.read_text(encoding="utf-8")) == good
    assert StateStore(files.state).read().trial is None
    (spooled,) = sorted(files.replies.glob("*.json"))
    report = json.loads(spooled.read_text(encoding="utf-8"))
    assert (report["name"], report["result"], report["config"]["state"]) == (
        "config",
        "failed",
        "rolled_back",
    )
    assert report["config"]["version"] == 4
