"""`trafficwatch server api|ingest|scheduler` refuse to start on a schema older than the code
(the units migrate in the API's ExecStartPre; a process started against an old database must not
serve or consume), the API refuses a database it cannot reach, and `/readyz` answers 503 when
the schema falls behind or the database goes away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from central_server.app import create_app
from central_server.db import downgrade, make_engine
from central_server.settings import Settings
from tests.central_server.api.harness import auth_settings
from tests.fixtures.brokers import free_port
from tests.fixtures.db import Database

# End to end through real processes and brokers: in the slow suite (.ci/run runs it).
pytestmark = pytest.mark.slow

TRAFFICWATCH = str(Path(sys.executable).parent / "trafficwatch")
REFUSAL = "trafficwatch server migrate"


def _run(command: list[str], database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TW_")}
    env |= {
        "TW_ENV_FILE": "/dev/null",
        "TW_DATA_DIR": str(cwd),
        "TW_DATABASE_URL": database_url,
        "TW_MQTT_PORT": str(free_port()),  # nobody there: nothing may get as far as the broker
        "TW_API_PORT": str(free_port()),
    }
    return subprocess.run(
        [TRAFFICWATCH, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


@pytest.mark.parametrize(
    "command",
    [["server", "api"], ["server", "ingest"], ["server", "scheduler", "--once"]],
    ids=lambda c: c[1],
)
def test_a_process_refuses_an_old_schema(db: Database, tmp_path: Path, command: list[str]) -> None:
    downgrade(db.url, "0005")
    done = _run(command, db.url, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert REFUSAL in done.stderr
    # The ingest checks before its device-control client starts, not only in the ingest itself.
    assert "central_server.devices.control" not in done.stderr


def test_the_api_refuses_a_database_it_cannot_reach(tmp_path: Path) -> None:
    closed = f"postgresql://nobody:x@127.0.0.1:{free_port()}/none?connect_timeout=2"
    done = _run(["server", "api"], closed, tmp_path)
    assert done.returncode == 1
    assert "Không kết nối được CSDL / cannot reach the database" in done.stderr
    assert "Traceback" not in done.stderr


def test_readyz_takes_the_api_out_of_service_on_an_old_or_lost_database(
    db: Database, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=db.url)
    app = create_app(settings, db.engine, auth_settings=auth_settings())
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {"status": "ok"}
        downgrade(db.url, "0005")
        outdated = client.get("/readyz")
    assert (outdated.status_code, outdated.json()) == (503, {"status": "schema_outdated"})

    lost = make_engine(f"postgresql://nobody:x@127.0.0.1:{free_port()}/none?connect_timeout=2")
    with TestClient(create_app(settings, lost, auth_settings=auth_settings())) as client:
        answer = client.get("/readyz")
    assert (answer.status_code, answer.json()) == (503, {"status": "database_unreachable"})
