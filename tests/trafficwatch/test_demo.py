"""`trafficwatch demo` runs a box and the server together: its packets end up in the database."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from central_server import db
from central_server.models import Packet, Violation


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_stores_the_box_packets(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "trafficwatch.cli",
            "demo",
            "--data-dir",
            str(data_dir),
            "--count",
            "2",
            "--interval",
            "0.3",
            "--api-port",
            str(_free_port()),
            "--mqtt-port",
            str(_free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Đã dừng / stopped." in proc.stdout
    engine = db.make_engine(f"sqlite:///{data_dir / 'trafficwatch.db'}")
    try:
        with db.session_scope(engine, read_only=True) as session:
            assert session.exec(select(func.count()).select_from(Violation)).one() == 2
            assert session.exec(select(func.count()).select_from(Packet)).one() == 2
    finally:
        engine.dispose()
