"""`trafficwatch server apikey create|list|revoke`: keys for the city's app (shown once)."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import Engine

from central_server import db
from central_server.public.apikeys import create_key, list_keys, revoke_key
from central_server.public.settings import get_public_settings
from central_server.settings import get_settings


def _parser(default_rate: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch server apikey create",
        description="Tạo khóa API cho ứng dụng tra cứu / create an API key for a search app.",
    )
    parser.add_argument("--name", required=True, help="tên ứng dụng / the app's name")
    parser.add_argument(
        "--rate-per-minute",
        type=int,
        default=default_rate,
        help=f"số lượt tra cứu mỗi phút / searches per minute (mặc định / default {default_rate})",
    )
    return parser


def _engine_if_current() -> Engine | None:
    engine = db.make_engine(get_settings().database_url)
    if db.check_schema_current(engine):
        return engine
    engine.dispose()
    print(
        "Lược đồ CSDL chưa cập nhật / schema not current: run `trafficwatch server migrate`.",
        file=sys.stderr,
    )
    return None


def list_command(argv: list[str]) -> int:
    """List the keys: prefix, app, limit, created, revoked."""
    argparse.ArgumentParser(
        prog="trafficwatch server apikey list", description="Liệt kê khóa API / list API keys."
    ).parse_args(argv)
    engine = _engine_if_current()
    if engine is None:
        return 1
    try:
        with db.session_scope(engine) as session:
            rows = [
                (k.shown_prefix, k.name, k.rate_per_minute, k.created_at, k.revoked_at)
                for k in list_keys(session)
            ]
    finally:
        engine.dispose()
    for prefix, name, rate, created, revoked in rows:
        state = f"thu hồi / revoked {revoked:%Y-%m-%d}" if revoked else "hiệu lực / live"
        print(f"{prefix}…  {name}  {rate}/phút  {created:%Y-%m-%d}  {state}")
    return 0


def revoke_command(argv: list[str]) -> int:
    """Revoke a key by the prefix `list` shows; audited."""
    parser = argparse.ArgumentParser(
        prog="trafficwatch server apikey revoke",
        description="Thu hồi khóa API / revoke an API key (within the key cache's TTL).",
    )
    parser.add_argument("prefix", help="phần đầu khóa như `list` hiện / the prefix `list` shows")
    args = parser.parse_args(argv)
    engine = _engine_if_current()
    if engine is None:
        return 1
    try:
        with db.session_scope(engine) as session:
            done = revoke_key(session, args.prefix.rstrip("…"))
    finally:
        engine.dispose()
    if not done:
        print(f"Không có khóa đang hiệu lực / no live key: {args.prefix}", file=sys.stderr)
        return 1
    print(f"Đã thu hồi / revoked: {args.prefix}")
    return 0


def create(argv: list[str]) -> int:
    """Create an API key and print it (it is stored hashed and cannot be shown again)."""
    args = _parser(get_public_settings().default_key_rate_per_minute).parse_args(argv)
    if args.rate_per_minute < 1 or not args.name.strip():
        print("Tên và số lượt phải hợp lệ / invalid name or rate", file=sys.stderr)
        return 1
    engine = _engine_if_current()
    if engine is None:
        return 1
    try:
        with db.session_scope(engine) as session:
            row, key = create_key(session, args.name.strip(), args.rate_per_minute)
    finally:
        engine.dispose()
    print(f"Đã tạo khóa / key created: {row.shown_prefix}… ({row.name})")
    print(f"Giới hạn / limit: {row.rate_per_minute} lượt/phút (per minute)")
    print("Lưu khóa này, sẽ không hiện lại / keep this key, it is not shown again:")
    print(key)
    return 0
