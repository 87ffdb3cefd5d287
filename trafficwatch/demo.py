"""`trafficwatch demo`: the whole system on one machine, on real footage, with embedded defaults.

Starts, in order: the detection model (installed and verified), the built-in MQTT broker (amqtt),
the database (SQLite, migrated), the server's evidence ingest and API with one demo account per
staff role, then a real edge agent (`trafficwatch.demo_box`) watching the sample video as its
camera: its red-light violations become signed packets that travel over MQTT, are verified and
stored, and wait in the review queue. Stops in reverse order on Ctrl-C, the box first, so that
every violation it saw is in its outbox before anything else stops.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from sqlalchemy import func
from sqlmodel import select

from central_server import db
from central_server.devices.control import ControlService
from central_server.devices.service import enrol_device
from central_server.embedded_broker import EmbeddedBroker
from central_server.ingest.runner import IngestService
from central_server.models import Packet, Site, Unit, UnitKind, Violation
from central_server.server_keys import load_or_create_server_key
from central_server.settings import Settings
from edge_agent.agent.runtime import Agent
from protocol.keys import (
    Ed25519PrivateKey,
    generate_private_key,
    private_key_from_pem,
    private_key_to_pem,
)
from trafficwatch.demo_box import CAMERA_ID, SITE_ID, Line, sample_video, start_box

logger = logging.getLogger(__name__)
DEVICE_ID = "demo-box-01"
ROOT = Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trafficwatch demo", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="state folder")
    parser.add_argument("--api-port", type=int, default=8000, help="API port (default 8000)")
    parser.add_argument("--mqtt-port", type=int, default=1884, help="built-in broker port")
    parser.add_argument(
        "--video", type=Path, default=None, help="video file the box watches (default: sample)"
    )
    parser.add_argument(
        "--stop-line",
        default=None,
        metavar="X1,Y1,X2,Y2",
        help="stop line in video pixels; cars cross it going up the image",
    )
    parser.add_argument(
        "--models-from",
        type=Path,
        default=None,
        help="folder with the model files (default ../shared/models; else downloaded)",
    )
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between reports")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after N violations are stored (0: run on)"
    )
    return parser


def say(text: str) -> None:
    """A line of the demo's own report (the CLI's output; logs go to stderr)."""
    print(text, flush=True)  # noqa: T201


def _box_key(path: Path) -> Ed25519PrivateKey:
    """The demo box's Ed25519 key, made once (as `provision enroll` will on a real box)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(private_key_to_pem(generate_private_key()))
        path.chmod(0o600)
    return private_key_from_pem(path.read_bytes())


def _seed_master_data(settings: Settings, box_key: Ed25519PrivateKey) -> int:
    """The demo intersection in Đồng Hới, its units, the enrolled demo box; returns the box's
    next free sequence number (above every packet the server already holds from it)."""
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
                device_id=DEVICE_ID,
                public_key=box_key.public_key(),
                actor="system:demo",
                site_id=SITE_ID,
                camera_id=CAMERA_ID,
            )
            query = select(func.max(Packet.seq)).where(Packet.device_id == DEVICE_ID)
            highest = session.exec(query).one()
            return 0 if highest is None else int(highest) + 1
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


def _install_model(data_dir: Path, source: Path | None) -> Path:
    """The manifest's default detector, installed and verified into the demo's models folder."""
    from edge_agent.models_install import cli_install
    from edge_agent.models_store import load_manifest

    dest = data_dir / "models"
    name = load_manifest().default.name
    source = source or ROOT.parent / "shared" / "models"
    argv = ["--dest", str(dest), name]
    if source.is_dir():
        say(
            f"[1/6] Mô hình / model {name}: chép và kiểm sha256 / copied and verified from {source}"
        )
        say(f"      (trafficwatch models install --from {source} --dest {dest} {name})")
        argv = ["--from", str(source), *argv]
    else:
        say(
            f"[1/6] Mô hình / model {name}: không có bản sao ở {source}; tải từ địa chỉ trong "
            "models/manifest.yaml rồi kiểm sha256 / no local copy: downloading it from the URL "
            f"the manifest pins, then verifying it (trafficwatch models install --dest {dest})"
        )
    if cli_install(argv) != 0:
        raise SystemExit(
            "Không cài được mô hình / the model could not be installed: put the model files in "
            f"{source} (or pass --models-from DIR), or let this machine reach the manifest's URL."
        )
    return dest


def _stop_line(text: str | None) -> Line | None:
    """`X1,Y1,X2,Y2` as two points."""
    if text is None:
        return None
    try:
        x1, y1, x2, y2 = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise SystemExit(f"--stop-line: cần X1,Y1,X2,Y2 / expected X1,Y1,X2,Y2: {text}") from exc
    return ((x1, y1), (x2, y2))


def _logging() -> None:
    """Warnings from everything; the box's violations and packets as they happen."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("edge_agent.rules.engine", "edge_agent.evidence.builder"):
        logging.getLogger(name).setLevel(logging.INFO)


def main(argv: list[str]) -> int:
    """Run the demo until Ctrl-C (or until --count violations are stored)."""
    args = _parser().parse_args(argv)
    _logging()
    data_dir = args.data_dir.resolve()
    video = (args.video or sample_video()).resolve()
    if not video.is_file():
        say(f"Không có video / no video at {video}: pass one with --video FILE.")
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    models_dir = _install_model(data_dir, args.models_from)
    with ExitStack() as stack:
        broker = EmbeddedBroker(port=args.mqtt_port)
        broker.start()
        stack.callback(broker.stop)
        say(f"[2/6] MQTT broker (amqtt, built-in) on 127.0.0.1:{broker.port}")
        settings = Settings(
            environment="development",
            data_dir=data_dir,
            mqtt_port=broker.port,
            api_port=args.api_port,
        )
        db.upgrade(settings.database_url)
        say(f"[3/6] Database: {settings.database_url}")
        server_key = load_or_create_server_key(settings.server_key_path)
        box_key = _box_key(data_dir / "box" / "device.pem")
        next_seq = _seed_master_data(settings, box_key)
        ingest = IngestService(settings, client_id="tw-ingest-demo")
        ingest.start()
        stack.callback(ingest.stop)
        # The device control client: signed configs and commands to the box, its replies back.
        control = ControlService(settings, client_id="tw-control-demo")
        control.start()
        stack.callback(control.stop)
        say("[4/6] Evidence ingest subscribed (verifies, stores, acks each packet)")
        _start_api(settings, stack)
        base = f"http://{settings.api_host}:{settings.api_port}"
        say(f"[5/6] Giao diện web / web UI: {base}/  (staff API: {base}/docs)")
        for name, password in _demo_accounts(settings, data_dir):
            say(f"      đăng nhập / login: {name} / {password}")
        line = _stop_line(args.stop_line)
        box = start_box(
            device_id=DEVICE_ID,
            video=video,
            stop_line=line,
            models_dir=models_dir,
            box_dir=data_dir / "box",
            server_key=server_key.public_key(),
            mqtt_port=broker.port,
            next_seq=next_seq,
        )
        stack.callback(box.agent.stop)
        say(box.describe())
        queue = f"{base}/api/v1/review/queue"
        say(
            f"      hàng chờ duyệt / review queue: {base}/review (web, as demo-operator) or "
            f"GET {queue}"
        )
        say("      Ctrl-C dừng / stops")
        _report(args, box.agent, settings, stop)
        say("Đang dừng / stopping (box first: its evidence goes to its outbox) ...")
    say("Đã dừng / stopped.")
    return 0


def _report(
    args: argparse.Namespace, agent: Agent, settings: Settings, stop: threading.Event
) -> None:
    """Print what the box made and what the server stored, until stopped or --count is met."""
    before = _stored_count(settings)
    shown = (-1, -1)
    while not stop.is_set():
        stored = _stored_count(settings) - before
        made = agent.parts.evidence.figures().built if agent.parts.evidence else 0
        if (made, stored) != shown:
            waiting = agent.parts.outbox.stats().depth if agent.parts.outbox else 0
            say(
                f"  box: {made} packet(s) made, {waiting} waiting for an ack; "
                f"server: {stored} violation(s) stored in this run, waiting for review"
            )
            shown = (made, stored)
        if args.count and stored >= args.count:
            return
        if agent.wait(timeout=0.0) and not stop.is_set():
            say("  the box stopped by itself (see the log above)")
            return
        stop.wait(args.interval)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
