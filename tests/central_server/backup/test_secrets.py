"""Keys and secrets: the env file and the broker's directory go into the backup owner-only and
come back with their modes; what the restore was not told where to put is named, not dropped."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from central_server.backup.cli import backup, restore
from tests.central_server.backup.conftest import System, Target

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def broker_dir(tmp_path: Path) -> Path:
    """A `server broker-acl --out` directory: a CA key, a broker key the broker's group reads."""
    root = tmp_path / "broker"
    (root / "tls").mkdir(parents=True)
    for name, mode in (("tls/ca.key", 0o600), ("tls/server.key", 0o640), ("tls/ca.crt", 0o644)):
        (root / name).write_text(f"-----{name}-----\n")
        (root / name).chmod(mode)
    (root / "acl").write_text("user ingest\ntopic read tw/v1/+/evidence\n")
    return root


def test_env_file_and_broker_dir_round_trip(
    server_env: System,
    target: Target,
    broker_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = tmp_path / "trafficwatch.env"
    env.write_text("TW_SECRET_KEY=" + "k" * 48 + "\n")
    out = tmp_path / "backups"
    assert backup(["--out", str(out), "--env-file", str(env), "--broker-dir", str(broker_dir)]) == 0
    generation = next(out.glob("backup-*"))
    manifest = json.loads((generation / "manifest.json").read_text())
    modes = {entry["path"].split("/", 1)[1]: entry["mode"] for entry in manifest["files"]}
    assert modes["config/env"] == "0600"
    assert modes["broker/tls/ca.key"] == "0600"
    assert modes["broker/tls/server.key"] == "0640"  # the broker's group still reads it
    assert modes["broker/tls/ca.crt"] == "0644"  # a certificate is public
    assert all(_mode(p) == 0o600 for p in generation.rglob("*") if p.is_file())
    new_env, new_broker = tmp_path / "restored.env", tmp_path / "restored-broker"
    argv = ["--from", str(out), *target.args(), "--env-file", str(new_env)]
    assert restore([*argv, "--broker-dir", str(new_broker)]) == 0
    assert new_env.read_text() == env.read_text() and _mode(new_env) == 0o600
    assert (new_broker / "tls/ca.key").read_text() == (broker_dir / "tls/ca.key").read_text()
    assert _mode(new_broker / "tls/ca.key") == 0o600
    assert _mode(new_broker / "tls/server.key") == 0o640
    assert _mode(new_broker / "tls/ca.crt") == 0o644


def test_secrets_without_a_destination_are_named(
    server_env: System,
    target: Target,
    broker_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "backup.tar"
    assert backup(["--out", str(out), "--no-env-file", "--broker-dir", str(broker_dir)]) == 0
    capsys.readouterr()
    assert restore(["--from", str(out), *target.args()]) == 0
    err = capsys.readouterr().err
    assert "broker/tls/ca.key: không khôi phục / not restored (give --broker-dir)" in err
