"""`trafficwatch server broker-acl`: files and their modes, idempotent runs, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central_server.broker.cli import main
from central_server.broker.passwords import hash_password
from central_server.devices.models_enrolment import DeviceBrokerCredential
from tests.central_server.broker.conftest import (
    BOX_A,
    BOX_B,
    REVOKED,
    broker_settings,
    enrol_boxes,
)
from tests.factories_db import make_device, make_device_key
from tests.fixtures.db import Database


def _run(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, list[dict[str, object]]]:
    argv = ["--out", str(tmp_path / "broker"), "--json", *extra]
    code = main(argv, settings=broker_settings(db, tmp_path))
    out = capsys.readouterr().out
    return code, (json.loads(out) if code == 0 else [])


def _modes(rows: list[dict[str, object]]) -> dict[str, str]:
    return {Path(str(row["path"])).name: str(row["mode"]) for row in rows}


def test_mosquitto_files_are_written_private_and_a_second_run_changes_nothing(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enrol_boxes(db)
    code, first = _run(db, tmp_path, capsys, "--format", "mosquitto", "--ca")
    assert code == 0 and all(row["changed"] for row in first)
    assert _modes(first) == {
        "ca.key": "0o600",
        "ca.crt": "0o644",
        "server.key": "0o640",
        "server.crt": "0o644",
        "passwd": "0o640",
        "acl": "0o640",
        "mosquitto.conf": "0o640",
    }
    passwd = (tmp_path / "broker" / "passwd").read_text()
    assert [line.split(":")[0] for line in passwd.splitlines()] == [
        "ingest",
        "control",
        BOX_A,
        BOX_B,
    ]  # the revoked box is not there
    assert REVOKED not in (tmp_path / "broker" / "acl").read_text()
    code, second = _run(db, tmp_path, capsys, "--format", "mosquitto", "--ca")
    assert code == 0 and not any(row["changed"] for row in second)
    assert (tmp_path / "broker" / "passwd").read_text() == passwd


def test_a_newly_enrolled_box_is_added_on_the_next_run(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enrol_boxes(db)
    _run(db, tmp_path, capsys, "--format", "mosquitto")
    with db.session() as session:
        make_device(session, id="dh-cam-010")
        make_device_key(session, device_id="dh-cam-010")
        hashed = hash_password("another-box-password-xyz").mosquitto()
        session.add(
            DeviceBrokerCredential(
                device_id="dh-cam-010", username="dh-cam-010", password_hash=hashed
            )
        )
    code, rows = _run(db, tmp_path, capsys, "--format", "mosquitto")
    changed = {Path(str(r["path"])).name for r in rows if r["changed"]}
    assert code == 0 and changed == {"passwd", "acl"}
    assert "user dh-cam-010\n" in (tmp_path / "broker" / "acl").read_text()


def test_emqx_files_are_written_too(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enrol_boxes(db)
    code, rows = _run(db, tmp_path, capsys, "--format", "emqx", "--ca", "--hostname", "mqtt.vn")
    assert code == 0
    assert {"acl.conf", "users.csv", "users.json", "emqx.conf"} <= set(_modes(rows))
    assert _modes(rows)["users.csv"] == "0o600"
    conf = (tmp_path / "broker" / "emqx.conf").read_text()
    assert "no_match = deny" in conf and "listeners.ssl.default" in conf
    code, again = _run(db, tmp_path, capsys, "--format", "emqx", "--ca", "--hostname", "mqtt.vn")
    assert code == 0 and not any(row["changed"] for row in again)


def test_a_missing_or_short_service_password_is_refused_with_the_variable_to_set(
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TW_CONTROL_MQTT_PASSWORD")
    assert (
        main(
            ["--format", "mosquitto", "--out", str(tmp_path / "b")],
            settings=broker_settings(db, tmp_path),
        )
        == 1
    )
    assert "TW_CONTROL_MQTT_PASSWORD" in capsys.readouterr().err
    monkeypatch.setenv("TW_CONTROL_MQTT_PASSWORD", "short")
    assert (
        main(
            ["--format", "mosquitto", "--out", str(tmp_path / "b")],
            settings=broker_settings(db, tmp_path),
        )
        == 1
    )
    assert "at least 16 characters" in capsys.readouterr().err
    assert not (tmp_path / "b" / "passwd").exists()
