"""`trafficwatch server broker-acl`: the broker's users, ACL, config and (with --ca) TLS files.

Run it after every enrolment or revocation, then reload the broker (`systemctl reload mosquitto`
sends SIGHUP: Mosquitto re-reads the password and ACL files). Running it again with nothing
changed rewrites nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from central_server import db
from central_server.broker.acl import AclError, make_plan
from central_server.broker.emqx import EmqxExportError, write_emqx
from central_server.broker.files import SECRET, Written, write_text
from central_server.broker.mosquitto import Listener, read_password_file, write_mosquitto
from central_server.broker.passwords import PasswordHash
from central_server.broker.tls import TlsPaths, ensure_ca, ensure_server_cert, issue_client_cert
from central_server.broker.users import (
    BrokerUserError,
    default_logins,
    device_users,
    service_users,
)
from central_server.settings import Settings, get_settings
from protocol.topics import Topics

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server broker-acl",
        description="Sinh tệp người dùng, ACL và TLS cho broker MQTT / write the broker's users, "
        "ACL, config and TLS files (boxes: own topics only; ingest; control; no anonymous).",
    )
    parser.add_argument("--format", choices=("mosquitto", "emqx"), required=True)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--ca",
        action="store_true",
        help="create the deployment CA (kept if it exists) and the broker's certificate",
    )
    parser.add_argument(
        "--hostname",
        action="append",
        default=[],
        help="name or address boxes use to reach the broker (repeat; default TW_MQTT_HOST, "
        "this host's name, localhost, 127.0.0.1)",
    )
    parser.add_argument("--tls-listener", type=Listener.parse, default=Listener("0.0.0.0", 8883))
    parser.add_argument(
        "--plain-listener",
        default="127.0.0.1:1883",
        help="unencrypted listener for server processes on this host, or `none`",
    )
    parser.add_argument("--client-cert", action="append", default=[], help="issue a client cert")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _secret(value: SecretStr | str | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _control_login(settings: Settings) -> tuple[str | None, str | None]:
    return settings.control_mqtt_username, _secret(settings.control_mqtt_password)


def _previous_hashes(out: Path) -> dict[str, PasswordHash]:
    return read_password_file(out / "passwd") | read_password_file(out / ".service-hashes")


def _tls(args: argparse.Namespace, settings: Settings) -> tuple[TlsPaths | None, list[Written]]:
    paths = TlsPaths(args.out / "tls")
    written: list[Written] = []
    if args.ca:
        hosts = args.hostname or [settings.mqtt_host, socket.getfqdn(), "localhost", "127.0.0.1"]
        written += ensure_ca(paths)
        written += ensure_server_cert(paths, hosts)
        for name in args.client_cert:
            written += issue_client_cert(paths, name)
    return (paths if paths.complete() else None), written


def generate(args: argparse.Namespace, settings: Settings) -> list[Written]:
    """Build the plan from the registry and the settings, and write the chosen format."""
    logins = default_logins(
        (settings.mqtt_username, _secret(settings.mqtt_password)), _control_login(settings)
    )
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(engine, read_only=True) as session:
            devices = device_users(session)
    finally:
        engine.dispose()
    services = service_users(logins, _previous_hashes(args.out))
    plan = make_plan(
        services + devices, Topics(settings.topic_prefix), settings.ingest_shared_group
    )
    tls, written = _tls(args, settings)
    plain = None if args.plain_listener == "none" else Listener.parse(args.plain_listener)
    if args.format == "mosquitto":
        written += write_mosquitto(
            args.out, plan, tls=tls, tls_listener=args.tls_listener, plain=plain
        )
    else:
        written += write_emqx(args.out, plan, tls=tls, tls_listener=args.tls_listener)
        # EMQX keeps no file we could read the service hashes back from: keep them here.
        stored = "".join(f"{u.username}:{u.password_hash}\n" for u in services)
        written.append(write_text(args.out / ".service-hashes", stored, SECRET))
    logger.info("broker files for %d boxes in %s", len(devices), args.out)
    return written


def _report(written: list[Written], as_json: bool) -> None:
    if as_json:
        rows: list[dict[str, Any]] = [
            {"path": str(w.path), "mode": oct(w.mode), "changed": w.changed} for w in written
        ]
        print(json.dumps(rows, ensure_ascii=False))
        return
    for w in written:
        state = "đã ghi / written" if w.changed else "không đổi / unchanged"
        print(f"{oct(w.mode)[2:]:>4}  {state:<22} {w.path}")
    if any(w.changed for w in written):
        print("Hãy nạp lại broker / reload the broker (e.g. `systemctl reload mosquitto`).")


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """Write the broker files; exit 1 with the reason when they cannot be made."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        written = generate(args, settings or get_settings())
    except (BrokerUserError, AclError, EmqxExportError, ValueError) as exc:
        print(f"Lỗi / error: {exc}", file=sys.stderr)
        return 1
    _report(written, args.json)
    return 0
