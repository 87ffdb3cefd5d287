"""`trafficwatch server token create` and `trafficwatch server device revoke`."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from central_server import db
from central_server.devices.service import DeviceError, revoke_with_cutoff
from central_server.devices.tokens import create_token
from central_server.errors import AppError
from central_server.settings import get_settings

EXIT_USAGE = 2
EXIT_NOT_FOUND = 66  # EX_NOINPUT: no such site or key
EXIT_SCHEMA = 78  # EX_CONFIG: the database is not migrated
_TTL = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_ttl(text: str) -> timedelta:
    """`30m`, `24h`, `7d` as a timedelta."""
    match = _TTL.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"thời hạn / ttl {text!r}: dùng / use 30m, 24h, 7d")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def parse_time(text: str) -> datetime:
    """An ISO time; without a zone it is read as Vietnam time (UTC+7), as staff write it."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"thời điểm / time {text!r}: {exc}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone(timedelta(hours=7)))
    return value.astimezone(timezone.utc)


def _actor(given: str | None) -> str:
    return given or f"cli:{getpass.getuser()}"


def _open_engine() -> Engine | None:
    engine = db.make_engine(get_settings().database_url)
    if db.check_schema_current(engine):
        return engine
    engine.dispose()
    print(
        "Lược đồ CSDL chưa cập nhật / schema not current: run `trafficwatch server migrate`.",
        file=sys.stderr,
    )
    return None


def _token_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server token create",
        description="Tạo mã đăng ký thiết bị dùng một lần / make a one-time enrolment token. "
        "The token is printed once; only its hash is kept.",
    )
    parser.add_argument("--site", required=True, help="mã điểm giao cắt / site id")
    parser.add_argument(
        "--ttl", type=parse_ttl, default=timedelta(hours=24), help="hạn dùng / lifetime (24h)"
    )
    parser.add_argument("--device-id", help="gán mã thiết bị / fix the device id (re-enrol)")
    parser.add_argument("--camera-id", help="mã camera / camera id (approach)")
    parser.add_argument("--actor", help="ai tạo / who (audit; default cli:<user>)")
    parser.add_argument("--json", action="store_true", help="in JSON / print JSON")
    return parser


def token_create(argv: list[str]) -> int:
    """Make an enrolment token and print it once."""
    args = _token_parser().parse_args(argv)
    engine = _open_engine()
    if engine is None:
        return EXIT_SCHEMA
    try:
        with db.session_scope(engine) as session:
            made = create_token(
                session,
                site_id=args.site,
                ttl=args.ttl,
                actor=_actor(args.actor),
                now=datetime.now(timezone.utc),
                device_id=args.device_id,
                camera_id=args.camera_id,
            )
            row = made.row
    except AppError as exc:
        print(f"{exc.message_vi} / {exc.message_en}", file=sys.stderr)
        return EXIT_NOT_FOUND if exc.status_code == 404 else EXIT_USAGE
    finally:
        engine.dispose()
    out = {
        "id": row.id,
        "token": made.secret,
        "site_id": row.site_id,
        "device_id": row.device_id,
        "camera_id": row.camera_id,
        "expires_at": row.expires_at.isoformat(),
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    local = row.expires_at.astimezone(timezone(timedelta(hours=7)))
    print(f"Mã đăng ký / enrolment token (điểm / site {row.site_id}):")
    print(f"  {made.secret}")
    print(f"Hết hạn / expires: {local:%d/%m/%Y %H:%M} (giờ Việt Nam / Vietnam time)")
    print("Dùng một lần, không hiện lại / single use, not shown again. On the box:")
    print(f"  trafficwatch provision enroll --server https://<server> --token {made.secret}")
    return 0


def _revoke_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server device revoke",
        description="Thu hồi khóa thiết bị / revoke a device key. The cut-off is yours: "
        "--from-seq N keeps what the key signed below N (the backlog) and refuses N on; "
        "--at TIME (default now) refuses every packet it signed that arrives from then on.",
    )
    parser.add_argument("--key-id", required=True, help="mã khóa / key id (16 hex)")
    cutoff = parser.add_mutually_exclusive_group()
    cutoff.add_argument("--from-seq", type=int, help="số thứ tự đầu tiên bị từ chối / first seq")
    cutoff.add_argument("--at", type=parse_time, help="thời điểm / time (ISO; no zone = UTC+7)")
    parser.add_argument("--reason", required=True, help="lý do / reason (audited)")
    parser.add_argument("--actor", help="ai thu hồi / who (audit; default cli:<user>)")
    parser.add_argument("--json", action="store_true", help="in JSON / print JSON")
    return parser


def device_revoke(argv: list[str]) -> int:
    """Revoke a device key from a cut-off; audited."""
    args = _revoke_parser().parse_args(argv)
    if args.from_seq is not None and args.from_seq < 0:
        print("--from-seq phải ≥ 0 / must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    engine = _open_engine()
    if engine is None:
        return EXIT_SCHEMA
    try:
        with db.session_scope(engine) as session:
            key, after = revoke_with_cutoff(
                session,
                key_id_=args.key_id,
                reason=args.reason,
                actor=_actor(args.actor),
                from_seq=args.from_seq,
                at=args.at,
            )
    except DeviceError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_NOT_FOUND
    finally:
        engine.dispose()
    out = {
        "key_id": key.key_id,
        "device_id": key.device_id,
        "valid_from_seq": key.valid_from_seq,
        "valid_to_seq": key.valid_to_seq,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "reason": key.revoked_reason,
        "packets_after_cutoff": after,
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    if key.revoked_at is not None:
        local = key.revoked_at.astimezone(timezone(timedelta(hours=7)))
        print(f"Đã thu hồi khóa / key revoked: {key.key_id} (thiết bị / device {key.device_id})")
        print(f"  từ / from {local:%d/%m/%Y %H:%M} (giờ Việt Nam / Vietnam time)")
    else:
        print(f"Đã thu hồi khóa / key revoked: {key.key_id} (thiết bị / device {key.device_id})")
        print(f"  hợp lệ / valid for seq {key.valid_from_seq}..{key.valid_to_seq}")
    if after:
        print(
            f"  {after} gói đã lưu ký sau mốc này: xem lại / stored packets signed after the "
            "cut-off: review them"
        )
    return 0
