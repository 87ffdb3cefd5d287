"""`trafficwatch demo`: the whole system on one machine with embedded defaults.

Starts, in order: the built-in MQTT broker (amqtt), the database (SQLite, migrated), the server's
evidence ingest and API, then a demo box (outbox on disk + MQTT publisher) that makes signed
packets. Stops in reverse order on Ctrl-C, the box first so that nothing is left half-sent.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from sqlalchemy import func
from sqlmodel import select

from central_server import db
from central_server.devices.service import enrol_device
from central_server.embedded_broker import EmbeddedBroker
from central_server.ingest.runner import IngestService
from central_server.models import Site, Unit, UnitKind, Violation
from central_server.server_keys import load_or_create_server_key
from central_server.settings import Settings
from edge_agent.mqtt_client import PublisherSettings
from edge_agent.outbox import Outbox
from edge_agent.publisher import Publisher
from protocol.keys import generate_private_key, private_key_from_pem, private_key_to_pem
from trafficwatch.demo_box import CAMERA_ID, SITE_ID, DemoBox

logger = logging.getLogger(__name__)
DEVICE_ID = "demo-box-01"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trafficwatch demo", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="state folder")
    parser.add_argument("--api-port", type=int, default=8000, help="API port (default 8000)")
    parser.add_argument("--mqtt-port", type=int, default=1884, help="built-in broker port")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between packets")
    parser.add_argument("--count", type=int, default=0, help="stop after N packets (0: run on)")
    return parser


def _box_key(path: Path) -> bytes:
    """The demo box's Ed25519 key, made once (as `provision enroll` will on a real box)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(private_key_to_pem(generate_private_key()))
        path.chmod(0o600)
    return path.read_bytes()


def _seed_master_data(settings: Settings, box: DemoBox) -> None:
    """The demo intersection in Đồng Hới, its units, and the enrolled demo box."""
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(engine) as session:
            if session.get(Site, SITE_ID) is None:
                police = Unit(
                    name="Phòng Cảnh sát giao thông, Công an tỉnh Quảng Trị",
                    kind=UnitKind.police,
                    address="Đồng Hới, Quảng Trị",
                )
                centre = Unit(
                    name="Trung tâm Giám sát điều hành đô thị thông minh", kind=UnitKind.detecting
                )
                session.add_all([police, centre])
                session.flush()
                session.add(
                    Site(
                        id=SITE_ID,
                        name="Ngã tư Lý Thường Kiệt – Trần Hưng Đạo",
                        ward="Đồng Hới",
                        province="Quảng Trị",
                        lat=17.4683,
                        lon=106.6229,
                        detecting_unit_id=centre.id,
                        handling_unit_id=police.id,
                    )
                )
                session.flush()
            enrol_device(
                session,
                device_id=box.device_id,
                public_key=box.key.public_key(),
                actor="system:demo",
                site_id=SITE_ID,
                camera_id=CAMERA_ID,
            )
    finally:
        engine.dispose()


def _demo_accounts(settings: Settings, data_dir: Path) -> list[tuple[str, str]]:
    """One account per staff role, made once; passwords are random and kept in the data dir."""
    from central_server.accounts import service
    from central_server.accounts.passwords import make_hasher
    from central_server.accounts.schemas import UserCreate
    from central_server.accounts.settings import get_auth_settings
    from central_server.roles import Actor, Role

    path = data_dir / "demo-logins.txt"
    if path.exists():
        pairs = [line.split(" ", 1) for line in path.read_text().splitlines()]
        return [(name, password) for name, password in pairs]
    people = [
        ("demo-admin", "Quản trị viên demo", Role.admin),
        ("demo-operator", "Cán bộ Văn phòng demo", Role.operator),
        ("demo-police", "Cán bộ CSGT demo", Role.police_officer),
        ("demo-lead", "Lãnh đạo CSGT demo", Role.police_lead),
    ]
    logins = [(name, secrets.token_urlsafe(12)) for name, _, _ in people]
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(engine) as session:
            hasher = make_hasher(get_auth_settings())
            for (name, full_name, role), (_, password) in zip(people, logins, strict=True):
                data = UserCreate(
                    username=name, full_name=full_name, password=password, roles=[role]
                )
                service.create_user(session, data, actor=Actor.system("demo"), hasher=hasher)
    finally:
        engine.dispose()
    path.write_text("\n".join(f"{name} {password}" for name, password in logins))
    path.chmod(0o600)
    return logins


def _stored_count(settings: Settings) -> int:
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(engine, read_only=True) as session:
            query = select(func.count()).select_from(Violation)
            return int(session.exec(query).one())
    finally:
        engine.dispose()


def _start_api(settings: Settings, stack: ExitStack) -> None:
    import uvicorn

    from central_server.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, name="demo-api", daemon=True)
    thread.start()

    def _stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    stack.callback(_stop)


def main(argv: list[str]) -> int:
    """Run the demo until Ctrl-C (or --count packets are stored)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    data_dir = args.data_dir.resolve()
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    with ExitStack() as stack:
        broker = EmbeddedBroker(port=args.mqtt_port)
        broker.start()
        stack.callback(broker.stop)
        print(f"[1/5] MQTT broker (amqtt, built-in) on 127.0.0.1:{broker.port}")
        settings = Settings(
            environment="development",
            data_dir=data_dir,
            mqtt_port=broker.port,
            api_port=args.api_port,
        )
        db.upgrade(settings.database_url)
        print(f"[2/5] Database: {settings.database_url}")
        server_key = load_or_create_server_key(settings.server_key_path)
        box = DemoBox(DEVICE_ID, private_key_from_pem(_box_key(data_dir / "box" / "device.pem")))
        _seed_master_data(settings, box)
        ingest = IngestService(settings, client_id="tw-ingest-demo")
        ingest.start()
        stack.callback(ingest.stop)
        print("[3/5] Evidence ingest subscribed")
        _start_api(settings, stack)
        base = f"http://{settings.api_host}:{settings.api_port}"
        print(f"[4/5] API: {base}/docs (staff API; health: {base}/healthz)")
        for name, password in _demo_accounts(settings, data_dir):
            print(f"      đăng nhập / login: {name} / {password}  (POST {base}/api/v1/auth/login)")
        outbox = Outbox(data_dir / "box" / "outbox.db", max_bytes=512 * 1024 * 1024, ack_timeout=10)
        stack.callback(outbox.close)
        publisher = Publisher(
            PublisherSettings(device_id=DEVICE_ID, host="127.0.0.1", port=broker.port),
            outbox,
            server_key.public_key(),
        )
        publisher.start()
        stack.callback(publisher.stop)
        print(f"[5/5] Demo box {DEVICE_ID} publishing; Ctrl-C dừng / stops")
        _run_box(args, box, outbox, settings, stop)
        print("Đang dừng / stopping ...")
    print("Đã dừng / stopped.")
    return 0


def _run_box(
    args: argparse.Namespace,
    box: DemoBox,
    outbox: Outbox,
    settings: Settings,
    stop: threading.Event,
) -> None:
    """Make a packet every interval and report what the server has stored."""
    seq_file = args.data_dir / "box" / "next_seq"
    seq = int(seq_file.read_text()) if seq_file.exists() else 0
    made = 0
    while not stop.is_set():
        if args.count == 0 or made < args.count:
            # Reserve the number before using it: a crash may skip one, never reuse it (a reused
            # sequence with other bytes is a replay to the server).
            seq_file.write_text(str(seq + 1))
            header, data = box.make_packet(seq)
            outbox.put(header.packet_id, seq, data)
            made, seq = made + 1, seq + 1
            print(f"  box: packet {made} ({len(data) // 1024} KiB, seq {header.seq}) → outbox")
        stored = _stored_count(settings)
        waiting = outbox.stats().depth
        print(f"  server: {stored} violation(s) stored; box outbox: {waiting} waiting for an ack")
        if args.count and made >= args.count and waiting == 0:
            return
        stop.wait(args.interval)
